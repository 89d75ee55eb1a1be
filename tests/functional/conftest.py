"""Fixtures shared by the functional tests: a real etcd, always stopped."""

import pytest

from tests.etcd_fixture import EtcdServer


@pytest.fixture(scope='session')
def etcd_server():
    """One etcd for the whole session; tests isolate by cluster name."""
    server = EtcdServer(name='vmr-session')
    try:
        server.start()
    except RuntimeError as exc:
        server.cleanup()
        pytest.fail(str(exc))
    yield server
    server.cleanup()


@pytest.fixture
def etcd(request):
    """A private etcd for a test that restarts or kills it."""
    server = EtcdServer(name='vmr-private')
    server.start()
    yield server
    server.cleanup()
