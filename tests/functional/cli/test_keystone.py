"""Keystone end to end: the real keystonemiddleware and oslo.policy in the
API, the lab's Keystone v3 issuing and validating tokens, and the CLI
authenticating through clouds.yaml (``--os-cloud``) or ``--os-token``."""

from tests.support.keystone import (check_roles, kapi_fixture,
                                    keystone_lab_fixture, vmr)

lab = keystone_lab_fixture()
kapi = kapi_fixture()


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
