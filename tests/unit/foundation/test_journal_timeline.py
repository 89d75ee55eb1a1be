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
