"""Keystone end to end: the real keystonemiddleware and oslo.policy in the
API, the lab's Keystone v3 issuing and validating tokens, and the CLI
authenticating through clouds.yaml (``--os-cloud``) or ``--os-token``."""

import pytest

from tests.support.api_harness import start_harness
from vmr_client import shell


@pytest.fixture
def lab(tmp_path, monkeypatch):
    from vmr_lab.cloud import LabCloud
    cloud = LabCloud(hosts=0, servers=0, bmc=False,
                     state_dir=str(tmp_path / 'lab'))
    cloud.start()
    path = cloud.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', path)
    for name in ('OS_CLOUD', 'OS_TOKEN', 'VMR_URL'):
        monkeypatch.delenv(name, raising=False)
    try:
        yield cloud
    finally:
        cloud.stop()


def keystone_api(etcd_server, auth_url, admin_password, **options):
    """The API behind keystonemiddleware, validating tokens with the
    Keystone at ``auth_url`` as its admin; ``options`` are more
    ``[keystone_authtoken]`` settings."""
    return start_harness(etcd_server, auth_strategy='keystone',
                         keystone_authtoken=dict({
                             'auth_type': 'password',
                             'auth_url': auth_url,
                             'username': 'admin',
                             'password': admin_password,
                             'project_name': 'admin',
                             'user_domain_name': 'Default',
                             'project_domain_name': 'Default',
                             'www_authenticate_uri': auth_url}, **options))


@pytest.fixture
def kapi(etcd_server, lab):
    from vmr_lab.cloud import ADMIN_PASSWORD
    harness = keystone_api(etcd_server, lab.auth_url, ADMIN_PASSWORD)
    yield harness
    harness.close()


def vmr(capsys, *argv):
    capsys.readouterr()
    rc = shell.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def check_roles(kapi, capsys, cloud):
    """What any Keystone in front of the API must give: 401 without a
    token; the admin (clouds.yaml entry ``cloud``) reads the cloud; the
    project reader (``<cloud>-reader``) reads recoveries but not hosts,
    and is refused a write, by the policy rule's name; the admin's write is
    journaled with who did it."""
    url = kapi.url
    kapi.add_host('compute-1')

    rc, out, err = vmr(capsys, '--url', url, 'status')
    assert rc == 1 and 'HTTP 401' in err

    rc, out, err = vmr(capsys, '--os-cloud', cloud, '--url', url,
                       'status', '-f', 'value', '-c', 'hosts')
    assert rc == 0, err
    assert out.strip() == '1 (up=1)'

    # a project reader sees recoveries (its project's), not the cloud
    reader = cloud + '-reader'
    rc, out, err = vmr(capsys, '--os-cloud', reader, '--url', url,
                       'recovery', 'list', '-f', 'value', '-c', 'ID')
    assert rc == 0, err
    rc, out, err = vmr(capsys, '--os-cloud', reader, '--url', url,
                       'host', 'list')
    assert rc == 1
    assert 'HTTP 403' in err and 'vmr:host:list' in err

    rc, out, err = vmr(capsys, '--os-cloud', reader, '--url', url, 'pause')
    assert rc == 1
    assert 'HTTP 403' in err and 'vmr:cluster:pause' in err
    assert kapi.store.get(kapi.store.keys.pause) is None

    rc, out, err = vmr(capsys, '--os-cloud', cloud, '--url', url,
                       'pause', '--reason', 'keystone test')
    assert rc == 0, err
    assert kapi.store.get(kapi.store.keys.pause).json()['by'] == \
        'admin@admin'


def test_cli_through_keystone(kapi, lab, capsys):
    url = kapi.url
    check_roles(kapi, capsys, 'vmr-lab')

    token = lab.keystone.issue_token('demo', 'demo')
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token, 'host',
                       'maintenance', 'compute-1', '--on')
    assert rc == 1 and 'HTTP 403' in err
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token,
                       'recovery', 'list', '-f', 'json')
    assert rc == 0, err
    rc, out, err = vmr(capsys, '--url', url, '--os-token', token, 'status')
    assert rc == 1 and 'vmr:status:get' in err


def test_unknown_cloud_is_one_clear_line(lab, capsys):
    rc, out, err = vmr(capsys, '--os-cloud', 'nope', '--url',
                       'http://127.0.0.1:9', 'status')
    assert rc == 1
    assert "cloud 'nope'" in err
    assert 'Traceback' not in err
