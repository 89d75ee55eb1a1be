"""/v1/status, pause/resume, brake release, /healthz, /readyz."""

from vmr_common.store import Store


def test_status_counts_and_leader(api):
    api.add_host('compute-1')
    api.add_host('compute-2', state='failed')
    api.add_host('compute-3', state='failed')
    api.add_member('compute-1', heartbeat='grpc')
    api.add_recovery('r-1', 'compute-2', state='acting')
    api.store.put(api.store.keys.leader, 'controller-1')
    body = api.get('/v1/status').json()
    leader = api.store.get(api.store.keys.leader)
    assert body['leader'] == {'member': 'controller-1',
                              'token': leader.create_revision}
    assert body['hosts']['total'] == 3
    assert body['hosts']['by_state']['failed'] == 2
    assert body['hosts']['by_state']['up'] == 1
    assert body['recoveries']['by_state']['acting'] == 1
    assert body['members'] == ['compute-1']
    assert body['heartbeats'] == {'grpc': 1, 'gateway': 0}
    assert body['paused'] is None and body['brake'] is None
    # A standalone API (no coordinator in this process).
    assert body['coordinator']['is_leader'] is False


def test_status_counts_agents_by_heartbeat_transport(api):
    # The agents group is shared by every test of this cluster: remove
    # ours after.
    names = ('hb-grpc', 'hb-gateway', 'hb-old')
    try:
        api.add_member('hb-grpc', heartbeat='grpc')
        api.add_member('hb-gateway', heartbeat='gateway')
        api.add_member('hb-old')   # an agent older than the capability
        counts = api.get('/v1/status').json()['heartbeats']
        assert counts['gateway'] >= 1 and counts['unknown'] >= 1
        assert counts['grpc'] >= 1
    finally:
        for name in names:
            api.store.delete(api.store.keys.member(
                api.conf.heartbeat.group, name))


def test_pause_and_resume(api):
    r = api.post('/v1/pause', {'reason': 'network work tonight'})
    assert r.status_code == 200, r.text
    pause = api.store.get(api.store.keys.pause).json()
    assert pause['reason'] == 'network work tonight'
    assert pause['by'] == 'anonymous (noauth)'
    assert api.get('/v1/status').json()['paused'] == pause
    r = api.post('/v1/resume')
    assert r.json() == {'paused': None, 'was_paused': True}
    assert api.store.get(api.store.keys.pause) is None
    assert api.post('/v1/resume').json()['was_paused'] is False


def test_noauth_does_not_trust_identity_headers(api):
    api.post('/v1/pause', {}, headers={'X-Identity-Status': 'Confirmed',
                                       'X-User-Name': 'mallory'})
    assert api.store.get(api.store.keys.pause).json()['by'] == \
        'anonymous (noauth)'


def test_pause_without_a_body_and_with_a_bad_one(api):
    assert api.post('/v1/pause').status_code == 200
    r = api.post('/v1/pause', {'reason': ['a', 'list']})
    assert r.status_code == 400
    assert r.json()['error']['field'] == 'reason'


def test_brake_release(api):
    brake = {'zones': {'az1': {'reason': '4 of 5 hosts went silent',
                               'hosts': ['compute-1']}}, 'since': 5.0}
    api.store.put(api.store.keys.brake, brake)
    assert api.get('/v1/status').json()['brake'] == brake
    r = api.post('/v1/brake/release')
    assert r.json() == {'released': True, 'brake': brake}
    assert api.store.get(api.store.keys.brake) is None
    assert api.post('/v1/brake/release').json() == {'released': False,
                                                     'brake': None}


def test_healthz_and_readyz_as_a_standby(api):
    assert api.get('/healthz').json() == {'status': 'ok'}
    api.store.put(api.store.keys.leader, 'controller-9')
    r = api.get('/readyz')
    assert r.status_code == 200
    assert r.json()['role'] == 'standby'
    assert r.json()['leader'] == 'controller-9'


def test_readyz_is_503_without_etcd_and_status_too(etcd_server):
    from tests.etcd_fixture import free_port
    from tests.support.api_harness import start_harness

    class NowhereStore(Store):
        """A store whose only endpoint is a closed port."""

        def __init__(self, endpoints, **kw):
            super().__init__(['http://127.0.0.1:%d' % free_port()],
                             timeout=0.5, **kw)

    api = start_harness(etcd_server, store_cls=NowhereStore)
    try:
        assert api.get('/healthz').status_code == 200
        r = api.get('/readyz')
        assert r.status_code == 503
        assert r.json()['ready'] is False
        r = api.get('/v1/status')
        assert r.status_code == 503
        assert 'etcd' in r.json()['error']['message']
    finally:
        api.close()
