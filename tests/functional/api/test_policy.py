"""Keystone mode: 401 without a token, 403 where oslo.policy says no.

``FakeAuthToken`` stands in for Keystone (keystonemiddleware's auth_token):
like auth_token it drops identity headers a caller sent, and for a known
token sets the headers auth_token sets after validating a token with
Keystone (X-Identity-Status: Confirmed, X-Roles, X-Project-Id, ...). The
policy enforcement under test is the real oslo.policy with VMR's defaults.
"""

import json

import pytest

from tests.support.api_harness import WEBHOOK_TOKEN, start_harness

TOKENS = {
    'admin-token': ('alice', ['admin', 'member', 'reader']),
    'member-token': ('bob', ['member', 'reader']),
    'reader-token': ('carol', ['reader']),
    'guest-token': ('dave', ['guest']),
    # a system-scoped reader (no project): what keystonemiddleware sets
    'system-reader-token': ('erin', ['reader']),
}
IDENTITY_HEADERS = ('HTTP_X_IDENTITY_STATUS', 'HTTP_X_ROLES',
                    'HTTP_X_PROJECT_ID', 'HTTP_X_PROJECT_NAME',
                    'HTTP_X_USER_ID', 'HTTP_X_USER_NAME',
                    'HTTP_OPENSTACK_SYSTEM_SCOPE')


class FakeAuthToken:
    """WSGI filter standing in for keystonemiddleware.auth_token."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        for name in IDENTITY_HEADERS:
            environ.pop(name, None)
        known = TOKENS.get(environ.get('HTTP_X_AUTH_TOKEN'))
        if known is None:
            body = json.dumps({'error': {'code': 401, 'message':
                                         'Authentication required'}})
            start_response('401 Unauthorized', [
                ('Content-Type', 'application/json'),
                ('WWW-Authenticate', "Keystone uri='http://keystone'")])
            return [body.encode()]
        user, roles = known
        environ.update({
            'HTTP_X_IDENTITY_STATUS': 'Confirmed',
            'HTTP_X_ROLES': ','.join(roles),
            'HTTP_X_USER_ID': 'u-' + user, 'HTTP_X_USER_NAME': user})
        if user == 'erin':
            environ['HTTP_OPENSTACK_SYSTEM_SCOPE'] = 'all'
        else:
            environ.update({'HTTP_X_PROJECT_ID': 'p-ops',
                            'HTTP_X_PROJECT_NAME': 'ops'})
        return self.app(environ, start_response)


@pytest.fixture
def kapi(etcd_server):
    harness = start_harness(etcd_server, auth_strategy='keystone',
                            auth_middleware=FakeAuthToken)
    yield harness
    harness.close()


def as_(token):
    return {'X-Auth-Token': token}


def test_no_or_bad_token_is_401(kapi):
    assert kapi.get('/v1/status').status_code == 401
    r = kapi.call('GET', '/v1/status', headers=as_('forged'))
    assert r.status_code == 401
    # Identity headers sent by the caller are not trusted.
    r = kapi.call('POST', '/v1/pause', {}, headers={
        'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin'})
    assert r.status_code == 401
    assert kapi.store.get(kapi.store.keys.pause) is None


CLOUD_PATHS = ('/v1/status', '/v1/hosts', '/v1/contracts', '/v1/segments')


@pytest.mark.parametrize('token', ['admin-token', 'system-reader-token'])
def test_cloud_readers_see_the_cloud(kapi, token):
    for path in CLOUD_PATHS + ('/v1/recoveries',):
        r = kapi.call('GET', path, headers=as_(token))
        assert r.status_code == 200, (path, r.text)


@pytest.mark.parametrize('token', ['reader-token', 'member-token'])
def test_project_readers_see_recoveries_not_the_cloud(kapi, token):
    r = kapi.call('GET', '/v1/recoveries', headers=as_(token))
    assert r.status_code == 200, r.text
    for path in CLOUD_PATHS:
        r = kapi.call('GET', path, headers=as_(token))
        assert r.status_code == 403, (path, r.text)
        assert 'vmr:' in r.json()['error']['message']


def _steps(*projects):
    return [{'server_id': 's%d' % i, 'server_name': 'vm-%d' % i,
             'action': 'evacuate', 'state': 'done',
             'server': {'id': 's%d' % i, 'project_id': project}}
            for i, project in enumerate(projects)]


def test_a_project_reader_sees_only_its_own_servers(kapi):
    kapi.add_recovery('r-mixed', 'compute-1', steps=_steps('p-ops',
                                                           'p-other'))
    kapi.add_recovery('r-theirs', 'compute-2', steps=_steps('p-other'))
    for token in ('member-token', 'reader-token'):
        r = kapi.call('GET', '/v1/recoveries', headers=as_(token))
        assert [x['id'] for x in r.json()['recoveries']] == ['r-mixed']
        assert r.json()['recoveries'][0]['steps'] == 1
        assert r.json()['recoveries'][0]['host'] is None
        r = kapi.call('GET', '/v1/recoveries/r-mixed', headers=as_(token))
        shown = r.json()['recovery']
        assert [s['server_name'] for s in shown['steps']] == ['vm-0']
        assert shown['timeline'] == [] and 'vm-1' not in r.text
        assert 'compute-1' not in r.text and 'ipmi' not in r.text
        # another project's recovery is not there at all
        r = kapi.call('GET', '/v1/recoveries/r-theirs', headers=as_(token))
        assert r.status_code == 404
    # cloud readers see everything
    for token in ('admin-token', 'system-reader-token'):
        r = kapi.call('GET', '/v1/recoveries', headers=as_(token))
        assert sorted(x['id'] for x in r.json()['recoveries']) == [
            'r-mixed', 'r-theirs']
        r = kapi.call('GET', '/v1/recoveries/r-mixed', headers=as_(token))
        assert len(r.json()['recovery']['steps']) == 2
        assert r.json()['recovery']['host'] == 'compute-1'


def test_guest_cannot_read(kapi):
    r = kapi.call('GET', '/v1/status', headers=as_('guest-token'))
    assert r.status_code == 403
    assert 'vmr:status:get' in r.json()['error']['message']


@pytest.mark.parametrize('token', ['reader-token', 'member-token'])
def test_only_admin_writes(kapi, token):
    kapi.add_host('compute-1')
    writes = [
        ('POST', '/v1/pause', {}),
        ('POST', '/v1/resume', {}),
        ('POST', '/v1/brake/release', {}),
        ('POST', '/v1/hosts/compute-1/maintenance', {'enabled': True}),
        ('POST', '/v1/hosts/compute-1/confirm-fenced', {}),
        ('POST', '/v1/contracts', {'name': 'x'}),
        ('PUT', '/v1/contracts/x', {'name': 'x'}),
        ('DELETE', '/v1/contracts/x', None),
        ('POST', '/v1/segments', {'name': 'x', 'hosts': ['compute-1']}),
        ('PUT', '/v1/segments/x', {'hosts': ['compute-1']}),
        ('DELETE', '/v1/segments/x', None),
    ]
    for method, path, body in writes:
        r = kapi.call(method, path, body, headers=as_(token))
        assert r.status_code == 403, (method, path, r.text)
    assert kapi.store.get(kapi.store.keys.pause) is None
    assert kapi.store.get(kapi.store.keys.host(
        'compute-1')).json()['maintenance'] is False


def test_cloud_readers_may_validate_with_dry_run(kapi):
    doc = {'name': 'x', 'trigger': {'type': 'host_down'},
           'selector': {'all': True}, 'action': {'type': 'evacuate'}}
    r = kapi.call('POST', '/v1/contracts?dry_run=1', doc,
                  headers=as_('system-reader-token'))
    assert r.status_code == 200, r.text
    r = kapi.call('POST', '/v1/contracts', doc,
                  headers=as_('system-reader-token'))
    assert r.status_code == 403
    # a project reader: a dry run lists every project's matching servers
    r = kapi.call('POST', '/v1/contracts?dry_run=1', doc,
                  headers=as_('reader-token'))
    assert r.status_code == 403


def test_admin_writes_are_recorded_with_the_caller(kapi):
    kapi.add_host('compute-1')
    r = kapi.call('POST', '/v1/pause', {'reason': 'upgrade'},
                  headers=as_('admin-token'))
    assert r.status_code == 200, r.text
    assert kapi.store.get(kapi.store.keys.pause).json()['by'] == 'alice@ops'
    r = kapi.call('POST', '/v1/hosts/compute-1/maintenance',
                  {'enabled': True}, headers=as_('admin-token'))
    assert r.status_code == 200
    assert r.json()['host']['maintenance_by'] == 'alice@ops'


def test_public_endpoints_need_no_keystone_token(kapi):
    assert kapi.get('/healthz').status_code == 200
    assert kapi.get('/readyz').status_code == 200
    assert kapi.get('/metrics').status_code == 200
    assert kapi.get('/v1/openapi.json').status_code == 200
    r = kapi.post('/v1/alarms/aodh', {'alarm_id': 'a', 'alarm_name': 'n',
                                      'current': 'ok'},
                  headers={'X-VMR-Token': WEBHOOK_TOKEN})
    assert r.status_code == 202
    r = kapi.post('/v1/alarms/alertmanager', {}, headers=as_('admin-token'))
    assert r.status_code == 401  # a Keystone token is no webhook token


AODH_BODY = {'alarm_id': 'a1', 'alarm_name': 'vm-down', 'current': 'alarm',
             'previous': 'ok', 'severity': 'critical', 'reason': 'r',
             'reason_data': {}}


def stored_events(api):
    kvs, _ = api.store.get_prefix(api.store.keys.events)
    return [kv.json() for kv in kvs]


def test_aodh_trust_token_passes_keystone_and_the_policy(kapi):
    """Aodh's trust+http actions send the alarm creator's token."""
    r = kapi.post('/v1/alarms/aodh', AODH_BODY, headers=as_('admin-token'))
    assert r.status_code == 202, r.text
    (event,) = stored_events(kapi)
    assert event['authenticated_by'] == 'Keystone token of alice@ops'
    assert event['events'][0]['name'] == 'vm-down'


@pytest.mark.parametrize('token', ['member-token', 'reader-token'])
def test_aodh_token_without_admin_is_403(kapi, token):
    r = kapi.post('/v1/alarms/aodh', AODH_BODY, headers=as_(token))
    assert r.status_code == 403
    assert 'vmr:alarm:aodh' in r.json()['error']['message']
    assert stored_events(kapi) == []


def test_aodh_bad_token_is_401_even_with_the_webhook_token(kapi):
    # A token that is sent is a token that is checked: no fallback.
    r = kapi.post('/v1/alarms/aodh', AODH_BODY, headers=dict(
        as_('forged'), **{'X-VMR-Token': WEBHOOK_TOKEN}))
    assert r.status_code == 401
    assert stored_events(kapi) == []


def test_noauth_api_ignores_claimed_identity_on_webhooks(api):
    r = api.post('/v1/alarms/aodh', AODH_BODY, headers={
        'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin',
        'X-User-Name': 'mallory', 'X-Auth-Token': 'anything'})
    assert r.status_code == 401
    assert stored_events(api) == []
    r = api.post('/v1/alarms/aodh', AODH_BODY,
                 headers={'X-VMR-Token': WEBHOOK_TOKEN})
    assert r.status_code == 202
    assert stored_events(api)[0]['authenticated_by'] == 'token'


def test_real_auth_token_middleware_refuses_a_missing_token(etcd_server):
    """keystonemiddleware itself (no Keystone needed to refuse no token)."""
    api = start_harness(etcd_server, auth_strategy='keystone',
                        keystone_authtoken={
                            'www_authenticate_uri':
                                'http://127.0.0.1:5000/v3'})
    try:
        r = api.get('/v1/status')
        assert r.status_code == 401
        assert 'http://127.0.0.1:5000/v3' in r.headers['WWW-Authenticate']
        assert api.get('/healthz').status_code == 200
    finally:
        api.close()
