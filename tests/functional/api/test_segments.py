"""/v1/segments against a real etcd: CRUD, validation, one segment per host."""

RACK_A = {'name': 'rack-a', 'hosts': ['compute-1', 'compute-2'],
          'reserved_hosts': ['compute-9'], 'recovery_method': 'rh_priority'}


def test_create_list_show_replace_delete(api):
    r = api.post('/v1/segments', RACK_A)
    assert r.status_code == 201, r.text
    stored = r.json()['segment']
    assert stored == dict(RACK_A, description='', aggregate=None,
                          availability_zone=None, enabled=True)
    kv = api.store.get(api.store.keys.segment('rack-a'))
    assert kv.json() == stored
    assert api.get('/v1/segments').json() == {'segments': [stored]}
    assert api.get('/v1/segments/rack-a').json() == {'segment': stored}

    r = api.call('PUT', '/v1/segments/rack-a',
                 dict(RACK_A, recovery_method='auto'))
    assert r.status_code == 200, r.text
    assert api.store.get(kv.key).json()['recovery_method'] == 'auto'

    assert api.call('DELETE', '/v1/segments/rack-a').status_code == 204
    assert api.store.get(kv.key) is None
    assert api.call('DELETE', '/v1/segments/rack-a').status_code == 404
    assert api.get('/v1/segments/rack-a').status_code == 404


def test_put_creates_with_the_name_from_the_url(api):
    r = api.call('PUT', '/v1/segments/rack-b', {'aggregate': 'rack-b'})
    assert r.status_code == 201, r.text
    assert r.json()['segment']['name'] == 'rack-b'
    r = api.call('PUT', '/v1/segments/rack-c', RACK_A)
    assert r.status_code == 400
    assert r.json()['error']['field'] == 'name'


def test_create_twice_is_a_conflict(api):
    assert api.post('/v1/segments', RACK_A).status_code == 201
    r = api.post('/v1/segments', RACK_A)
    assert r.status_code == 409
    assert 'PUT /v1/segments/rack-a' in r.json()['error']['message']


def test_a_host_belongs_to_one_segment(api):
    assert api.post('/v1/segments', RACK_A).status_code == 201
    r = api.post('/v1/segments', {'name': 'rack-b',
                                  'hosts': ['compute-3', 'compute-9']})
    assert r.status_code == 409
    assert r.json()['error'] == {
        'code': 409, 'field': 'hosts',
        'message': 'host compute-9 is in segment rack-a already; a host '
                   'recovers inside one segment only'}
    assert api.store.get(api.store.keys.segment('rack-b')) is None


def test_a_wrong_segment_is_400_naming_the_field(api):
    r = api.post('/v1/segments', {'name': 'rack-a', 'hosts': ['compute-1'],
                                  'recovery_method': 'reserved_host'})
    assert r.status_code == 400
    assert r.json()['error']['field'] == 'reserved_hosts'
    assert 'needs reserved_hosts' in r.json()['error']['message']
    r = api.call('POST', '/v1/segments', raw=b'{not json')
    assert r.status_code == 400


def test_a_corrupt_record_is_skipped_not_fatal(api):
    api.store.put(api.store.keys.segment('broken'), {'name': 'broken'})
    assert api.post('/v1/segments', RACK_A).status_code == 201
    names = [s['name'] for s in api.get('/v1/segments').json()['segments']]
    assert names == ['rack-a']
