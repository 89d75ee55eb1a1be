"""The server facts a real recovery gathers carry what selectors and the
service-VM rules look at: server groups, tags, flavor, image (with its tags
and owner), so contracts match at run time as they do in ``vmr plan``."""

import time

from tests.labfixtures import boot
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import snapshot as snapshot_mod

HOST = 'compute-1'


def _plan(recovery, contracts):
    """Plan a fenced host_down recovery of HOST; the record."""
    store = recovery.store
    for doc in contracts:
        store.put(store.keys.contract(doc['name']), doc)
    rid = 'facts-' + HOST
    rec = journal_mod.new_record(rid, HOST, {'type': 'host_down',
                                             'host': HOST}, time.time())
    rec['state'] = journal_mod.RecoveryState.FENCED
    rec['fencing'] = {'verified': True}
    store.put(store.keys.recovery(rid), rec)
    snap = snapshot_mod.take(store, recovery.conf.heartbeat.group)
    recovery._plan(rid, snap)
    return store.get(store.keys.recovery(rid)).json()


def _healed(rec):
    return {s['server_name']: s['contract'] for s in rec['steps']}


def test_server_group_selector_matches_in_a_recovery(recovery, lab, conn):
    group = conn.compute.create_server_group(name='web-group',
                                             policy='soft-anti-affinity')
    boot(conn, 'web-1', HOST, scheduler_hints={'group': group.id})
    boot(conn, 'web-2', HOST)

    rec = _plan(recovery, [
        {'name': 'by-group-name', 'priority': 300,
         'trigger': {'type': 'host_down'},
         'selector': {'server_group': 'web-group'},
         'action': {'type': 'evacuate'}},
        {'name': 'by-group-id', 'priority': 200,
         'trigger': {'type': 'host_down'},
         'selector': {'server_group': group.id},
         'action': {'type': 'boot_from_snapshot'}}])

    assert _healed(rec) == {'web-1': 'by-group-name'}
    assert [s['server_name'] for s in rec['skipped']] == ['web-2']
    (step,) = rec['steps']
    assert set(step['server']['server_groups']) == {'web-group', group.id}
