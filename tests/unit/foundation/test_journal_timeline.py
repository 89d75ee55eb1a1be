"""Timeline entries read "event detail": the detail does not repeat the
event's word ("fenced fenced compute-2 ...")."""

from vmr_coordinator import journal


def test_a_detail_starting_with_the_event_word_is_not_doubled():
    record = {}
    journal.add_event(record, 1.0, 'fenced',
                      'fenced compute-2 via ipmi (rung 1 of 1) in 0.31 s')
    journal.add_event(record, 2.0, 'blocked', 'all 1 rung failed: ...')
    journal.add_event(record, 3.0, 'done', 'done-ish')   # not the word
    journal.add_event(record, 4.0, 'planned', {'steps': 1})
    assert [e['detail'] for e in record['timeline']] == [
        'compute-2 via ipmi (rung 1 of 1) in 0.31 s',
        'all 1 rung failed: ...', 'done-ish', {'steps': 1}]
    assert record['updated_at'] == 4.0


def _record(state='acting', steps=('done', 'running', 'pending')):
    rec = journal.new_record('r1', 'compute-2', {'type': 'host_down'}, 1.0,
                             leader='controller-1', token=7)
    rec['state'] = state
    rec['steps'] = [{'state': s} for s in steps]
    return rec


def test_a_new_leader_signs_the_record_and_says_where_it_resumed():
    rec = _record()
    assert journal.take_over(rec, 5.0, 'controller-2', 12) is True
    assert (rec['leader'], rec['leader_token']) == ('controller-2', 12)
    assert rec['timeline'][-1] == {
        'at': 5.0, 'event': 'resumed',
        'detail': 'by controller-2 (leader token 12) from the journal after '
                  'controller-1: 1 of 3 steps finished, 2 to go'}
    # the same term again: nothing to write, no second line
    assert journal.take_over(rec, 6.0, 'controller-2', 12) is False
    assert [e['event'] for e in rec['timeline']].count('resumed') == 1


def test_a_0_1_0_record_is_migrated_when_resumed():
    rec = _record()
    del rec['format']                     # 0.1.0 wrote no format
    assert journal.take_over(rec, 5.0, 'controller-2', 12) is True
    assert rec['format'] == journal.FORMAT
    assert rec['timeline'][-1]['detail'].endswith(
        '2 to go; record migrated to format %d' % journal.FORMAT)


def test_the_same_member_in_a_new_term_resumes_too():
    rec = _record(state='fencing', steps=())
    assert journal.take_over(rec, 5.0, 'controller-1', 9) is True
    assert rec['timeline'][-1]['detail'] == (
        'by controller-1 (leader token 9) from the journal after '
        'controller-1 (an earlier term): at state fencing')


def test_a_record_nobody_signed_is_left_alone():
    rec = journal.new_record('r1', 'compute-2', {'type': 'host_down'}, 1.0)
    before = dict(rec)
    assert journal.take_over(rec, 5.0, 'controller-2', 12) is False
    assert rec == before
