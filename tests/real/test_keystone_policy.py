"""The API's keystonemiddleware and oslo.policy with real Keystone tokens.

Real Keystone (fernet tokens, its own policy, the admin/member/reader
roles of ``keystone-manage bootstrap``) issues and validates every token;
the CLI authenticates through clouds.yaml like an operator's would.
"""

import pytest

from tests.support.keystone import (OPENSTACK, check_roles, keystone_api,
                                    openstack, vmr)


@pytest.fixture
def kapi(etcd_server, cloud, clouds):
    # keystonemiddleware caches a validated token for 300 s by default,
    # revoked or not (doc/security.rst): off here.
    harness = keystone_api(etcd_server, cloud.auth_url,
                           cloud.openstack.admin_password,
                           token_cache_time=-1)
    yield harness
    harness.close()


def test_roles_from_real_keystone(kapi, cloud, capsys):
    url = kapi.url
    check_roles(kapi, capsys, 'vmr-real')

    # A project member is no operator either.
    rc, out, err = vmr(capsys, '--os-cloud', 'vmr-real-member', '--url', url,
                       'host', 'maintenance', 'compute-1', '--on')
    assert rc == 1 and 'HTTP 403' in err

    # A token revoked in Keystone stops working at once (token cache off).
    conn = cloud.connect('vmr-real-member')
    token = conn.session.get_token()
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token,
                       'recovery', 'list')
    assert rc == 0, err
    cloud.conn.identity.delete(
        '/auth/tokens', headers={'X-Subject-Token': token})
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token,
                       'recovery', 'list')
    assert rc == 1 and 'HTTP 401' in err


def test_openstack_vmr_through_real_keystones_catalog(kapi, cloud):
    """The OSC plugin (`openstack vmr ...`) finds VMR in real Keystone's
    catalog and runs with real tokens and the API's policy."""
    import json
    import os

    if not os.access(OPENSTACK, os.X_OK):
        pytest.skip('python-openstackclient is not installed')
    identity = cloud.conn.identity
    service = identity.create_service(type='vmr', name='vmr',
                                      description='VMR (test)')
    try:
        for interface in ('public', 'internal'):
            identity.create_endpoint(service_id=service.id, url=kapi.url,
                                     interface=interface,
                                     region_id='RegionOne')
        kapi.add_host('compute-1')
        rc, out, err = openstack('--os-cloud', 'vmr-real', 'vmr', 'status',
                                 '-f', 'json')
        assert rc == 0, err
        assert json.loads(out)['hosts']['by_state']['up'] == 1
        rc, out, err = openstack('--os-cloud', 'vmr-real', 'vmr',
                                 'host', 'list', '-f', 'value', '-c', 'Host')
        assert rc == 0, err
        assert out.split() == ['compute-1']
        rc, out, err = openstack('--os-cloud', 'vmr-real-reader', 'vmr',
                                 'recovery', 'list')
        assert rc == 0, err
        rc, out, err = openstack('--os-cloud', 'vmr-real-reader', 'vmr',
                                 'pause')
        assert rc != 0 and 'HTTP 403' in err and 'vmr:cluster:pause' in err
    finally:
        for endpoint in identity.endpoints(service_id=service.id):
            identity.delete_endpoint(endpoint)
        identity.delete_service(service)


def test_system_reader_and_project_filter_with_real_tokens(kapi, cloud):
    """Real Keystone: a reader with a system-scoped token sees the cloud; a
    project member's token sees only its own project's servers in a
    recovery, and not the hosts."""
    import requests

    identity = cloud.conn.identity
    member_conn = cloud.connect('vmr-real-member')
    member_project = member_conn.current_project_id
    steps = [{'server_id': 's0', 'server_name': 'mine', 'state': 'done',
              'action': 'evacuate', 'server': {'id': 's0',
                                               'project_id': member_project}},
             {'server_id': 's1', 'server_name': 'theirs', 'state': 'done',
              'action': 'evacuate', 'server': {'id': 's1',
                                               'project_id': 'other'}}]
    kapi.add_host('compute-1')
    kapi.add_recovery('r-real', 'compute-1', steps=steps)

    def get(token, path):
        return requests.get(kapi.url + path, timeout=30,
                            headers={'X-Auth-Token': token})

    token = member_conn.session.get_token()
    assert get(token, '/v1/hosts').status_code == 403
    shown = get(token, '/v1/recoveries/r-real').json()['recovery']
    assert [s['server_name'] for s in shown['steps']] == ['mine']

    # a system reader: the role on the system, a system-scoped token
    reader_role = identity.find_role('reader')
    user = identity.create_user(name='vmr-sysreader', password='sys-pw-1',
                                domain_id='default')
    try:
        identity.put('/system/users/%s/roles/%s' % (user.id, reader_role.id))
        body = {'auth': {'identity': {'methods': ['password'], 'password': {
            'user': {'id': user.id, 'password': 'sys-pw-1'}}},
            'scope': {'system': {'all': True}}}}
        r = requests.post(cloud.auth_url + '/auth/tokens', json=body,
                          timeout=30)
        assert r.status_code == 201, r.text
        system_token = r.headers['X-Subject-Token']
        assert get(system_token, '/v1/hosts').status_code == 200
        shown = get(system_token, '/v1/recoveries/r-real').json()['recovery']
        assert len(shown['steps']) == 2
        # and a system reader writes nothing
        r = requests.post(kapi.url + '/v1/pause', json={}, timeout=30,
                          headers={'X-Auth-Token': system_token})
        assert r.status_code == 403
    finally:
        identity.delete_user(user)
