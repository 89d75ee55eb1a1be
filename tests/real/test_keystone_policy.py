"""The API's keystonemiddleware and oslo.policy with real Keystone tokens.

Real Keystone (fernet tokens, its own policy, the admin/member/reader
roles of ``keystone-manage bootstrap``) issues and validates every token;
the CLI authenticates through clouds.yaml like an operator's would.
"""

import pytest

from tests.functional.cli.test_keystone import check_roles, keystone_api, vmr


@pytest.fixture
def clouds(cloud, tmp_path, monkeypatch):
    path = cloud.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', path)
    for name in ('OS_CLOUD', 'OS_TOKEN', 'VMR_URL'):
        monkeypatch.delenv(name, raising=False)
    return path


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
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token, 'status')
    assert rc == 0, err
    cloud.conn.identity.delete(
        '/auth/tokens', headers={'X-Subject-Token': token})
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token, 'status')
    assert rc == 1 and 'HTTP 401' in err


def test_openstack_vmr_through_real_keystones_catalog(kapi, cloud):
    """The OSC plugin (`openstack vmr ...`) finds VMR in real Keystone's
    catalog and runs with real tokens and the API's policy."""
    import json
    import os

    from tests.functional.cli.test_osc import OPENSTACK, openstack
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
        rc, out, err = openstack('--os-cloud', 'vmr-real-reader', 'vmr',
                                 'host', 'list', '-f', 'value', '-c', 'Host')
        assert rc == 0, err
        assert out.split() == ['compute-1']
        rc, out, err = openstack('--os-cloud', 'vmr-real-reader', 'vmr',
                                 'pause')
        assert rc != 0 and 'HTTP 403' in err and 'vmr:cluster:pause' in err
    finally:
        for endpoint in identity.endpoints(service_id=service.id):
            identity.delete_endpoint(endpoint)
        identity.delete_service(service)
