"""Reliability tests: slow ones run only with VMR_SLOW=1."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get('VMR_SLOW') == '1':
        return
    skip = pytest.mark.skip(reason='slow: set VMR_SLOW=1 (tox -e chaos)')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip)
