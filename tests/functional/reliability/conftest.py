"""Reliability tests: slow ones run only with VMR_SLOW=1."""

import os

from tests.slow import skip_slow_unless_asked


def pytest_collection_modifyitems(config, items):
    skip_slow_unless_asked(items, os.path.dirname(os.path.abspath(__file__)))
