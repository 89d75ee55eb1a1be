"""Which recovery events the leader publishes, from the journal it sees
each cycle (``notifications.journal_events``, pure)."""

from vmr_coordinator import journal
from vmr_coordinator import notifications as n


def record(state='fencing', steps=(), trigger=None, rid='r1'):
    rec = journal.new_record(rid, 'compute-2', trigger or {
        'type': 'host_down', 'host': 'compute-2', 'reason': 'no heartbeat'},
        100.0, boot_id='boot-1')
    rec['state'] = state
    rec['steps'] = [{'state': s, 'server_id': 'srv-%d' % i,
                     'server_name': 'web-%d' % i, 'contract': 'web',
                     'action': 'evacuate', 'error': 'HTTP 500' if
                     s == 'failed' else None} for i, s in enumerate(steps)]
    return rec


def types(events):
    return [t for t, _ in events]


def test_a_new_host_down_record_says_the_host_failed_and_the_recovery_began():
    events, seen = n.journal_events({}, {'r1': record()}, 101.0)
    assert types(events) == [n.HOST_FAILED, n.RECOVERY_START]
    failed, start = (p for _, p in events)
    assert failed == {'host': 'compute-2', 'reason': 'no heartbeat',
                      'boot_id': 'boot-1', 'recovery_id': 'r1'}
    assert start['recovery_id'] == 'r1' and start['state'] == 'fencing'
    assert start['trigger'] == {'type': 'host_down', 'host': 'compute-2',
                                'reason': 'no heartbeat'}
    # nothing changed: nothing to say
    assert n.journal_events(seen, {'r1': record()}, 102.0)[0] == []


def test_other_triggers_start_without_a_failed_host():
    rec = record(trigger={'type': 'manual', 'server_id': 's-1'})
    assert types(n.journal_events({}, {'r1': rec}, 1.0)[0]) == [
        n.RECOVERY_START]


def test_a_failed_step_and_the_end_each_once():
    _, seen = n.journal_events({}, {'r1': record(
        'acting', ('running', 'running'))}, 101.0)
    rec = record('acting', ('done', 'failed'))
    events, seen = n.journal_events(seen, {'r1': rec}, 105.0)
    assert types(events) == [n.STEP_FAILED]
    step = events[0][1]
    assert (step['server_id'], step['server_name'], step['action'],
            step['error']) == ('srv-1', 'web-1', 'evacuate', 'HTTP 500')
    rec = record('failed', ('done', 'failed'))
    events, seen = n.journal_events(seen, {'r1': rec}, 110.0)
    assert types(events) == [n.RECOVERY_END]
    assert events[0][1]['state'] == 'failed'
    assert events[0][1]['steps'] == {'done': 1, 'failed': 1}
    assert events[0][1]['seconds'] == 10.0
    assert n.journal_events(seen, {'r1': rec}, 111.0)[0] == []


def test_a_record_born_finished_starts_and_ends_in_one_cycle():
    rec = record('done', ('done',), trigger={'type': 'manual'})
    assert types(n.journal_events({}, {'r1': rec}, 101.0)[0]) == [
        n.RECOVERY_START, n.RECOVERY_END]


def test_an_archived_record_is_forgotten():
    _, seen = n.journal_events({}, {'r1': record('done')}, 101.0)
    assert n.journal_events(seen, {}, 102.0) == ([], {})
