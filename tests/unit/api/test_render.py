"""Formatting for people: times, durations, the recovery timeline."""

from vmr_client import render

RECORD = {
    'id': 'r-42', 'host': 'compute-3', 'state': 'failed',
    'trigger': {'type': 'host_down', 'host': 'compute-3'},
    'created_at': 1000.0, 'updated_at': 1095.5,
    'fencing': {'verified': True, 'confirmed_by': 'alice@ops',
                'method': 'operator',
                'reason': 'confirmed off by alice@ops: PDU',
                'confirmed_at': 1010.0, 'attempts': [
                    {'method': 'ipmi', 'verified': False, 'evidence': None,
                     'duration': 20.0, 'error': 'BMC timeout'},
                    {'method': 'manual', 'verified': True,
                     'evidence': 'confirmed by alice@ops',
                     'duration': 0.25, 'error': None}]},
    'steps': [
        {'server_id': 's1', 'server_name': 'db-1', 'contract': 'db',
         'action': 'evacuate', 'state': 'failed', 'attempts': 3,
         'started_at': 1012.0, 'finished_at': 1092.0, 'result': None,
         'error': 'no host with room', 'request_ids': ['req-a', 'req-b']},
        {'server_id': 's2', 'server_name': None, 'contract': 'db',
         'action': 'evacuate', 'state': 'done', 'attempts': 1,
         'started_at': 1012.0, 'finished_at': 1030.0,
         'result': {'host': 'compute-1'}, 'error': None, 'request_ids': []},
    ],
    'timeline': [
        {'at': 1000.0, 'event': 'detected', 'detail': 'left the group'},
        {'at': 1010.0, 'event': 'fenced', 'detail': {'by': 'alice@ops'}},
        {'at': 1095.5, 'event': 'failed', 'detail': None},
    ],
}


def test_fmt_time_and_duration():
    assert render.fmt_time(0) == '1970-01-01 00:00:00Z'
    assert render.fmt_time(3661.9, with_date=False) == '01:01:01'
    assert render.fmt_time(None) == ''
    assert render.fmt_time('soon') == 'soon'
    assert render.fmt_duration(0.25) == '250 ms'
    assert render.fmt_duration(4.21) == '4.2 s'
    assert render.fmt_duration(185) == '3m05s'
    assert render.fmt_duration(7800) == '2h10m'
    assert render.fmt_duration(None) == ''


def test_steps_summary():
    assert render.format_steps_summary({'done': 2, 'failed': 1}) == \
        '2 done, 1 failed of 3'
    assert render.format_steps_summary({}) == 'none'
    assert render.format_steps_summary({'weird': 1, 'done': 1}) == \
        '1 done, 1 weird of 2'


def test_recovery_report():
    text = render.format_recovery(RECORD)
    lines = text.splitlines()
    assert lines[0] == 'Recovery r-42: host compute-3, FAILED (trigger ' \
                       'host_down)'
    assert lines[1] == ('Detected 1970-01-01 00:16:40Z, last update '
                        '1970-01-01 00:18:15Z (+1m35s)')
    assert 'Fencing: verified off by operator, confirmed by hand by ' \
           'alice@ops at 1970-01-01 00:16:50Z' in text
    assert '  confirmed off by alice@ops: PDU' in lines
    assert '  ipmi    failed    20.0 s  BMC timeout' in lines
    assert '  manual  verified  250 ms  confirmed by alice@ops' in lines
    assert 'Steps: 1 done, 1 failed of 2' in lines
    step1 = next(line for line in lines if 'db-1 (s1)' in line)
    assert '3 attempts' in step1 and '1m20s' in step1
    assert step1.endswith('no host with room [req-a, req-b]')
    step2 = next(line for line in lines if line.strip().startswith('s2'))
    assert '1 attempt ' in step2 and '{"host": "compute-1"}' in step2
    timeline = lines[lines.index('Timeline:') + 1:]
    assert timeline == [
        '  00:16:40  +0.0 s   detected  left the group',
        '  00:16:50  +10.0 s  fenced    {"by": "alice@ops"}',
        '  00:18:15  +1m35s   failed',
    ]


def test_recovery_report_of_a_fresh_record():
    text = render.format_recovery({'id': 'r-1', 'state': 'detected'})
    assert 'Fencing: NOT verified' in text
    blocked = render.format_recovery({'id': 'r-2', 'state': 'blocked',
                                      'fencing': {'verified': False,
                                                  'reason': 'BMC down',
                                                  'next_retry_at': 60.0}})
    assert '  BMC down\n  next attempt at 1970-01-01 00:01:00Z' in blocked
    assert 'Steps: none' in text
    assert text.rstrip().endswith('(empty)')


def test_columns_are_readable_and_machine_readable():
    col = render.JsonColumn({'b': 1, 'a': [1, 2]})
    assert col.human_readable() == '{"a": [1, 2], "b": 1}'
    assert col.machine_readable() == {'b': 1, 'a': [1, 2]}
    assert render.JsonColumn(None).human_readable() == ''
    t = render.TimeColumn(0)
    assert t.human_readable() == '1970-01-01 00:00:00Z'
    assert t.machine_readable() == '1970-01-01T00:00:00.000Z'
    assert render.TimeColumn(None).machine_readable() is None
    age = render.AgeColumn(100.0, now=108.6)
    assert age.human_readable() == '8.6 s ago'
    assert age.machine_readable() == '1970-01-01T00:01:40.000Z'
    shown = render.Shown({'total': 2}, '2 (up=2)')
    assert shown.human_readable() == '2 (up=2)'
    assert shown.machine_readable() == {'total': 2}
