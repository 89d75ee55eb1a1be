"""start_api: disabled, keystone misconfigured, port in use."""

import socket

import pytest

from tests.support.api_harness import make_conf
from vmr_common import exceptions
from vmr_common.store import Store
from vmr_coordinator.api import server as server_mod


def conf_and_store(etcd_server, **api):
    conf = make_conf(etcd_server.endpoint, 'tserver', **api)
    return conf, Store([etcd_server.endpoint], cluster='tserver')


def test_disabled_api_starts_nothing(etcd_server):
    conf, store = conf_and_store(etcd_server, enabled=False)
    assert server_mod.start_api(conf, store) is None


def test_keystone_without_authtoken_config_is_refused(etcd_server):
    conf, store = conf_and_store(etcd_server, auth_strategy='keystone')
    with pytest.raises(exceptions.ConfigError, match='auth_type'):
        server_mod.start_api(conf, store)


def test_started_server_answers_and_stops(etcd_server):
    conf, store = conf_and_store(etcd_server)
    server = server_mod.start_api(conf, store)
    try:
        assert server.port > 0
        with socket.create_connection(('127.0.0.1', server.port), 2) as s:
            s.sendall(b'GET /healthz HTTP/1.0\r\n\r\n')
            assert b'200 OK' in s.recv(1024)
    finally:
        server.stop()
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', server.port), 1)


def test_port_in_use_raises_oserror(etcd_server):
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        conf, store = conf_and_store(etcd_server,
                                     bind_port=busy.getsockname()[1])
        with pytest.raises(OSError):
            server_mod.start_api(conf, store)
