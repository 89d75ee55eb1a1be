"""POST /v1/alarms/keepalived: guests' notify hooks report VRRP states.

The body is exactly what the rendered notify.sh sends; the latest state per
pair/instance lands under ``<root>vrrp/<pair>/<instance>`` and shows in
``GET /v1/status``.
"""

import json

from tests.support.api_harness import WEBHOOK_TOKEN
from vmr_coordinator.api import webhooks

TOKEN = {'X-VMR-Token': WEBHOOK_TOKEN}
PATH = '/v1/alarms/keepalived'


def stored(api):
    kvs, _rev = api.store.get_prefix(api.store.keys.root + 'vrrp/')
    return {kv.key[len(api.store.keys.root + 'vrrp/'):]: kv.json() for kv in kvs}


def test_states_are_stored_per_instance_and_shown_in_status(api):
    r = api.post(PATH, {'pair': 'vpn', 'instance': 'vpn-a', 'state': 'MASTER'},
                 headers=TOKEN)
    assert r.status_code == 202, r.text
    assert r.json()['vrrp']['state'] == 'MASTER'
    assert r.json()['vrrp']['previous'] is None
    api.post(PATH, {'pair': 'vpn', 'instance': 'vpn-b', 'state': 'BACKUP'}, headers=TOKEN)
    # The standby takes over: the latest report wins, the previous is kept.
    raw = json.dumps({'pair': 'vpn', 'instance': 'vpn-b', 'state': 'MASTER'}).encode()
    r = api.call('POST', PATH, raw=raw,
                 headers={'X-VMR-Signature': webhooks.sign(WEBHOOK_TOKEN, raw)})
    assert r.status_code == 202, r.text

    keys = stored(api)
    assert set(keys) == {'vpn/vpn-a', 'vpn/vpn-b'}
    assert keys['vpn/vpn-b']['state'] == 'MASTER'
    assert keys['vpn/vpn-b']['previous'] == 'BACKUP'
    assert isinstance(keys['vpn/vpn-b']['received_at'], float)

    vrrp = api.get('/v1/status').json()['vrrp']
    assert {i: r['state'] for i, r in vrrp['vpn'].items()} == \
        {'vpn-a': 'MASTER', 'vpn-b': 'MASTER'}
    assert api.store.get_prefix(api.store.keys.events)[0] == []


def test_status_without_reports_has_an_empty_vrrp_section(api):
    assert api.get('/v1/status').json()['vrrp'] == {}


def test_bad_credentials_are_401_and_store_nothing(api):
    body = {'pair': 'vpn', 'instance': 'vpn-a', 'state': 'MASTER'}
    for headers in ({}, {'X-VMR-Token': 'wrong'}, {'X-VMR-Token': WEBHOOK_TOKEN + 'x'}):
        r = api.post(PATH, body, headers=headers)
        assert r.status_code == 401, headers
        assert WEBHOOK_TOKEN not in r.text
    assert stored(api) == {}


def test_malformed_reports_are_400_naming_the_field(api):
    cases = [
        ({'pair': 'vpn', 'instance': 'vpn-a'}, 'state'),
        ({'pair': 'vpn', 'instance': 'vpn-a', 'state': 'master'}, 'state'),
        ({'pair': '../etc', 'instance': 'vpn-a', 'state': 'MASTER'}, 'pair'),
        ({'pair': 'vpn', 'instance': 'a/b', 'state': 'MASTER'}, 'instance'),
        ({'pair': 'vpn', 'instance': 7, 'state': 'MASTER'}, 'instance'),
        ({'pair': 'vpn', 'instance': 'vpn-a', 'state': 'FAULT', 'prio': 1}, 'prio'),
    ]
    for body, field in cases:
        r = api.post(PATH, body, headers=TOKEN)
        assert r.status_code == 400, body
        assert r.json()['error']['field'] == field, r.text
    r = api.call('POST', PATH, raw='{"pair', headers=TOKEN)
    assert r.status_code == 400
    assert stored(api) == {}
