"""/v1/hosts: list, show, maintenance (compare-and-swap), confirm-fenced."""

from vmr_common.store import Store


def test_list_hosts_with_live_membership(api):
    api.add_host('compute-1')
    api.add_host('compute-2', state='failed', recovery='r-1')
    api.add_member('compute-1', boot_id='b-compute-1')
    body = api.get('/v1/hosts').json()
    assert body['members'] == ['compute-1']
    hosts = {h['host']: h for h in body['hosts']}
    assert hosts['compute-1']['live'] is True
    assert hosts['compute-1']['state'] == 'up'
    assert hosts['compute-2'] == {
        'host': 'compute-2', 'state': 'failed', 'state_since': 2.0,
        'reason': 'seeded by the test', 'live': False, 'enabled': True,
        'maintenance': False, 'zone': 'az1', 'recovery': 'r-1'}
    failed = api.get('/v1/hosts', state='failed').json()['hosts']
    assert [h['host'] for h in failed] == ['compute-2']
    r = api.get('/v1/hosts', state='sleepy')
    assert r.status_code == 400
    assert r.json()['error']['field'] == 'state'


def test_show_host_includes_the_agents_facts(api):
    api.add_host('compute-1')
    api.add_member('compute-1', boot_id='b-compute-1', version='0.1.0')
    body = api.get('/v1/hosts/compute-1').json()
    assert body['host']['agent']['boot_id'] == 'b-compute-1'
    assert body['host']['live'] is True
    assert body['member']['version'] == '0.1.0'
    assert api.get('/v1/hosts/compute-9').status_code == 404


def test_maintenance_on_and_off_touches_only_its_fields(api):
    record = api.add_host('compute-1', state='suspect', flaps=[1.0])
    r = api.post('/v1/hosts/compute-1/maintenance',
                 {'enabled': True, 'reason': 'replace DIMM'})
    assert r.status_code == 200, r.text
    stored = api.store.get(api.store.keys.host('compute-1')).json()
    assert stored['maintenance'] is True
    assert stored['maintenance_reason'] == 'replace DIMM'
    assert stored['maintenance_by'] == 'anonymous (noauth)'
    assert isinstance(stored['maintenance_at'], float)
    untouched = {k: v for k, v in stored.items()
                 if not k.startswith('maintenance')}
    assert untouched == {k: v for k, v in record.items()
                         if k != 'maintenance'}

    r = api.post('/v1/hosts/compute-1/maintenance', {'enabled': False})
    assert r.status_code == 200
    assert api.store.get(api.store.keys.host(
        'compute-1')).json()['maintenance'] is False


def test_maintenance_bad_bodies(api):
    api.add_host('compute-1')
    for body, field in (({}, 'enabled'), ({'enabled': 'yes'}, 'enabled'),
                        ({'enabled': True, 'reason': 5}, 'reason'),
                        ({'enabled': True, 'color': 'red'}, 'color')):
        r = api.post('/v1/hosts/compute-1/maintenance', body)
        assert r.status_code == 400, body
        assert r.json()['error']['field'] == field
        assert field in r.json()['error']['message']
    r = api.call('POST', '/v1/hosts/compute-1/maintenance', raw='not json')
    assert r.status_code == 400
    r = api.post('/v1/hosts/compute-9/maintenance', {'enabled': True})
    assert r.status_code == 404


class LeaderRacingStore(Store):
    """A real store whose reads are followed by a write of the leader.

    It stands for the leader updating the host record between the API's
    read and its write: the compare on mod_revision must refuse the API's
    first attempt, and the retry must keep the leader's change.
    """

    races = 1

    def get(self, key):
        kv = super().get(key)
        if kv is not None and '/hosts/' in key and self.races:
            self.races -= 1
            data = kv.json()
            data['state'] = 'partitioned'
            data['reason'] = 'written by the leader meanwhile'
            self.put(key, data)
        return kv


def test_maintenance_is_a_compare_and_swap(etcd_server):
    from tests.support.api_harness import start_harness
    api = start_harness(etcd_server, store_cls=LeaderRacingStore)
    try:
        api.add_host('compute-1', state='suspect')
        r = api.post('/v1/hosts/compute-1/maintenance',
                     {'enabled': True, 'reason': 'race'})
        assert r.status_code == 200, r.text
        stored = api.store.get(api.store.keys.host('compute-1')).json()
        assert stored['maintenance'] is True
        # The leader's write survived: the API did not overwrite it.
        assert stored['state'] == 'partitioned'
        assert stored['reason'] == 'written by the leader meanwhile'
    finally:
        api.close()


def test_confirm_fenced_writes_a_request_for_the_leader(api):
    api.add_host('compute-2', state='blocked')
    r = api.post('/v1/hosts/compute-2/confirm-fenced',
                 {'reason': 'pulled the power cord'})
    assert r.status_code == 202, r.text
    kv = api.store.get(api.store.keys.root + 'requests/confirm-fenced/'
                       'compute-2')
    request = kv.json()
    assert request['reason'] == 'pulled the power cord'
    assert request['by'] == 'anonymous (noauth)'
    assert isinstance(request['at'], float)


def test_confirm_fenced_refuses_a_live_host_and_unknown_hosts(api):
    api.add_host('compute-1')
    api.add_member('compute-1')
    r = api.post('/v1/hosts/compute-1/confirm-fenced', {})
    assert r.status_code == 409
    assert 'alive' in r.json()['error']['message']
    assert api.store.get(api.store.keys.root + 'requests/confirm-fenced/'
                         'compute-1') is None
    assert api.post('/v1/hosts/nope/confirm-fenced').status_code == 404


def test_maintenance_on_warns_when_no_contract_drains(api):
    api.add_host('compute-1')
    r = api.post('/v1/hosts/compute-1/maintenance', {'enabled': True})
    assert r.status_code == 200
    assert 'no enabled contract has trigger maintenance' in r.json()[
        'warning']
    api.store.put(api.store.keys.contract('drain'), {
        'name': 'drain', 'trigger': {'type': 'maintenance'},
        'selector': {'all': True}, 'action': {'type': 'live_migrate'}})
    r = api.post('/v1/hosts/compute-1/maintenance', {'enabled': True})
    assert 'warning' not in r.json()
