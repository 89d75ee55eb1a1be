"""/v1/recoveries: list with filters, show with steps and timeline, the
history (list, show, purge)."""

from tests.support.api_harness import archive


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
                     'updated_at': 130.0, 'archived_at': None,
                     'fenced': True, 'steps': 2,
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


def test_list_and_show_a_record_whose_steps_have_their_own_keys(api):
    """Journal format 2 keeps each step below steps/<id>/: the API puts
    them back, the same record as format 1 shows."""
    from vmr_coordinator import journal as journal_mod
    record = api.add_recovery('r-2', 'compute-1', format=2)
    doc, steps = journal_mod.split(record)
    api.store.put(api.store.keys.recovery('r-2'), doc)
    for i, step in enumerate(steps):
        api.store.put(api.store.keys.step('r-2', i), step)
    body = api.get('/v1/recoveries/r-2').json()['recovery']
    assert body['steps'] == record['steps']
    (listed,) = api.get('/v1/recoveries').json()['recoveries']
    assert listed['steps'] == 2
    assert listed['steps_by_state'] == {'done': 1, 'running': 1}


def test_a_corrupt_journal_record_is_skipped_in_lists(api):
    api.add_recovery('r-1', 'compute-1')
    api.store.put(api.store.keys.recovery('r-bad'), 'not json')
    assert [r['id'] for r in api.get('/v1/recoveries').json()[
        'recoveries']] == ['r-1']
    r = api.get('/v1/recoveries/r-bad')
    assert r.status_code == 500
    assert 'does not hold JSON' in r.json()['error']['message']


def test_the_history_is_listed_only_when_asked(api):
    api.add_recovery('r-open', 'compute-1', created_at=50.0)
    archive(api, 'r-old', 'compute-2', 500.0, created_at=10.0)
    archive(api, 'r-older', 'compute-2', 400.0, created_at=5.0)
    listed = api.get('/v1/recoveries').json()['recoveries']
    assert [r['id'] for r in listed] == ['r-open']
    listed = api.get('/v1/recoveries', history='true').json()['recoveries']
    assert [(r['id'], r['archived_at']) for r in listed] == [
        ('r-open', None), ('r-old', 500.0), ('r-older', 400.0)]
    # With a limit, the last archived ones are read, not the whole history.
    listed = api.get('/v1/recoveries', history='true', limit=2).json()
    assert [r['id'] for r in listed['recoveries']] == ['r-open', 'r-old']
    r = api.get('/v1/recoveries', history='yes')
    assert r.status_code == 400 and r.json()['error']['field'] == 'history'
    # show finds an archived recovery too
    shown = api.get('/v1/recoveries/r-old').json()['recovery']
    assert shown['state'] == 'done' and shown['archived_at'] == 500.0


def test_purge_deletes_from_the_history_only(api):
    keys = api.store.keys
    api.add_recovery('r-open', 'compute-1')
    archive(api, 'r-old', 'compute-2', 500.0, incident='d' * 32)
    api.store.put(keys.incident('d' * 32), {'recovery': 'r-old'})
    r = api.call('DELETE', '/v1/recoveries/r-open')
    assert r.status_code == 409
    assert 'still in the journal' in r.json()['error']['message']
    assert api.store.get(keys.recovery('r-open')) is not None
    r = api.call('DELETE', '/v1/recoveries/r-old')
    assert r.status_code == 204
    assert api.store.get(keys.archived('r-old')) is None
    # its incident is forgotten with it
    assert api.store.get(keys.incident('d' * 32)) is None
    assert api.call('DELETE', '/v1/recoveries/r-old').status_code == 404
