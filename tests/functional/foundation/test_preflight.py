"""``vmr-coordinator --check`` and ``vmr-agent --check`` against real things.

A real etcd, the lab's OpenStack simulator (Keystone, Nova, Glance) and its
virtual IPMI BMCs: a clean setup passes with rc 0; each bad input gives one
line naming the thing and the fix (doc/troubleshooting.rst lists them) and
rc 1.
"""

import os
import subprocess
import sys
import textwrap
import uuid

import pytest
import yaml

from tests.labfixtures import conn_fixture, lab_fixture
from vmr_common.store import Store

lab = lab_fixture(hosts=2, delays=None)
conn = conn_fixture()


def run(module, conf_path, *args):
    return subprocess.run(
        [sys.executable, '-c', 'import sys, %s as m; sys.exit(m.main())'
         % module, '--config-file', conf_path, '--check'] + list(args),
        capture_output=True, text=True, timeout=60)


def problems_of(result):
    return [line[len('problem: '):] for line in result.stdout.splitlines()
            if line.startswith('problem: ')]


class Setup:
    """Files of one coordinator: config, fence profiles, clouds.yaml."""

    def __init__(self, tmp_path, etcd_server, lab):
        self.tmp = tmp_path
        self.lab = lab
        self.cluster = 'pf' + uuid.uuid4().hex[:8]
        self.store = Store([etcd_server.endpoint], cluster=self.cluster)
        self.endpoint = etcd_server.endpoint
        self.clouds = lab.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
        self.profiles = str(tmp_path / 'fence-profiles.yaml')
        self.boot_id = str(tmp_path / 'boot_id')
        with open(self.boot_id, 'w') as f:
            f.write('boot-of-this-agent')
        self.write_profiles()
        for name in lab.hosts:
            self.store.put(self.store.keys.host(name),
                           {'host': name, 'state': 'up'})

    def write_profiles(self, driver='ipmi', mode=0o600, hosts=None):
        hosts = hosts if hosts is not None else {
            name: {'address': h.bmc.address, 'port': h.bmc.port}
            for name, h in self.lab.hosts.items()}
        data = {'profiles': {'lab': {
            'hosts': hosts,
            'ladder': [{'driver': driver, 'username': self.lab.bmc_username,
                        'password': self.lab._bmc_password, 'timeout': 4}]}}}
        with open(self.profiles, 'w') as f:
            yaml.safe_dump(data, f)
        os.chmod(self.profiles, mode)

    def conf(self, extra='', cloud='vmr-lab', host='ctl-1', authtoken=None):
        authtoken = self.authtoken() if authtoken is None else authtoken
        path = str(self.tmp / ('%s.conf' % uuid.uuid4().hex[:6]))
        with open(path, 'w') as f:
            f.write(textwrap.dedent('''\
                [DEFAULT]
                host = {host}
                [etcd]
                endpoints = {endpoint}
                cluster = {cluster}
                [fencing]
                profiles_file = {profiles}
                [cloud]
                cloud = {cloud}
                clouds_yaml = {clouds}
                [agent]
                boot_id_file = {boot_id}
                ''').format(host=host, endpoint=self.endpoint,
                            cluster=self.cluster, profiles=self.profiles,
                            cloud=cloud, clouds=self.clouds,
                            boot_id=self.boot_id) + authtoken + extra)
        return path

    def authtoken(self, password=None):
        """``[keystone_authtoken]`` of the API's service user (the lab's
        admin) in the lab's Keystone."""
        from vmr_lab.cloud import ADMIN_PASSWORD
        return textwrap.dedent('''\
            [keystone_authtoken]
            auth_type = password
            auth_url = {url}
            www_authenticate_uri = {url}
            username = admin
            password = {password}
            project_name = admin
            user_domain_name = Default
            project_domain_name = Default
            ''').format(url=self.lab.auth_url,
                        password=password or ADMIN_PASSWORD)

    def add_contract(self, name, action, trigger='instance_down'):
        self.store.put(self.store.keys.contract(name), {
            'name': name, 'trigger': {'type': trigger},
            'selector': {'metadata': {'ha': 'true'}}, 'action': action})


@pytest.fixture
def setup(tmp_path, etcd_server, lab):
    return Setup(tmp_path, etcd_server, lab)


def test_clean_coordinator_passes(setup, conn):
    image = next(conn.image.images())
    setup.add_contract('rebuild-it', {'type': 'rebuild',
                                      'params': {'image': image.name}})
    result = run('vmr_coordinator.cmd', setup.conf())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == \
        'vmr-coordinator --check: OK'


def test_every_coordinator_problem_is_one_line(setup):
    # a typo in a driver, a world-readable file (reported first: the file
    # is not even read), a host etcd knows but no profile covers, a cloud
    # that does not exist, a contract naming a missing image, a typo'd option
    setup.add_contract('rebuild-it', {'type': 'rebuild',
                                      'params': {'image': 'no-such-image'}})
    # 'newest_snapshot' is resolved per server when healing: not an image
    # name to look up (the shipped example contract uses it)
    setup.add_contract('snapshot-it', {
        'type': 'boot_from_snapshot', 'params': {'image': 'newest_snapshot'}})
    setup.write_profiles(driver='ipmy')
    result = run('vmr_coordinator.cmd', setup.conf('[heartbeat]\nttll = 3\n'))
    assert result.returncode == 1
    found = problems_of(result)
    assert 'Traceback' not in result.stdout + result.stderr
    conf_line = [p for p in found if 'ttll' in p]
    assert conf_line and conf_line[0].startswith(
        'unknown option [heartbeat] ttll in ') and conf_line[0].endswith(
        '(did you mean ttl?); rename or remove it')
    assert any("no fencer named 'ipmy'" in p and p.endswith(
        'did you mean ipmi?') for p in found), found
    assert result.stdout.strip().splitlines()[-1] == \
        'vmr-coordinator --check: %d problems' % len(found)

    setup.write_profiles(mode=0o644)
    found = problems_of(run('vmr_coordinator.cmd', setup.conf()))
    assert found == ['fence profiles file %s has mode 0644: it holds BMC '
                     'credentials and must not be accessible to group or '
                     'others; fix: chmod 0600 %s'
                     % (setup.profiles, setup.profiles),
                     "contract rebuild-it, action rebuild: Glance image "
                     "'no-such-image' not found; fix params.image or "
                     "create it"]

    setup.write_profiles(hosts={'compute-1': {
        'address': '127.0.0.1',
        'port': setup.lab.hosts['compute-1'].bmc.port}})
    setup.store.delete(setup.store.keys.contract('rebuild-it'))
    found = problems_of(run('vmr_coordinator.cmd',
                            setup.conf(cloud='no-such-cloud')))
    assert found[0] == (
        "host compute-2 (known in etcd) has no fence profile in %s: list it "
        "under a profile's hosts or add a 'default' profile"
        % setup.profiles)
    assert found[1].startswith("cannot load cloud 'no-such-cloud' from ")
    assert found[1].endswith('check [cloud] cloud and clouds_yaml')
    assert len(found) == 2


def test_cloud_microversion_and_role(setup):
    found = problems_of(run('vmr_coordinator.cmd', setup.conf(
        '[cloud]\ncompute_microversion = 2.999\n')))
    assert found == ['Nova does not support the pinned microversion 2.999 '
                     '([cloud] compute_microversion), it offers 2.1 to 2.96: '
                     'set one Nova offers (VMR needs >= 2.53)']
    found = problems_of(run('vmr_coordinator.cmd',
                            setup.conf(cloud='vmr-lab-member')))
    assert len(found) == 1 and found[0].startswith(
        "[cloud] cloud 'vmr-lab-member': its user has the roles ")
    assert found[0].endswith("but VMR needs 'admin' (evacuate, force-down "
                             "and every project's servers); grant it with "
                             "openstack role add")


def test_api_token_validation(setup):
    # the production default (keystone) without [keystone_authtoken]: the
    # API could validate no token
    found = problems_of(run('vmr_coordinator.cmd', setup.conf(authtoken='')))
    assert len(found) == 1 and found[0].startswith(
        '[api] auth_strategy = keystone but [keystone_authtoken] has no '
        'auth_type: '), found
    # a service user Keystone refuses; the password is not repeated
    wrong = 'not-the-password-' + uuid.uuid4().hex
    result = run('vmr_coordinator.cmd',
                 setup.conf(authtoken=setup.authtoken(wrong)))
    found = problems_of(result)
    assert len(found) == 1 and found[0].startswith(
        "the API cannot validate tokens: [keystone_authtoken]'s service "
        "user gets no token: "), found
    assert found[0].endswith('check its auth_url, username, password, '
                             'project and domains')
    assert wrong not in result.stdout + result.stderr
    # the explicit opt-out checks nothing of Keystone
    assert problems_of(run('vmr_coordinator.cmd', setup.conf(
        '[api]\nauth_strategy = noauth\n', authtoken=''))) == []


def test_agent_check_and_a_clone(setup):
    path = setup.conf(host='compute-1')
    result = run('vmr_agent.cmd', path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == 'vmr-agent --check: OK'
    # another machine is a live member as compute-1 (its own boot id)
    from tooz import utils as tooz_utils

    lease = setup.store.grant(30)
    setup.store.put(setup.store.keys.member('vmr-agents', 'compute-1'),
                    tooz_utils.dumps({'host': 'compute-1',
                                      'boot_id': 'boot-of-the-clone',
                                      'addresses': {'management':
                                                    '127.0.0.9'}}), lease)
    try:
        result = run('vmr_agent.cmd', path)
    finally:
        setup.store.delete(setup.store.keys.member('vmr-agents',
                                                   'compute-1'))
    assert result.returncode == 1
    assert problems_of(result) == [
        "another agent is a live member as compute-1 (boot id "
        "boot-of-the-clone, addresses {'management': '127.0.0.9'}): two "
        "machines share this host name (a cloned image?); give this one its "
        "own [DEFAULT] host"]


def test_bad_value_is_one_line_without_repr(tmp_path):
    conf = tmp_path / 'x.conf'
    conf.write_text('[heartbeat]\nttl = fast\n')
    for module, prog in (('vmr_agent.cmd', 'vmr-agent'),
                         ('vmr_coordinator.cmd', 'vmr-coordinator')):
        result = subprocess.run(
            [sys.executable, '-c', 'import sys, %s as m; sys.exit(m.main())'
             % module, '--config-file', str(conf)],
            capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        assert result.stderr == (
            '%s: error: [heartbeat] ttl = fast in %s is not valid: expected '
            'a number >= 2.0 (default 3.0)\n' % (prog, conf))
