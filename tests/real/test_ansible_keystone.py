"""The Ansible roles deploy VMR with Keystone auth against real Keystone.

``ansible/site.yml`` (the machinery of
``tests/functional/ansible/test_site.py``: every inventory host is this
machine under its own prefix) with the production default
``vmr_coordinator_api_auth_strategy: keystone`` and the real tier's
Keystone:

* the role registers the service user, its roles and VMR's catalog entry
  with the admin's credentials, writes ``[keystone_authtoken]`` and the
  coordinator's clouds.yaml (the same service user), and the coordinator's
  ``--check`` passes -- made fatal here: a token, Nova at the pinned
  microversion, the admin role, the API's token validation, a fence ladder
  for every host;
* an operator with nothing but clouds.yaml reaches the API through the
  catalog (``vmr --os-cloud``, no ``--url``); no token is a 401, a reader's
  write a 403 naming the rule; ``vmr fence test`` shows each host's fence
  path through the real tier's virtual BMCs;
* a second run changes nothing, the registration included.

Everything the role created in Keystone is deleted afterwards.
"""

import json
import os
import subprocess

import pytest
import requests

from tests.support import ansible_site
from tests.support.keystone import vmr

pytestmark = [pytest.mark.slow,
              pytest.mark.timeout(3600),
              pytest.mark.skipif(ansible_site.unavailable() is not None,
                                 reason=str(ansible_site.unavailable()))]

SERVICE_USER = 'vmr-ansible'
SERVICE_PASSWORD = 'vmr-svc-' + os.urandom(6).hex()
SERVICE_TYPE = 'vmr'


def _fence_profiles(cloud):
    """One profile: each deployed agent's host is the real tier's host of
    the same name, behind its virtual BMC."""
    return {'real': {
        'hosts': {name: {'address': cloud.hosts[name].bmc.address,
                         'port': cloud.hosts[name].bmc.port}
                  for name in ansible_site.AGENTS},
        'ladder': [{'driver': 'ipmi', 'username': cloud.bmc_username,
                    'password': cloud.bmc_password, 'timeout': 10}]}}


def _service_cloud(cloud):
    """clouds.yaml entry of the service user: the coordinator's cloud."""
    return {'vmr': {
        'auth': {'auth_url': cloud.auth_url, 'username': SERVICE_USER,
                 'password': SERVICE_PASSWORD, 'project_name': 'service',
                 'user_domain_name': 'Default',
                 'project_domain_name': 'Default'},
        'region_name': 'RegionOne', 'interface': 'public',
        'identity_api_version': 3}}


def _forget_registration(identity):
    """Delete what the role registered (service, endpoints, user)."""
    for service in [s for s in identity.services()
                    if s.type == SERVICE_TYPE]:
        for endpoint in identity.endpoints(service_id=service.id):
            identity.delete_endpoint(endpoint)
        identity.delete_service(service)
    user = identity.find_user(SERVICE_USER, domain_id='default')
    if user is not None:
        identity.delete_user(user)


def test_roles_deploy_with_keystone_auth_on_real_keystone(cloud, clouds,
                                                          capsys):
    python = ansible_site.venv_python()
    if python is None:
        pytest.skip('no python3 with venv that an unprivileged user can run')
    identity = cloud.conn.identity
    _forget_registration(identity)
    if identity.find_role('service') is None:
        identity.create_role(name='service')
    admin_cloud = dict(cloud.clouds_config()['clouds'][cloud.cloud_name])
    coordinator_vars = {
        'vmr_coordinator_api_auth_strategy': 'keystone',
        'vmr_coordinator_keystone_auth_url': cloud.auth_url,
        'vmr_coordinator_keystone_username': SERVICE_USER,
        'vmr_coordinator_keystone_password': SERVICE_PASSWORD,
        'vmr_coordinator_keystone_interface': 'public',
        'vmr_coordinator_keystone_admin_cloud': admin_cloud,
        'vmr_coordinator_clouds': _service_cloud(cloud),
        'vmr_coordinator_cloud': 'vmr',
        'vmr_coordinator_fence_profiles': _fence_profiles(cloud),
        'vmr_coordinator_check_fatal': True,
    }
    with ansible_site.temporary_deployment(
            coordinator_vars=coordinator_vars,
            users=('vmrtest-ks', 'vmrtest-ks-etcd')) as deployment:
        try:
            _deploy_and_use(deployment, python, cloud, capsys)
        finally:
            _forget_registration(identity)


def _deploy_and_use(deployment, python, cloud, capsys):
    wheel = deployment.build_wheel()
    deployment.write_inventory(wheel, python)
    api = 'http://127.0.0.1:%d' % deployment.api_port

    # 1. install: registration, [keystone_authtoken], --check (fatal) OK
    recap, output, _took = deployment.play('site.yml')
    assert all(r['failed'] == 0 and r['unreachable'] == 0
               for r in recap.values()), recap
    said = ' '.join(output.split())
    assert 'user %s created' % SERVICE_USER in said, output[-4000:]
    assert 'WARNING: vmr_coordinator_api_auth_strategy is noauth' not in said
    for secret in (SERVICE_PASSWORD, cloud.bmc_password,
                   cloud.openstack.admin_password):
        assert secret not in output
    conf = os.path.join(deployment.root(ansible_site.COORDINATOR), 'etc', 'vmr',
                        'vmr-coordinator.conf')
    with open(conf) as fh:
        text = fh.read()
    assert '[keystone_authtoken]' in text and 'auth_strategy = keystone' in text
    # the play ran --check with vmr_coordinator_check_fatal; once more here,
    # to see its verdict
    root = deployment.root(ansible_site.COORDINATOR)
    check = subprocess.run(
        [os.path.join(root, 'opt', 'vmr', 'bin', 'vmr-coordinator'),
         '--config-file', conf, '--check'], capture_output=True, text=True,
        timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().splitlines()[-1] == \
        'vmr-coordinator --check: OK'

    # the catalog has VMR, at this coordinator's API
    identity = cloud.conn.identity
    (service,) = [s for s in identity.services() if s.type == SERVICE_TYPE]
    urls = {e.interface: e.url for e in identity.endpoints(
        service_id=service.id)}
    assert urls == {'public': api, 'internal': api}, urls

    # 2. the API asks for a token; the CLI finds it through the catalog
    ansible_site.wait(lambda: requests.get(api + '/v1/status', timeout=5)
                      .status_code == 401, 60, 'the API to refuse a call '
                      'without a token')
    rc, out, err = vmr(capsys, '--os-cloud', cloud.cloud_name, 'status',
                       '-f', 'json')
    assert rc == 0, err
    status = json.loads(out)
    assert status['leader'] == ansible_site.COORDINATOR, status
    rc, out, err = vmr(capsys, '--os-cloud', cloud.cloud_name + '-reader',
                       'pause')
    assert rc == 1 and 'HTTP 403' in err and 'vmr:cluster:pause' in err, err

    # 3. every host's fence path, through the real tier's BMCs
    for host in ansible_site.AGENTS:
        rc, out, err = vmr(capsys, '--os-cloud', cloud.cloud_name, 'fence',
                           'test', host)
        assert rc == 0, out + err
        assert 'fence path of %s (profile real, tested by %s): ok' % (
            host, ansible_site.COORDINATOR) in out, out
        assert 'ok: power on' in out, out

    # 4. a second run changes nothing, the registration included
    recap, output, _took = deployment.play('site.yml')
    changed = {host: r['changed'] for host, r in recap.items()}
    assert changed == {host: 0 for host in recap}, (changed, output[-4000:])
    assert 'already registered' in ' '.join(output.split())
