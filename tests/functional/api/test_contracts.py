"""/v1/contracts against a real etcd: CRUD, dry run, validation errors."""

import json

WEB_HA = {'name': 'web-ha', 'priority': 200,
          'trigger': {'type': 'host_down'},
          'selector': {'metadata': {'ha': 'true'}},
          'action': {'type': 'evacuate'},
          'on_failure': [{'type': 'boot_from_snapshot'}]}


def test_create_list_show_replace_delete(api):
    r = api.post('/v1/contracts', WEB_HA)
    assert r.status_code == 201, r.text
    assert r.headers['Location'].endswith('/v1/contracts/web-ha')
    stored = r.json()['contract']
    # Stored with every default filled in, as the leader will parse it.
    assert stored['limits']['concurrency'] == 10
    kv = api.store.get(api.store.keys.contract('web-ha'))
    assert kv.json() == stored

    assert api.get('/v1/contracts').json() == {'contracts': [stored]}
    assert api.get('/v1/contracts/web-ha').json() == {'contract': stored}

    changed = dict(WEB_HA, priority=50)
    r = api.call('PUT', '/v1/contracts/web-ha', changed)
    assert r.status_code == 200, r.text
    assert api.store.get(kv.key).json()['priority'] == 50

    r = api.call('DELETE', '/v1/contracts/web-ha')
    assert r.status_code == 204
    assert api.store.get(kv.key) is None
    assert api.call('DELETE', '/v1/contracts/web-ha').status_code == 404


def test_put_creates_and_takes_the_name_from_the_url(api):
    doc = {k: v for k, v in WEB_HA.items() if k != 'name'}
    r = api.call('PUT', '/v1/contracts/db-ha', doc)
    assert r.status_code == 201, r.text
    assert r.json()['contract']['name'] == 'db-ha'


def test_put_refuses_a_different_name(api):
    r = api.call('PUT', '/v1/contracts/other', WEB_HA)
    assert r.status_code == 400
    assert r.json()['error']['field'] == 'name'


def test_create_twice_is_a_conflict(api):
    assert api.post('/v1/contracts', WEB_HA).status_code == 201
    r = api.post('/v1/contracts', WEB_HA)
    assert r.status_code == 409
    assert 'PUT /v1/contracts/web-ha' in r.json()['error']['message']


def test_dry_run_validates_without_storing(api):
    r = api.post('/v1/contracts?dry_run=1', WEB_HA)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body['dry_run'] is True
    assert body['contract']['name'] == 'web-ha'
    assert api.store.get(api.store.keys.contract('web-ha')) is None


def test_yaml_body_is_accepted(api):
    text = ('name: from-yaml\ntrigger: {type: host_down}\n'
            'selector: {all: true}\naction: {type: evacuate}\n')
    r = api.call('POST', '/v1/contracts', raw=text,
                 headers={'Content-Type': 'application/yaml'})
    assert r.status_code == 201, r.text
    assert r.json()['contract']['name'] == 'from-yaml'


def test_invalid_contract_names_the_field(api):
    bad = dict(WEB_HA, action={'type': 'evacuat'})
    r = api.post('/v1/contracts', bad)
    assert r.status_code == 400
    error = r.json()['error']
    assert error['code'] == 400
    assert error['field'] == 'action.type'
    assert 'evacuate' in error['message']
    assert api.store.get(api.store.keys.contract('web-ha')) is None


def test_malformed_json_is_a_400(api):
    r = api.call('POST', '/v1/contracts', raw='{"name": ')
    assert r.status_code == 400
    assert 'not valid JSON' in r.json()['error']['message']
    r = api.call('POST', '/v1/contracts', raw=json.dumps([1, 2]))
    assert r.status_code == 400
    assert 'JSON object' in r.json()['error']['message']


def test_unknown_contract_is_a_404(api):
    r = api.get('/v1/contracts/nope')
    assert r.status_code == 404
    assert r.json() == {'error': {'code': 404,
                                  'message': "no contract named 'nope'"}}
