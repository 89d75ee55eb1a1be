"""format_recovery: request ids appear once per step."""

from vmr_client import render


def record(step):
    return {'id': 'r1', 'host': 'h', 'state': 'done', 'steps': [step],
            'timeline': [], 'fencing': {'verified': True}}


def test_request_ids_already_in_the_result_are_not_repeated():
    text = render.format_recovery(record({
        'server_name': 'vm', 'server_id': 's1', 'action': 'evacuate',
        'state': 'done', 'result': 'evacuated [request ids: req-a, req-b]',
        'request_ids': ['req-a', 'req-b']}))
    assert text.count('req-a') == 1 and text.count('req-b') == 1


def test_request_ids_the_text_does_not_name_are_shown():
    text = render.format_recovery(record({
        'server_id': 's1', 'action': 'evacuate', 'state': 'failed',
        'error': 'Nova said 500', 'request_ids': ['req-x']}))
    assert 'Nova said 500 [req-x]' in text
