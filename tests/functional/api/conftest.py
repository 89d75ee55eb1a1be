"""Fixtures of the API tests: the real API (cheroot) over a real etcd.

Each test gets its own VMR cluster name in the session's etcd, so tests
never see each other's keys, and its own API server on a free port
(:func:`tests.support.api_harness.start_harness`).
"""

import pytest

from tests.support.api_harness import start_harness


@pytest.fixture
def api(etcd_server):
    """The API in noauth mode on a fresh cluster."""
    harness = start_harness(etcd_server)
    yield harness
    harness.close()
