"""Fixtures shared by the functional tests and the real tier.

``etcd_server`` is one real etcd for the whole session; tests isolate by
cluster name.  Helpers (not fixtures) shared by several suites are in
:mod:`tests.support`.
"""

import pytest


@pytest.fixture(scope='session')
def etcd_server():
    """One etcd for the whole session; tests isolate by cluster name."""
    from tests.etcd_fixture import EtcdServer
    server = EtcdServer(name='vmr-session')
    try:
        server.start()
    except RuntimeError as exc:
        server.cleanup()
        pytest.fail(str(exc))
    yield server
    server.cleanup()
