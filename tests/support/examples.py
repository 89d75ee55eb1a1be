"""The shipped example contracts (``etc/vmr/contracts/*.yaml``): their
names and their text, for the lab's and the real tier's example tests."""

import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EXAMPLE_DIR = os.path.join(ROOT, 'etc', 'vmr', 'contracts')
EXAMPLES = sorted(os.path.basename(p) for p in glob.glob(
    os.path.join(EXAMPLE_DIR, '*.yaml')))


def load(name):
    """(text, parsed document) of one shipped example."""
    with open(os.path.join(EXAMPLE_DIR, name), encoding='utf-8') as fh:
        text = fh.read()
    return text, yaml.safe_load(text)
