"""The API's keystonemiddleware and oslo.policy with real Keystone tokens.

Real Keystone (fernet tokens, its own policy, the admin/member/reader
roles of ``keystone-manage bootstrap``) issues and validates every token;
the CLI authenticates through clouds.yaml like an operator's would.
"""

import pytest

from tests.functional.api.conftest import start_harness
from vmr_client import shell


@pytest.fixture
def clouds(cloud, tmp_path, monkeypatch):
    path = cloud.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', path)
    for name in ('OS_CLOUD', 'OS_TOKEN', 'VMR_URL'):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def kapi(etcd_server, cloud, clouds):
    harness = start_harness(etcd_server, auth_strategy='keystone',
                            keystone_authtoken={
                                'auth_type': 'password',
                                'auth_url': cloud.auth_url,
                                'username': 'admin',
                                'password': cloud.openstack.admin_password,
                                'project_name': 'admin',
                                'user_domain_name': 'Default',
                                'project_domain_name': 'Default',
                                'www_authenticate_uri': cloud.auth_url,
                                # keystonemiddleware caches a validated
                                # token for 300 s by default, revoked or
                                # not (doc/security.rst): off here.
                                'token_cache_time': -1})
    yield harness
    harness.close()


def vmr(capsys, *argv):
    capsys.readouterr()
    rc = shell.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_roles_from_real_keystone(kapi, cloud, capsys):
    url = kapi.url
    kapi.add_host('compute-1')

    rc, out, err = vmr(capsys, '--url', url, 'status')
    assert rc == 1 and 'HTTP 401' in err

    rc, out, err = vmr(capsys, '--os-cloud', 'vmr-real', '--url', url,
                       'status', '-f', 'value', '-c', 'hosts')
    assert rc == 0, err
    assert out.strip() == '1 (up=1)'

    # A reader reads, and is refused a write by the policy rule's name.
    rc, out, err = vmr(capsys, '--os-cloud', 'vmr-real-reader', '--url', url,
                       'host', 'list', '-f', 'value', '-c', 'Host')
    assert rc == 0, err
    assert out.split() == ['compute-1']
    rc, out, err = vmr(capsys, '--os-cloud', 'vmr-real-reader', '--url', url,
                       'pause')
    assert rc == 1
    assert 'HTTP 403' in err and 'vmr:cluster:pause' in err
    assert kapi.store.get(kapi.store.keys.pause) is None

    # A project member is no operator either.
    rc, out, err = vmr(capsys, '--os-cloud', 'vmr-real-member', '--url', url,
                       'host', 'maintenance', 'compute-1', '--on')
    assert rc == 1 and 'HTTP 403' in err

    # The admin's write is journaled with who did it.
    rc, out, err = vmr(capsys, '--os-cloud', 'vmr-real', '--url', url,
                       'pause', '--reason', 'real keystone test')
    assert rc == 0, err
    assert kapi.store.get(kapi.store.keys.pause).json()['by'] == \
        'admin@admin'

    # A token revoked in Keystone stops working at once (token cache off).
    conn = cloud.connect('vmr-real-member')
    token = conn.session.get_token()
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token, 'status')
    assert rc == 0, err
    cloud.conn.identity.delete(
        '/auth/tokens', headers={'X-Subject-Token': token})
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token, 'status')
    assert rc == 1 and 'HTTP 401' in err
