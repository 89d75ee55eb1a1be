"""Lease keep-alives over etcd's gRPC API (the agent's heartbeat), on a
real etcd: renewal, a lease that is gone, endpoint fail-over, and ``auto``
falling back to the HTTP gateway behind a proxy that speaks HTTP/1.1 only.
"""

import contextlib
import signal
import socket
import time

import pytest

from tests.etcd_fixture import free_port
from vmr_common import exceptions
from vmr_common import grpclease
from vmr_common.store import Store
from vmr_lab.netproxy import TcpProxy


def _store(etcd_server, *extra):
    return Store(list(extra) + [etcd_server.endpoint], cluster='grpc',
                 timeout=2)


def test_renewal_answers_the_lease_ttl(etcd_server):
    store = _store(etcd_server)
    leases = grpclease.GrpcLeases(store)
    lease = store.grant(30)
    try:
        for _ in range(3):
            assert 25 <= leases.keepalive(lease) <= 30
        assert store.time_to_live(lease) > 25
    finally:
        store.revoke(lease)
        leases.close()


def test_a_gone_lease_answers_ttl_zero(etcd_server):
    store = _store(etcd_server)
    leases = grpclease.GrpcLeases(store)
    lease = store.grant(30)
    store.revoke(lease)
    try:
        assert leases.keepalive(lease) <= 0
    finally:
        leases.close()


def test_fails_over_past_a_dead_endpoint(etcd_server):
    dead = 'http://127.0.0.1:%d' % free_port()
    store = _store(etcd_server, dead)
    store.grant(2)   # the store itself moves past the dead endpoint
    assert store.endpoint == etcd_server.endpoint
    store._current = 0   # start from the dead one again
    leases = grpclease.GrpcLeases(store)
    lease = store.grant(30)
    try:
        store._current = 0
        assert leases.keepalive(lease) > 0
    finally:
        store.revoke(lease)
        leases.close()


def test_no_endpoint_is_one_clear_error():
    dead = 'http://127.0.0.1:%d' % free_port()
    store = Store([dead], cluster='grpc', timeout=1)
    leases = grpclease.GrpcLeases(store)
    with pytest.raises(exceptions.StoreUnavailable) as info:
        leases.keepalive(12345)
    text = str(info.value)
    assert dead in text and 'UNAVAILABLE' in text and '\n' not in text
    leases.close()


class Http1OnlyProxy(TcpProxy):
    """The lab's TCP proxy, but closing any connection that opens with the
    HTTP/2 preface: an HTTP/1.1 proxy in front of etcd, as some sites run."""

    PREFACE = b'PRI * HTTP/2.0'

    def __init__(self, target_port):
        super().__init__(0, '127.0.0.1', target_port)
        self.refused = 0

    def _open(self, client):
        client.settimeout(5)
        try:
            first = client.recv(len(self.PREFACE),
                                socket.MSG_PEEK | socket.MSG_WAITALL)
        except OSError:
            first = b''
        client.settimeout(None)
        if first.startswith(self.PREFACE):
            self.refused += 1
            client.close()
            return
        super()._open(client)


def test_auto_falls_back_to_the_gateway_and_loses_no_beat(etcd_server,
                                                          caplog):
    port = int(etcd_server.endpoint.rsplit(':', 1)[1])
    proxy = Http1OnlyProxy(port).start()
    store = Store(['http://127.0.0.1:%d' % proxy.port], cluster='grpc',
                  timeout=2)
    heart = grpclease.Heart(store, 'auto')
    lease = store.grant(30)
    try:
        assert heart.using == 'grpc'
        for _ in range(3):
            assert heart.keepalive(lease) > 0      # every beat renews
        assert heart.using == 'gateway' and proxy.refused >= 1
        assert heart.last == 'gateway'
        assert 'gateway answered' in caplog.text
        # ``grpc`` alone has no such way out: the beat fails, clearly.
        strict = grpclease.Heart(store, 'grpc')
        with pytest.raises(exceptions.StoreUnavailable) as info:
            strict.keepalive(lease)
        assert 'over gRPC failed' in str(info.value)
        strict.close()
    finally:
        store.revoke(lease)
        heart.close()
        proxy.stop()


def test_auto_tries_grpc_again_later(etcd_server):
    now = [0.0]
    store = _store(etcd_server)
    heart = grpclease.Heart(store, 'auto', clock=lambda: now[0])
    heart._gateway_until = 10.0      # as after a failed gRPC renewal
    lease = store.grant(30)
    try:
        assert heart.using == 'gateway' and heart.keepalive(lease) > 0
        now[0] = 11.0
        assert heart.using == 'grpc' and heart.keepalive(lease) > 0
        assert heart._gateway_until is None and heart.last == 'grpc'
    finally:
        store.revoke(lease)
        heart.close()


def test_grpc_renewal_survives_an_etcd_restart(etcd):
    """A channel whose connection broke is replaced: the first beat after
    etcd is back renews (no reconnect back-off in the way)."""
    store = Store([etcd.endpoint], cluster='grpc', timeout=2)
    heart = grpclease.Heart(store, 'grpc')
    lease = store.grant(30)
    try:
        assert heart.keepalive(lease) > 0
        etcd.stop()
        with pytest.raises(exceptions.StoreUnavailable):
            heart.keepalive(lease)
        etcd.start()
        assert heart.keepalive(lease) > 0
    finally:
        heart.close()


class _Failure:
    value = None
    seconds = None


@contextlib.contextmanager
def _hung(etcd):
    """Stop etcd (SIGSTOP) around the block, which must raise
    StoreUnavailable; the error and how long it took are in the result."""
    out = _Failure()
    etcd.proc.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    try:
        with pytest.raises(exceptions.StoreUnavailable) as info:
            yield out
    finally:
        out.seconds = time.monotonic() - started
        etcd.proc.send_signal(signal.SIGCONT)
    out.value = info.value


def test_renewals_share_one_stream_and_a_hung_etcd_costs_one_timeout(etcd):
    """Renewals go over one kept stream; when etcd hangs (SIGSTOP) a
    renewal gives up after the timeout, and the first one after etcd
    resumes renews on a new stream (no answer is taken for another's)."""
    store = Store([etcd.endpoint], cluster='grpc', timeout=1)
    leases = grpclease.GrpcLeases(store)
    lease = store.grant(30)
    try:
        assert leases.keepalive(lease) > 0
        stream = leases._streams[etcd.endpoint]
        for _ in range(3):
            assert leases.keepalive(lease) > 0
        assert leases._streams[etcd.endpoint] is stream
        with _hung(etcd) as info:
            leases.keepalive(lease)
        assert info.seconds < 3
        assert 'no answer within 1.0 s' in str(info.value)
        assert stream.closed
        assert leases.keepalive(lease) > 0
        assert leases._streams[etcd.endpoint] is not stream
    finally:
        leases.close()


def test_auto_does_not_wait_twice_for_a_hung_etcd(etcd):
    """A gRPC renewal that timed out is not tried on the gateway: a beat
    against a hung etcd costs one timeout, as over the gateway alone."""
    store = Store([etcd.endpoint], cluster='grpc', timeout=1)
    heart = grpclease.Heart(store, 'auto')
    lease = store.grant(30)
    try:
        assert heart.keepalive(lease) > 0
        with _hung(etcd) as info:
            heart.keepalive(lease)
        assert info.seconds < 1.7
        assert 'over gRPC' in str(info.value)
        assert heart.keepalive(lease) > 0 and heart.using == 'grpc'
    finally:
        heart.close()
