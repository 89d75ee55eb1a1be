"""Alarm webhooks: token or HMAC signature; refused calls store nothing."""

import json

from tests.support.api_harness import WEBHOOK_TOKEN
from vmr_coordinator.api import webhooks

AODH = {'alarm_id': 'a-1', 'alarm_name': 'compute-3-down',
        'current': 'alarm', 'previous': 'ok', 'severity': 'critical',
        'reason': 'nova-compute down',
        'reason_data': {'event': {'event_type': 'compute.down',
                                  'traits': [['host', 1, 'compute-3']]}}}
ALERTMANAGER = {'version': '4', 'status': 'firing', 'alerts': [
    {'status': 'firing', 'fingerprint': 'f1',
     'labels': {'alertname': 'HostDown', 'instance': 'compute-3:9100',
                'severity': 'critical'},
     'annotations': {'summary': 'node exporter gone'}}]}


def events(api):
    kvs, _rev = api.store.get_prefix(api.store.keys.events)
    return [kv.json() for kv in kvs]


def test_aodh_with_the_token_is_stored(api):
    r = api.post('/v1/alarms/aodh', AODH,
                 headers={'X-VMR-Token': WEBHOOK_TOKEN})
    assert r.status_code == 202, r.text
    assert r.json()['alerts'] == 1
    (event,) = events(api)
    assert event['type'] == 'alarm'
    assert event['source'] == 'aodh'
    assert event['body'] == AODH
    assert event['events'][0]['host'] == 'compute-3'
    assert isinstance(event['received_at'], float)
    key = api.store.keys.events + r.json()['event']
    assert api.store.get(key) is not None


def test_alertmanager_with_an_hmac_signature_is_stored(api):
    raw = json.dumps(ALERTMANAGER).encode()
    r = api.call('POST', '/v1/alarms/alertmanager', raw=raw, headers={
        'X-VMR-Signature': webhooks.sign(WEBHOOK_TOKEN, raw)})
    assert r.status_code == 202, r.text
    (event,) = events(api)
    assert event['source'] == 'alertmanager'
    assert event['events'][0]['name'] == 'HostDown'


def test_alertmanager_with_a_bearer_token_or_basic_auth_is_stored(api):
    """What Alertmanager's http_config authorization / basic_auth send."""
    r = api.post('/v1/alarms/alertmanager', ALERTMANAGER, headers={
        'Authorization': 'Bearer ' + WEBHOOK_TOKEN})
    assert r.status_code == 202, r.text
    r = api.http.post(api.url + '/v1/alarms/alertmanager', json=ALERTMANAGER,
                      auth=('alertmanager', WEBHOOK_TOKEN), timeout=10)
    assert r.status_code == 202, r.text
    assert [e['events'][0]['host'] for e in events(api)] == [
        'compute-3', 'compute-3']


def test_bad_credentials_are_401_and_store_nothing(api):
    raw = json.dumps(ALERTMANAGER).encode()
    attempts = [
        {},
        {'X-VMR-Token': 'wrong'},
        {'X-VMR-Token': WEBHOOK_TOKEN + 'x'},
        {'X-VMR-Signature': webhooks.sign('other-secret', raw)},
        {'X-VMR-Signature': 'md5=abc'},
        {'Authorization': 'Bearer wrong'},
        {'Authorization': 'Bearer ' + WEBHOOK_TOKEN[:-1]},
        {'Authorization': 'Basic YWxlcnRtYW5hZ2VyOndyb25n'},
        {'Authorization': 'Token ' + WEBHOOK_TOKEN},
    ]
    for headers in attempts:
        for path in ('/v1/alarms/aodh', '/v1/alarms/alertmanager'):
            r = api.call('POST', path, raw=raw, headers=headers)
            assert r.status_code == 401, (path, headers)
            assert WEBHOOK_TOKEN not in r.text
            assert 'Bearer' in r.headers['WWW-Authenticate']
            assert r.json()['error']['message'].startswith(
                'webhook refused: ')
    # A signature of another body is refused too.
    r = api.call('POST', '/v1/alarms/alertmanager', raw=raw, headers={
        'X-VMR-Signature': webhooks.sign(WEBHOOK_TOKEN, raw + b' ')})
    assert r.status_code == 401
    assert events(api) == []


def test_without_a_configured_token_every_call_is_refused(etcd_server):
    from tests.support.api_harness import start_harness
    api = start_harness(etcd_server, webhook_token=None)
    try:
        r = api.post('/v1/alarms/aodh', AODH,
                     headers={'X-VMR-Token': ''})
        assert r.status_code == 401
        assert 'webhook_token is not set' in r.json()['error']['message']
        assert events(api) == []
    finally:
        api.close()


def test_authentic_but_malformed_bodies_are_400(api):
    token = {'X-VMR-Token': WEBHOOK_TOKEN}
    r = api.call('POST', '/v1/alarms/aodh', raw='{"alarm', headers=token)
    assert r.status_code == 400
    r = api.post('/v1/alarms/aodh', {'alarm_name': 'x'}, headers=token)
    assert r.status_code == 400
    assert 'alarm_id' in r.json()['error']['message']
    r = api.post('/v1/alarms/alertmanager', {'alerts': 'none'},
                 headers=token)
    assert r.status_code == 400
    assert 'alerts' in r.json()['error']['message']
    assert events(api) == []
