"""POST /v1/recoveries: a manual recovery with one contract whose trigger is
manual, for one server or a host; every bad input is one clear 4xx."""

import pytest

MANUAL = {'name': 'by-hand', 'trigger': {'type': 'manual'},
          'selector': {'all': True}, 'action': {'type': 'reboot'}}
HOST_DOWN = {'name': 'web-ha', 'trigger': {'type': 'host_down'},
             'selector': {'all': True}, 'action': {'type': 'evacuate'}}


@pytest.fixture
def seeded(api):
    api.store.put(api.store.keys.contract('by-hand'), MANUAL)
    api.store.put(api.store.keys.contract('web-ha'), HOST_DOWN)
    api.store.put(api.store.keys.contract('off'), dict(MANUAL, name='off',
                                                       enabled=False))
    api.add_host('compute-1')
    return api


def _events(api):
    kvs, _ = api.store.get_prefix(api.store.keys.events)
    return [kv.json() for kv in kvs]


def test_a_request_for_a_server_is_stored_under_its_recovery_id(seeded):
    r = seeded.post('/v1/recoveries', {'contract': 'by-hand',
                                       'server': 'web-1', 'reason': 'hung'})
    assert r.status_code == 202, r.text
    body = r.json()
    rid = body['recovery_id']
    assert rid.startswith('manual-web-1-')
    (event,) = _events(seeded)
    assert event == body['request']
    assert {k: event[k] for k in ('type', 'contract', 'servers', 'reason',
                                  'recovery_id', 'requested_by')} == {
        'type': 'manual', 'contract': 'by-hand', 'servers': ['web-1'],
        'reason': 'hung', 'recovery_id': rid,
        'requested_by': 'anonymous (noauth)'}


def test_a_request_for_a_host(seeded):
    r = seeded.post('/v1/recoveries', {'contract': 'by-hand',
                                       'host': 'compute-1'})
    assert r.status_code == 202, r.text
    (event,) = _events(seeded)
    assert event['host'] == 'compute-1' and 'servers' not in event


@pytest.mark.parametrize('body, status, field, words', [
    ({'server': 'web-1'}, 400, 'contract', 'is required'),
    ({'contract': 'by-hand'}, 400, 'server', 'not neither'),
    ({'contract': 'by-hand', 'server': 'a', 'host': 'compute-1'}, 400,
     'server', 'not both'),
    ({'contract': 'by-hand', 'server': 5}, 400, 'server', 'non-empty string'),
    ({'contract': 'by-hand', 'server': 'a', 'when': 'now'}, 400, 'when',
     'unknown field'),
    ({'contract': 'nope', 'server': 'a'}, 404, 'contract',
     "no contract named 'nope'"),
    ({'contract': 'web-ha', 'server': 'a'}, 400, 'contract',
     'has trigger host_down; only a contract with trigger manual'),
    ({'contract': 'off', 'server': 'a'}, 409, 'contract', 'is disabled'),
    ({'contract': 'by-hand', 'host': 'compute-9'}, 404, 'host',
     "no host named 'compute-9'"),
])
def test_bad_requests_are_one_clear_error_and_store_nothing(
        seeded, body, status, field, words):
    r = seeded.post('/v1/recoveries', body)
    assert r.status_code == status, r.text
    error = r.json()['error']
    assert error['field'] == field
    assert words in error['message']
    assert '\n' not in error['message']
    assert _events(seeded) == []
