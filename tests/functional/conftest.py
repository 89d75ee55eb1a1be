"""Fixtures shared by the functional tests: a Store on a cluster of its
own in the session's etcd (``etcd_server``, in ``tests/conftest.py``), and
a private etcd, always stopped."""

import uuid

import pytest

from tests.etcd_fixture import EtcdServer
from vmr_common.store import Store


@pytest.fixture
def store(etcd_server):
    """A Store of a fresh cluster on the session's etcd; its keys are
    deleted after the test."""
    store = Store([etcd_server.endpoint],
                  cluster='t%s' % uuid.uuid4().hex[:8])
    yield store
    store.delete(store.keys.root, prefix=True)


@pytest.fixture
def etcd(request):
    """A private etcd for a test that restarts or kills it."""
    server = EtcdServer(name='vmr-private')
    server.start()
    yield server
    server.cleanup()
