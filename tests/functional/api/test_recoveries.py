"""/v1/recoveries: list with filters, show with steps and timeline."""


def test_list_and_filter(api):
    api.add_recovery('r-1', 'compute-1', state='done', created_at=10.0)
    api.add_recovery('r-2', 'compute-2', state='acting', created_at=20.0)
    api.add_recovery('r-3', 'compute-2', state='blocked', created_at=30.0)
    body = api.get('/v1/recoveries').json()
    # Newest first.
    assert [r['id'] for r in body['recoveries']] == ['r-3', 'r-2', 'r-1']
    first = body['recoveries'][2]
    assert first == {'id': 'r-1', 'host': 'compute-1', 'state': 'done',
                     'trigger': 'host_down', 'created_at': 10.0,
                     'updated_at': 130.0, 'fenced': True, 'steps': 2,
                     'steps_by_state': {'done': 1, 'running': 1}}
    by_host = api.get('/v1/recoveries', host='compute-2').json()
    assert [r['id'] for r in by_host['recoveries']] == ['r-3', 'r-2']
    by_state = api.get('/v1/recoveries', state='blocked', host='compute-2')
    assert [r['id'] for r in by_state.json()['recoveries']] == ['r-3']
    newest = api.get('/v1/recoveries', limit=2).json()['recoveries']
    assert [r['id'] for r in newest] == ['r-3', 'r-2']
    r = api.get('/v1/recoveries', limit=0)
    assert r.status_code == 400 and r.json()['error']['field'] == 'limit'
    r = api.get('/v1/recoveries', state='sleeping')
    assert r.status_code == 400
    assert r.json()['error']['field'] == 'state'


def test_show_has_steps_and_timeline(api):
    record = api.add_recovery('r-1', 'compute-1')
    body = api.get('/v1/recoveries/r-1').json()['recovery']
    assert body == record
    assert body['steps'][0]['request_ids'] == ['req-1']
    assert [t['event'] for t in body['timeline']] == [
        'detected', 'fenced', 'step done']
    assert api.get('/v1/recoveries/r-404').status_code == 404


def test_a_corrupt_journal_record_is_skipped_in_lists(api):
    api.add_recovery('r-1', 'compute-1')
    api.store.put(api.store.keys.recovery('r-bad'), 'not json')
    assert [r['id'] for r in api.get('/v1/recoveries').json()[
        'recoveries']] == ['r-1']
    r = api.get('/v1/recoveries/r-bad')
    assert r.status_code == 500
    assert 'does not hold JSON' in r.json()['error']['message']
