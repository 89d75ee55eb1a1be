"""A manual recovery asked through the API (POST /v1/recoveries, what
``vmr recover`` sends) ends as a finished recovery whose contract's action
was done in the lab cloud, and only that contract acted."""

import time

import pytest
import requests

from tests.support.api_harness import ApiHarness
from tests.labfixtures import boot
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.api import app as app_mod
from vmr_coordinator.api import server as server_mod

CONTRACTS = {
    'heal-by-hand': {'name': 'heal-by-hand', 'priority': 10,
                     'trigger': {'type': 'manual'},
                     'selector': {'metadata': {'app': 'web'}},
                     'action': {'type': 'reboot'}},
    # matches too, with a higher priority: a request naming its contract
    # must not be handed to another one
    'park-by-hand': {'name': 'park-by-hand', 'priority': 900,
                     'trigger': {'type': 'manual'},
                     'selector': {'all': True},
                     'action': {'type': 'suspend'}},
}


@pytest.fixture
def api(recovery):
    """The API on the cluster the ``recovery`` coordinator leads."""
    app = app_mod.make_app(recovery.conf, recovery.store)
    server = server_mod.ApiServer(recovery.conf, recovery.store, None,
                                  app=app, poll_interval=0.05)
    server.start()
    harness = ApiHarness(recovery.conf, recovery.store, server)
    yield harness
    harness.close()


def _drive(recovery, rid, timeout=60):
    """Run the recovery stage until ``rid`` is finished; its record."""
    store = recovery.store
    deadline = time.monotonic() + timeout
    while True:
        kv = store.get(store.keys.recovery(rid))
        if kv is not None and kv.json()['state'] in ('done', 'failed'):
            return kv.json()
        assert time.monotonic() < deadline, kv.json() if kv else 'not opened'
        snap = snapshot_mod.take(store, recovery.conf.heartbeat.group)
        recovery.stage(recovery.healer, snap, time.time())
        time.sleep(0.05)   # the stage's jobs run in its pool meanwhile


def test_manual_request_through_the_api_heals_the_server(
        recovery, api, lab, conn):
    store = recovery.store
    for name, doc in CONTRACTS.items():
        store.put(store.keys.contract(name), doc)
    store.put(store.keys.host('compute-1'), {'state': 'up'})
    server = boot(conn, 'web-1', 'compute-1', metadata={'app': 'web'})
    conn.compute.reset_server_state(server, 'error')
    assert conn.compute.get_server(server.id).status == 'ERROR'

    r = api.post('/v1/recoveries', {'contract': 'heal-by-hand',
                                    'server': server.id,
                                    'reason': 'guest hung'})
    assert r.status_code == 202, r.text
    rid = r.json()['recovery_id']

    rec = _drive(recovery, rid)

    assert rec['state'] == 'done', rec
    assert rec['trigger']['contract'] == 'heal-by-hand'
    (step,) = rec['steps']
    assert (step['server_id'], step['contract'], step['action'],
            step['state']) == (server.id, 'heal-by-hand', 'reboot', 'done')
    assert conn.compute.wait_for_server(
        server, status='ACTIVE', interval=0.05, wait=30).status == 'ACTIVE'
    # the request was consumed exactly once
    assert store.get_prefix(store.keys.events)[0] == []
    shown = requests.get(api.url + '/v1/recoveries/' + rid, timeout=10)
    assert shown.json()['recovery']['state'] == 'done'
