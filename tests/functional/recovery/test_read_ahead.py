"""The plan's read-ahead: what a plan describes servers with (aggregates,
server groups, flavors, images) is read while the fence runs, and the
plan, once the fence is verified, lists only the host's servers itself
(issue 24: on the real tier these reads were most of the plan's second)."""

import time

from tests.labfixtures import boot
from tests.support.recovery import HOST, fence_profiles, read_record
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import snapshot as snapshot_mod

EVACUATE = {'name': 'evacuate-all', 'trigger': {'type': 'host_down'},
            'selector': {'all': True}, 'action': {'type': 'evacuate'}}


def _fenced(recovery, lab, tmp_path):
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    store = recovery.store
    store.put(store.keys.contract(EVACUATE['name']), EVACUATE)
    rid = 'compute-1-ahead'
    rec = journal_mod.new_record(rid, HOST, {'type': 'host_down',
                                             'host': HOST}, time.time())
    rec['state'] = journal_mod.RecoveryState.FENCED
    rec['fencing'] = {'verified': True, 'method': 'ipmi', 'post': []}
    store.put(store.keys.recovery(rid), rec)
    return rid, snapshot_mod.take(store, recovery.conf.heartbeat.group)


def _pending(lab, part):
    return [f for f in lab.nova.injected_faults if f[1] == part]


def test_the_plan_uses_the_read_ahead_but_lists_the_servers_itself(
        recovery, lab, conn, tmp_path):
    first = boot(conn, 'web-1', HOST)
    rid, snap = _fenced(recovery, lab, tmp_path)
    ahead = recovery._read_ahead(HOST)
    started, context = ahead.result(timeout=30)
    assert set(context) == {'by_host', 'groups', 'flavors', 'images'}
    assert context['flavors'] and context['images']
    # after the read-ahead: a server it did not see, and aggregates that
    # would fail if read again
    second = boot(conn, 'web-2', HOST)
    lab.nova.inject_fault(500, count=1, method='GET',
                          path_contains='os-aggregates')

    recovery._plan(rid, snap, ahead)

    rec = read_record(recovery, rid)
    assert rec['state'] == journal_mod.RecoveryState.ACTING, rec
    assert {s['server_id'] for s in rec['steps']} == {first.id, second.id}
    assert _pending(lab, 'os-aggregates'), 'the plan read aggregates again'


def test_a_stale_or_failed_read_ahead_is_read_again(recovery, lab, conn,
                                                    tmp_path):
    server = boot(conn, 'web-1', HOST)
    rid, snap = _fenced(recovery, lab, tmp_path)
    ahead = recovery._read_ahead(HOST)
    ahead.result(timeout=30)
    lab.nova.inject_fault(500, count=1, method='GET',
                          path_contains='os-aggregates')
    # a fence that took longer than READ_AHEAD_FOR
    real_clock = recovery.clock
    recovery.clock = lambda: real_clock() + 60
    recovery._plan(rid, snap, ahead)
    assert not _pending(lab, 'os-aggregates')
    (step,) = read_record(recovery, rid)['steps']
    assert step['server_id'] == server.id

    # a read-ahead Nova failed: the plan reads everything itself
    rid2 = 'compute-1-ahead-2'
    rec = dict(read_record(recovery, rid), id=rid2,
               state=journal_mod.RecoveryState.FENCED, steps=[])
    recovery.store.put(recovery.store.keys.recovery(rid2), rec)
    recovery.clock = real_clock
    lab.nova.inject_fault(500, count=1, method='GET',
                          path_contains='/servers/detail')
    failed = recovery._read_ahead(HOST)
    assert failed.exception(timeout=30) is not None
    recovery._plan(rid2, snapshot_mod.take(
        recovery.store, recovery.conf.heartbeat.group), failed)
    (step,) = read_record(recovery, rid2)['steps']
    assert step['server_id'] == server.id
