"""Chaos tests: slow ones run only with VMR_SLOW=1 (tox -e chaos)."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get('VMR_SLOW') == '1':
        return
    skip = pytest.mark.skip(reason='slow: set VMR_SLOW=1 (tox -e chaos)')
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        # This hook sees every collected test, not only ours: gate ours.
        if 'slow' in item.keywords and str(item.path).startswith(here):
            item.add_marker(skip)
