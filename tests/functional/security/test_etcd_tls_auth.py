"""etcd over TLS with client certificates, and etcd authentication.

A throw-away CA signs etcd's server certificate and the clients'
certificates; etcd listens on https://127.0.0.1 only, with
``--client-cert-auth``.  With auth enabled a user ``vmr`` holds one role:
readwrite on ``/vmr/<cluster>/`` (the agents' group lives there too),
nothing else.  What doc/security.rst promises is proved here:

* the Store works over mutual TLS, with and without etcd auth;
* a real vmr-agent and vmr-coordinator join and elect over mutual TLS with
  etcd auth;
* a wrong password is one clear line (in the exception and in the log of a
  service), never a traceback, never the password;
* the role cannot read or write outside its prefixes;
* a client certificate with a CommonName is refused by etcd's HTTP gateway
  once auth is on, with a message that names the fix.
"""

import os
import shutil
import tempfile
import time

import pytest

from tests.functional.security.tlsetcd import Pki, TlsEtcd
from tests.procs import Cluster, wait_for
from vmr_common import exceptions
from vmr_common import grpclease
from vmr_common.store import Compare, LeaderGuard, Op, Store

CLUSTER = 'sec'
ROOT_PASSWORD = 'root-' + os.urandom(6).hex()
VMR_PASSWORD = 'vmr-' + os.urandom(6).hex()


@pytest.fixture(scope='module')
def pki():
    directory = tempfile.mkdtemp(prefix='vmr-pki-')
    try:
        pki = Pki(directory)
        # Without a CN: the only kind etcd's gateway accepts with auth on.
        pki.client_cert, pki.client_key = pki.issue('vmr-client', None)
        pki.cn_cert, pki.cn_key = pki.issue('vmr-cn', 'vmr')
        yield pki
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope='module')
def mtls_etcd(pki):
    """mutual TLS, no etcd auth."""
    server = TlsEtcd(pki, name='vmr-mtls')
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope='module')
def auth_etcd(pki):
    """mutual TLS and etcd auth with the limited user ``vmr``."""
    server = TlsEtcd(pki, name='vmr-auth')
    try:
        server.start()
        server.enable_auth(ROOT_PASSWORD, [
            ('vmr', VMR_PASSWORD, ['/vmr/%s/' % CLUSTER])])
        yield server
    finally:
        server.cleanup()


def tls_store(server, pki, cluster=CLUSTER, **kwargs):
    args = dict(ca_file=pki.ca_file, cert_file=pki.client_cert,
                key_file=pki.client_key)
    args.update(kwargs)
    return Store([server.endpoint], cluster=cluster, **args)


def exercise(store):
    """Every kind of request VMR makes: put/get/prefix, txn, guarded txn,
    lease, watch."""
    keys = store.keys
    store.put(keys.contract('c1'), {'name': 'c1'})
    assert store.get(keys.contract('c1')).json() == {'name': 'c1'}
    kvs, revision = store.get_prefix(keys.contracts)
    assert [kv.key for kv in kvs] == [keys.contract('c1')] and revision
    lease = store.grant(5)
    assert store.create(keys.leader, 'me', lease=lease)
    token = store.get(keys.leader).create_revision
    store.guarded(LeaderGuard(keys.leader, 'me', token),
                  [Op.put(keys.host('h1'), {'state': 'up'})])
    with pytest.raises(exceptions.LeadershipLost):
        store.guarded(LeaderGuard(keys.leader, 'me', token + 1000),
                      [Op.put(keys.host('h1'), {'state': 'failed'})])
    assert store.txn([Compare.absent(keys.host('h2'))],
                     [Op.put(keys.host('h2'), '{}')]).succeeded
    assert not store.wait_for_change(keys.root, store.revision(), 0.5)
    store.revoke(lease)
    assert store.get(keys.leader) is None
    store.delete(keys.root, prefix=True)


def test_store_over_mutual_tls(mtls_etcd, pki):
    exercise(tls_store(mtls_etcd, pki))


def test_mutual_tls_refuses_clients_without_a_certificate(mtls_etcd, pki):
    store = tls_store(mtls_etcd, pki, cert_file=None, key_file=None)
    with pytest.raises(exceptions.StoreUnavailable) as info:
        store.get('/vmr/sec/x')
    assert 'bad certificate' in str(info.value)


def test_tls_verifies_the_server_against_the_configured_ca(mtls_etcd, pki):
    """An unrelated CA must fail verification, whatever REQUESTS_CA_BUNDLE
    says (requests lets the environment override a session's CA: VMR
    switches that off)."""
    other = Pki(os.path.join(pki.dir, 'other'))
    store = tls_store(mtls_etcd, pki, ca_file=other.ca_file)
    with pytest.raises(exceptions.StoreUnavailable) as info:
        store.get('/vmr/sec/x')
    assert 'CERTIFICATE_VERIFY_FAILED' in str(info.value)


def test_configured_ca_wins_over_requests_ca_bundle(mtls_etcd, pki,
                                                    monkeypatch):
    """Regression: with REQUESTS_CA_BUNDLE pointing at the system bundle
    (as on this machine and many distribution hosts), requests ignored the
    session's ``verify`` and every TLS call to etcd failed."""
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    monkeypatch.setenv('CURL_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    store = tls_store(mtls_etcd, pki)
    store.put('/vmr/sec/ca-check', 'ok')
    assert store.get('/vmr/sec/ca-check').value == 'ok'
    store.delete('/vmr/sec/ca-check')


def test_store_over_tls_with_etcd_auth(auth_etcd, pki):
    exercise(tls_store(auth_etcd, pki, username='vmr', password=VMR_PASSWORD))


def test_grpc_heartbeat_over_mutual_tls_with_etcd_auth(auth_etcd, pki):
    """The agent's gRPC lease keep-alive uses the same CA, client
    certificate and etcd user as the gateway."""
    store = tls_store(auth_etcd, pki, username='vmr', password=VMR_PASSWORD)
    heart = grpclease.Heart(store, 'grpc')
    lease = store.grant(30)
    try:
        assert heart.keepalive(lease) > 0
        # A stream opened with a token etcd no longer knows (etcd keeps
        # tokens in memory: a restart forgets them) still renews: etcd 3.4
        # and 3.5 check no token on keep-alives (one that did would answer
        # UNAUTHENTICATED, and the stream logs in again).
        heart.grpc.forget(auth_etcd.endpoint)
        heart.grpc._tokens[auth_etcd.endpoint] = 'forgotten.token.1'
        assert heart.keepalive(lease) > 0

        # Without the client certificate etcd refuses the TLS handshake.
        bare = grpclease.Heart(tls_store(auth_etcd, pki, cert_file=None,
                                         key_file=None), 'grpc')
        with pytest.raises(exceptions.StoreUnavailable) as info:
            bare.keepalive(lease)
        assert auth_etcd.endpoint in str(info.value)
        assert VMR_PASSWORD not in str(info.value)
        bare.close()
    finally:
        store.revoke(lease)
        heart.close()


def test_auth_fails_over_past_a_dead_endpoint(auth_etcd, pki):
    """Regression: logging in at a dead endpoint raised "etcd refused
    authentication" instead of trying the next endpoint."""
    from tests.etcd_fixture import free_port
    dead = 'https://127.0.0.1:%d' % free_port()
    store = Store([dead, auth_etcd.endpoint], cluster=CLUSTER,
                  ca_file=pki.ca_file, cert_file=pki.client_cert,
                  key_file=pki.client_key, username='vmr',
                  password=VMR_PASSWORD)
    store.put(store.keys.contract('fo'), {'name': 'fo'})
    assert store.endpoint == auth_etcd.endpoint
    store.delete(store.keys.contract('fo'))


def test_role_cannot_reach_outside_its_prefixes(auth_etcd, pki):
    store = tls_store(auth_etcd, pki, username='vmr', password=VMR_PASSWORD)
    auth_etcd.etcdctl('put', '/vmr/other/secret', 'x',
                      user='root:%s' % ROOT_PASSWORD)
    auth_etcd.etcdctl('put', '/elsewhere', 'x', user='root:%s' % ROOT_PASSWORD)
    for attempt in (lambda: store.get('/vmr/other/secret'),
                    lambda: store.get('/elsewhere'),
                    lambda: store.get_prefix('/vmr/'),
                    lambda: store.get_prefix('/'),
                    lambda: store.put('/vmr/other/secret', 'mine'),
                    lambda: store.delete('/vmr/', prefix=True)):
        with pytest.raises(exceptions.StoreError) as info:
            attempt()
        assert 'permission denied' in str(info.value)
    out = auth_etcd.etcdctl('get', '/vmr/other/secret', '--print-value-only',
                            user='root:%s' % ROOT_PASSWORD).stdout
    assert out.strip() == 'x'
    # the one-prefix role cannot read the old group key: the coordinator
    # does not add it to its snapshots (which would then all fail)
    from vmr_coordinator import snapshot as snapshot_mod
    assert snapshot_mod.probe_legacy_membership(store, 'vmr-agents') is False
    assert store.legacy_membership is False
    snapshot_mod.take(store, 'vmr-agents')


def test_wrong_password_is_one_clear_line(auth_etcd, pki):
    store = tls_store(auth_etcd, pki, username='vmr', password='not-it')
    with pytest.raises(exceptions.StoreError) as info:
        store.get(store.keys.leader)
    text = str(info.value)
    assert '\n' not in text
    assert "user 'vmr'" in text and 'authentication failed' in text
    assert 'check [etcd] username and password' in text
    assert 'not-it' not in text
    # chained exceptions would put etcd's raw answer into tracebacks
    assert info.value.__cause__ is None


def test_certificate_with_a_common_name_is_refused_with_the_fix(auth_etcd,
                                                                 pki):
    store = tls_store(auth_etcd, pki, cert_file=pki.cn_cert,
                      key_file=pki.cn_key)
    with pytest.raises(exceptions.StoreError) as info:
        store.get(store.keys.leader)
    assert 'without a CN' in str(info.value)


def _tls_conf(pki, username=None, password=None):
    text = ('[etcd]\nca_file = %s\ncert_file = %s\nkey_file = %s\n'
            % (pki.ca_file, pki.client_cert, pki.client_key))
    if username:
        text += 'username = %s\npassword = %s\n' % (username, password)
    return text


def test_agent_and_coordinator_over_tls_with_auth(auth_etcd, pki):
    extra = _tls_conf(pki, 'vmr', VMR_PASSWORD)
    cluster = Cluster([auth_etcd.endpoint], agents=2, coordinators=2,
                      cluster=CLUSTER, agent_extra=extra,
                      coordinator_extra=extra)
    store = tls_store(auth_etcd, pki, username='vmr', password=VMR_PASSWORD)
    try:
        cluster.start()

        def states():
            kvs, _ = store.get_prefix(store.keys.hosts)
            return {kv.key.rsplit('/', 1)[1]: kv.json().get('state')
                    for kv in kvs}
        # generous: two agents and two coordinators start on a loaded
        # machine (~3 s each when idle)
        wait_for(lambda: states() == {'compute-1': 'up', 'compute-2': 'up'},
                 60, interval=0.5, message='both agents up over TLS+auth')
        leader = wait_for(lambda: store.get(store.keys.leader), 30,
                          interval=0.5, message='a leader over TLS+auth')
        assert leader.value in cluster.coordinators
        members, _ = store.get_prefix(store.keys.group('vmr-agents'))
        assert {kv.key.rsplit('/', 1)[1] for kv in members} >= {
            'compute-1', 'compute-2'}
        for proc in list(cluster.agents.values()) + list(
                cluster.coordinators.values()):
            assert 'Traceback' not in proc.log(), proc.name
            assert VMR_PASSWORD not in proc.log(), proc.name
    finally:
        cluster.cleanup()
        store.delete(store.keys.root, prefix=True)


def test_services_report_a_wrong_password_in_one_line(auth_etcd, pki):
    extra = _tls_conf(pki, 'vmr', 'wrong-password-xyz')
    cluster = Cluster([auth_etcd.endpoint], agents=1, coordinators=1,
                      cluster=CLUSTER, agent_extra=extra,
                      coordinator_extra=extra)
    try:
        cluster.start()
        procs = [cluster.agents['compute-1'],
                 cluster.coordinators['controller-1']]
        needle = "etcd refused authentication of user 'vmr'"
        wait_for(lambda: all(needle in p.log() for p in procs), 60,
                 interval=0.5, message='both services report the refusal')
        for proc in procs:
            log = proc.log()
            assert 'Traceback' not in log, log
            assert 'wrong-password-xyz' not in log
            lines = [line for line in log.splitlines() if needle in line]
            # said once per change, not once per beat
            assert len(lines) <= 2, lines
    finally:
        cluster.cleanup()


def test_services_log_in_again_after_an_etcd_restart(pki):
    """etcd keeps auth tokens in memory: after a restart every client's
    token is invalid.  The Store logs in again; the host never looks failed
    for longer than the outage."""
    server = TlsEtcd(pki, name='vmr-auth-restart')
    extra = _tls_conf(pki, 'vmr', VMR_PASSWORD)
    cluster = None
    try:
        server.start()
        server.enable_auth(ROOT_PASSWORD, [
            ('vmr', VMR_PASSWORD, ['/vmr/%s/' % CLUSTER])])
        cluster = Cluster([server.endpoint], agents=1, coordinators=1,
                          cluster=CLUSTER, agent_extra=extra,
                          coordinator_extra=extra)
        store = tls_store(server, pki, username='vmr', password=VMR_PASSWORD)
        cluster.start()

        def state():
            kv = store.get(store.keys.host('compute-1'))
            return kv.json().get('state') if kv else None
        wait_for(lambda: state() == 'up' and store.get(store.keys.leader),
                 60, interval=0.5, message='agent up and a leader')
        server.restart(down_for=0.5)
        agent = cluster.agents['compute-1']
        member = store.keys.member('vmr-agents', 'compute-1')
        # Generous: etcd restart, lease re-grant, one detection period.
        wait_for(lambda: state() == 'up' and store.get(store.keys.leader) and
                 store.get(member), 30,
                 interval=0.5, message='agent and leader back over auth')
        time.sleep(3)
        assert state() == 'up'
        # A clean stop leaves the group (revokes its lease) with a valid
        # token, although its lease keep-alives passed without a token
        # check since the restart.
        agent.stop()
        assert store.get(member) is None
        log = agent.log()
        assert 'could not leave the group' not in log, log[-2000:]
        assert 'left group vmr-agents' in log
        for proc in (agent, cluster.coordinators['controller-1']):
            assert 'Traceback' not in proc.log(), proc.log()[-2000:]
    finally:
        if cluster is not None:
            cluster.cleanup()
        server.cleanup()
