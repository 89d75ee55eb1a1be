"""The Nova poll of the instance_down trigger: it asks for every status the
contracts accept, and a server whose recovery failed is held down instead of
being reopened at the next poll."""

import time

from tests.labfixtures import boot
from vmr_coordinator import recovery as recovery_mod
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.journal import RecoveryState

CONTRACT = {'name': 'unpause', 'trigger': {'type': 'instance_down',
                                           'statuses': ['PAUSED', 'ERROR']},
            'selector': {'all': True}, 'action': {'type': 'reboot'}}


def _pause_by_hypervisor(lab, server):
    # Lab internals: libvirt pauses a guest on an I/O error without any API
    # call, which no public Nova API can make happen.
    with lab.nova.state_lock:
        lab.nova.servers[server.id]['vm_state'] = 'paused'


def _opened(recovery):
    kvs, _ = recovery.store.get_prefix(recovery.store.keys.journal)
    return [kv.json() for kv in kvs
            if kv.json()['trigger'].get('type') == 'instance_down']


def _poll(recovery, hold):
    snap = snapshot_mod.take(recovery.store, recovery.conf.heartbeat.group)
    statuses = recovery_mod.polled_statuses(snap.contracts.values())
    held = recovery_mod.held_down(snap.journal, time.time(), hold)
    recovery._poll_job(snap, set(), statuses, held)
    return statuses


def test_poll_asks_for_paused_and_holds_a_failed_server_down(
        recovery, lab, conn):
    store = recovery.store
    store.put(store.keys.host('compute-1'), {'state': 'up'})
    store.put(store.keys.contract('unpause'), CONTRACT)
    server = boot(conn, 'app-1', 'compute-1')
    _pause_by_hypervisor(lab, server)
    assert conn.compute.get_server(server.id).status == 'PAUSED'

    assert _poll(recovery, 600) == ('ERROR', 'PAUSED')
    (rec,) = _opened(recovery)
    assert (rec['trigger']['server_id'], rec['trigger']['status']) == (
        server.id, 'PAUSED')

    # The recovery failed and the server is still paused: no new recovery
    # within the hold-down...
    rec['state'] = RecoveryState.FAILED
    rec['updated_at'] = time.time()
    store.put(store.keys.recovery(rec['id']), rec)
    _poll(recovery, 600)
    assert len(_opened(recovery)) == 1
    # ...and one once it has passed.
    _poll(recovery, 0)
    assert len(_opened(recovery)) == 2


def test_polled_statuses_is_the_union_of_the_enabled_contracts():
    docs = [{'trigger': {'type': 'instance_down'}},
            {'trigger': {'type': 'instance_down',
                         'statuses': ['SUSPENDED']}},
            {'enabled': False, 'trigger': {'type': 'instance_down',
                                           'statuses': ['PAUSED']}},
            {'trigger': {'type': 'host_down'}}]
    assert recovery_mod.polled_statuses(docs) == ('ERROR', 'SHUTOFF',
                                                  'SUSPENDED')
    assert recovery_mod.polled_statuses(docs[3:]) == ()


def test_held_down_looks_at_the_latest_recovery_of_each_server():
    def rec(sid, state, at):
        return ({'trigger': {'type': 'instance_down', 'server_id': sid},
                 'state': state, 'updated_at': at}, 1)
    journal = {'a1': rec('a', 'failed', 100), 'a2': rec('a', 'done', 50),
               'b1': rec('b', 'failed', 100), 'b2': rec('b', 'done', 150),
               'c1': rec('c', 'failed', -150)}
    assert recovery_mod.held_down(journal, 200, 300) == {'a': 400}
