"""The API next to real running coordinators and an agent (tests/procs.py).

The coordinators are real ``vmr-coordinator`` processes leading through
etcd; the API under test serves the same cluster from this process, as a
standby's API would. Maintenance set through the API must be honoured by
the real leader, whose writes to the same host record it races with.
"""

import pytest

from tests import procs
from tests.support.api_harness import start_harness
from vmr_common.store import Store


@pytest.fixture
def cluster(etcd_server):
    c = procs.Cluster([etcd_server.endpoint], agents=1, coordinators=1)
    c.start()
    yield c
    c.cleanup()


def test_api_alongside_a_running_leader(etcd_server, cluster):
    class ClusterStore(Store):
        def __init__(self, endpoints, **kw):
            kw['cluster'] = cluster.cluster
            super().__init__(endpoints, **kw)

    api = start_harness(etcd_server, store_cls=ClusterStore)
    try:
        def status():
            return api.get('/v1/status').json()

        body = procs.wait_for(
            lambda: (lambda s: s if s['leader'] and
                     s['hosts']['by_state'].get('up') == 1 and
                     s['members'] == ['compute-1'] else None)(status()),
            20, 0.2, 'a leader and compute-1 up')
        assert body['leader']['member'] == 'controller-1'
        assert api.get('/readyz').json()['leader'] == 'controller-1'

        r = api.post('/v1/hosts/compute-1/maintenance',
                     {'enabled': True, 'reason': 'kernel update'})
        assert r.status_code == 200, r.text
        procs.wait_for(
            lambda: api.get('/v1/hosts/compute-1').json()['host'][
                'state'] == 'maintenance', 15, 0.2,
            'the leader to put compute-1 in maintenance')
        host = api.get('/v1/hosts/compute-1').json()['host']
        assert host['maintenance_reason'] == 'kernel update'

        r = api.post('/v1/hosts/compute-1/maintenance', {'enabled': False})
        assert r.status_code == 200
        procs.wait_for(
            lambda: api.get('/v1/hosts/compute-1').json()['host'][
                'state'] == 'up', 15, 0.2, 'compute-1 back up')

        assert api.post('/v1/pause', {'reason': 'test'}).status_code == 200
        procs.wait_for(
            lambda: 'paused by' in cluster.coordinators[
                'controller-1'].log(), 15, 0.2, 'the leader to pause')
        assert api.post('/v1/resume').json()['was_paused'] is True
    finally:
        api.close()


def test_api_served_by_the_leading_coordinator(etcd_server):
    """``start_api`` handed the in-process Coordinator, as service.py will."""
    import threading

    from vmr_coordinator import service
    from vmr_coordinator.api import server as server_mod

    api = start_harness(etcd_server)
    api.close()  # only its conf and cluster are reused below
    api.conf.set_override('period', 0.2, 'coordinator')
    coordinator = service.Coordinator(api.conf, api.store)
    loop = threading.Thread(target=coordinator.run, daemon=True)
    loop.start()
    server = server_mod.start_api(api.conf, api.store, coordinator)
    try:
        api.url = server.url
        procs.wait_for(lambda: api.get('/readyz').json()['role'] == 'leader',
                       10, 0.1, 'the coordinator to lead')
        # Leadership is visible from inside the first cycle; its sentence
        # only once that cycle returned.
        me = procs.wait_for(
            lambda: (lambda c: c if c['sentence'] else None)(
                api.get('/v1/status').json()['coordinator']),
            10, 0.1, 'the first cycle to end')
        assert me['member'] == 'controller-test'
        assert me['is_leader'] is True
        assert me['token'] == api.store.get(
            api.store.keys.leader).create_revision
        assert me['sentence'].startswith('no action: I am the leader')
        text = api.get('/metrics').text
        assert 'vmr_leader 1.0' in text
    finally:
        server.stop()
        coordinator.stop()
        loop.join(5)
