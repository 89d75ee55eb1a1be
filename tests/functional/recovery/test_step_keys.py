"""Journal format 2 (``[journal] write_format = 2``): each step of a
recovery in its own key below ``steps/<id>/``, so a step update writes that
step, not the whole record (issue 22).  On a real etcd, through the leader's
guarded writes: the record as every reader sees it is the same in both
formats, a heal runs end to end, and the archive takes the steps along."""

import time

from tests.procs import wait_for
from tests.support.recovery import HOST, fence_profiles
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.journal import RecoveryState, StepState

EVACUATE = {'name': 'evacuate-all', 'trigger': {'type': 'host_down'},
            'selector': {'all': True},
            'action': {'type': 'evacuate'}}


def _snap(recovery):
    return snapshot_mod.take(recovery.store, recovery.conf.heartbeat.group)


def _open(recovery, rid, state=RecoveryState.FENCED):
    rec = journal_mod.new_record(rid, HOST, {'type': 'host_down'},
                                 time.time())
    rec['state'] = state
    recovery.store.put(recovery.store.keys.recovery(rid), rec)
    return rec


def _plan(count):
    def mutate(r):
        r['state'] = RecoveryState.ACTING
        r['steps'] = [{'state': StepState.PENDING, 'server_id': 's%d' % i,
                       'server_name': 'vm-%d' % i} for i in range(count)]
    return mutate


def _mark(index, **fields):
    def mutate(r):
        r['steps'][index].update(fields)
    return mutate


def test_a_step_update_writes_that_step_only(recovery):
    store, keys = recovery.store, recovery.store.keys
    recovery.journal.write_format = 2
    _open(recovery, 'r2')
    planned = recovery.journal.update('r2', _plan(3))
    assert planned['format'] == 2 and len(planned['steps']) == 3

    stored = store.get(keys.recovery('r2'))
    assert 'steps' not in stored.json() and stored.json()['step_count'] == 3
    assert [kv.json()['server_id'] for kv in
            store.get_prefix(keys.steps_of('r2'))[0]] == ['s0', 's1', 's2']

    after = recovery.journal.update('r2', _mark(1, state=StepState.RUNNING))
    assert store.get(keys.recovery('r2')).mod_revision == \
        stored.mod_revision                          # the record untouched
    assert store.get(keys.step('r2', 1)).json()['state'] == 'running'
    assert after['steps'][1]['state'] == 'running'
    # every reader sees the same record: the journal, the snapshot
    assert recovery.journal.read('r2') == after
    snap_rec, snap_rev = _snap(recovery).journal['r2']
    assert snap_rec['steps'] == after['steps']
    assert snap_rev == stored.mod_revision

    # a change of the record itself (a timeline event) writes the record
    def finish(r):
        journal_mod.add_event(r, time.time(), 'step done', 'vm-1')
        r['steps'][1]['state'] = StepState.DONE
    done = recovery.journal.update('r2', finish)
    assert store.get(keys.recovery('r2')).mod_revision > stored.mod_revision
    assert done['timeline'][-1]['event'] == 'step done'
    assert recovery.journal.read('r2')['steps'][1]['state'] == 'done'


def test_format_1_records_keep_their_steps_inside(recovery):
    store, keys = recovery.store, recovery.store.keys
    recovery.journal.write_format = 2
    rec = _open(recovery, 'r1')
    rec['state'] = RecoveryState.ACTING
    rec['steps'] = [{'state': StepState.PENDING, 'server_id': 's0'}]
    store.put(keys.recovery('r1'), rec)        # planned by format 1

    recovery.journal.update('r1', _mark(0, state=StepState.DONE))

    stored = store.get(keys.recovery('r1')).json()
    assert stored['format'] == 1 and stored['steps'][0]['state'] == 'done'
    assert store.get_prefix(keys.steps_of('r1'))[0] == []


def test_a_plan_bigger_than_one_transaction_is_written_whole(recovery):
    store, keys = recovery.store, recovery.store.keys
    recovery.journal.write_format = 2
    _open(recovery, 'big')
    count = 3 * journal_mod.MAX_TXN_OPS + 7
    recovery.journal.update('big', _plan(count))

    assert store.count(keys.steps_of('big')) == count
    rec = recovery.journal.read('big')
    assert [s['server_id'] for s in rec['steps']] == \
        ['s%d' % i for i in range(count)]
    # and a mutate that changes all of them at once
    def cancel(r):
        for step in r['steps']:
            step['state'] = StepState.SKIPPED
    recovery.journal.update('big', cancel)
    assert {s['state'] for s in recovery.journal.read('big')['steps']} == \
        {StepState.SKIPPED}


def test_a_missing_step_key_reads_as_a_failed_step(recovery):
    store, keys = recovery.store, recovery.store.keys
    recovery.journal.write_format = 2
    _open(recovery, 'r3')
    recovery.journal.update('r3', _plan(2))
    store.delete(keys.step('r3', 0))
    steps = recovery.journal.read('r3')['steps']
    assert steps[0]['state'] == StepState.FAILED
    assert 'steps/' in steps[0]['error']
    assert steps[1]['server_id'] == 's1'


def test_a_heal_in_format_2_and_its_archive(recovery, lab, conn, tmp_path):
    from tests.labfixtures import boot
    recovery.journal.write_format = 2
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    recovery.conf.set_override('poll_interval', 0.05, 'fencing')
    store, keys = recovery.store, recovery.store.keys
    store.put(keys.contract(EVACUATE['name']), EVACUATE)
    servers = [boot(conn, 'heal-%d' % i, HOST) for i in range(2)]
    lab.hosts[HOST].set_power('off')
    store.put(keys.host(HOST), {'state': 'failed', 'failed_at': time.time(),
                                'reason': 'test'})
    recovery.stage(recovery.healer, _snap(recovery), time.time())
    (rid,) = [kv.json()['id'] for kv in store.get_prefix(keys.journal)[0]]
    rec = wait_for(lambda: recovery.journal.read(rid)['state'] in (
        'done', 'failed') and recovery.journal.read(rid), timeout=60,
        message='the recovery to end')
    assert rec['state'] == 'done', rec
    assert rec['format'] == 2
    assert sorted(s['server_id'] for s in rec['steps']) == \
        sorted(s.id for s in servers)
    assert all(s['state'] == 'done' for s in rec['steps'])
    assert 'steps' not in store.get(keys.recovery(rid)).json()

    # archived with its steps inside; the step keys go with it
    wait_for(lambda: store.get(keys.host(HOST)).json()['state'] ==
             'recovered', timeout=10, message='the host to be recovered')
    store.put(keys.host(HOST), {'state': 'up'})   # it came back
    # an hour later: past archive_after and the instance_down hold-down
    recovery._history(_snap(recovery), time.time() + 3600)
    recovery.drain()
    assert store.get(keys.recovery(rid)) is None
    assert store.get_prefix(keys.steps_of(rid))[0] == []
    archived = journal_mod.read(store, rid, history=True)[0]
    assert [s['state'] for s in archived['steps']] == ['done', 'done']

