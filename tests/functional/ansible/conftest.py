"""Ansible tests: the slow ones (a whole extra round of virtualenv installs:
the upgrade, TLS) run only with VMR_SLOW=1 (``tox -e ansible``)."""

import os

from tests.slow import skip_slow_unless_asked


def pytest_collection_modifyitems(config, items):
    skip_slow_unless_asked(items, os.path.dirname(os.path.abspath(__file__)))
