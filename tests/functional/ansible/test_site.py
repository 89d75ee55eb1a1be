"""A real run of ansible/site.yml on this machine: etcd, one coordinator, two agents.

Every inventory "host" is localhost (``ansible_connection=local``) with its own
prefix directory (``vmr_service_root``), ports and ``[DEFAULT] host`` name.
systemd is not PID 1 in CI, so the services run under the roles' test-mode
supervisor (``vmr_service_manager=supervisor``: ``vmr-supervise``, pid files
under each host's ``run/vmr-supervise``). The VMR package is a wheel built
from a copy of the working tree and installed with its dependencies into
one virtualenv per host, as an operator would.

The first test checks, through etcd (the coordinator API answers too when
it is there), that both agents are members and the coordinator leads, that
the services run as the unprivileged user, that secrets stay out of the
output and in 0600 files, that a second run reports changed=0 everywhere,
and that uninstall.yml stops everything.  The second (``slow``: a third
round of virtualenv installs; ``tox -e ansible``) checks that a new package
version restarts the services one host at a time, the leader last.  A
finalizer kills whatever is left by PID from the pid files, even when a
test fails.

Needs ``ansible-playbook`` on PATH (``pip install ansible-core``), root (it
creates a system user) and network access to the package index for the
virtualenvs' dependencies.
"""

import glob
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys

import pytest
import requests

from tests.support.ansible_site import (AGENTS, CLUSTER, COORDINATOR, SECRET,
                                        WEBHOOK_SECRET, running,
                                        temporary_deployment, unavailable,
                                        venv_python, wait)

pytestmark = [pytest.mark.timeout(2400),
              pytest.mark.skipif(unavailable() is not None,
                                 reason=str(unavailable()))]


def _uid_of(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Uid:'):
                return int(line.split()[1])
    raise AssertionError('no Uid line for pid %d' % pid)


def _supervisor_starts(deployment, host, service):
    """Times (log order) at which vmr-supervise started ``service`` on ``host``."""
    path = os.path.join(deployment.root(host), 'var', 'log', 'vmr-supervise',
                        '%s.log' % service)
    with open(path, errors='replace') as f:
        return [line[:19] for line in f if 'vmr-supervise[' in line and
                ': started %s (pid' % service in line]


@pytest.fixture
def deployment():
    with temporary_deployment() as dep:
        yield dep


def _install(deployment, timings):
    """Build the wheel, write the inventory, run site.yml once; the
    inventory and the play's output."""
    python = venv_python()
    if python is None:
        pytest.skip('no python3 with venv that an unprivileged user can run')
    wheel = deployment.build_wheel()
    inventory = deployment.write_inventory(wheel, python)
    recap, output, timings['install'] = deployment.play('site.yml')
    assert set(recap) == {'etcd-1', COORDINATOR} | set(AGENTS), recap
    assert all(r['failed'] == 0 and r['unreachable'] == 0 for r in recap.values())
    return inventory, output


def _uninstall(deployment, timings, pids):
    """uninstall.yml stops everything: no pid file, no process left."""
    recap, output, timings['uninstall'] = deployment.play('uninstall.yml')
    assert all(r['failed'] == 0 for r in recap.values())
    assert deployment.pid_files() == []
    for pid in pids:
        assert not running(pid), 'pid %d survived uninstall.yml' % pid
    sys.stderr.write('ansible timings: %s\n' % ', '.join(
        '%s %.0f s' % kv for kv in timings.items()))


def _pids(deployment):
    pids = {h: deployment.service_pid(h, 'vmr-agent') for h in AGENTS}
    pids[COORDINATOR] = deployment.service_pid(COORDINATOR, 'vmr-coordinator')
    return pids


def test_site_install_idempotent_uninstall(deployment):
    timings = {}
    # 1. install
    inventory, output = _install(deployment, timings)
    service_user = inventory['all']['vars']['vmr_user']

    # both agents are members, the coordinator leads (read from etcd)
    members = wait(lambda: {k.rsplit('/', 1)[1] for k in deployment.etcd_get(
        '/vmr/%s/groups/vmr-agents/' % CLUSTER, prefix=True)} >= set(AGENTS)
        and deployment.etcd_get('/vmr/%s/groups/vmr-agents/' % CLUSTER,
                                prefix=True), 30,
        'both agents in the group')
    assert {k.rsplit('/', 1)[1] for k in members} >= set(AGENTS)
    leader = wait(lambda: deployment.etcd_get('/vmr/%s/leader' % CLUSTER), 30,
                  'a leader')
    assert leader == {'/vmr/%s/leader' % CLUSTER: COORDINATOR}
    # and, once the coordinator serves its API, through the API too
    try:
        status = requests.get('http://127.0.0.1:%d/v1/status' % deployment.api_port,
                              timeout=2)
    except requests.ConnectionError:
        status = None
    if status is not None and status.status_code == 200:
        assert COORDINATOR in json.dumps(status.json())

    # services run as the unprivileged user, under their supervisors
    uid = pwd.getpwnam(service_user).pw_uid
    for host, service in [(h, 'vmr-agent') for h in AGENTS] + [
            (COORDINATOR, 'vmr-coordinator')]:
        assert _uid_of(deployment.service_pid(host, service)) == uid, (host, service)

    # secrets: fence profiles 0600 for the service user, nothing in the output
    profiles = os.path.join(deployment.root(COORDINATOR), 'etc', 'vmr',
                            'fence-profiles.yaml')
    st = os.stat(profiles)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == uid
    conf = os.path.join(deployment.root(COORDINATOR), 'etc', 'vmr',
                        'vmr-coordinator.conf')
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640
    assert SECRET not in output and WEBHOOK_SECRET not in output

    # noauth is an explicit opt-out, and the role says so
    assert 'WARNING: vmr_coordinator_api_auth_strategy is noauth' in ' '.join(
        output.split())

    # the contract step ran and said what it did
    assert 'contracts not loaded' in output or 'contracts loaded through' in output

    # rendered systemd units are valid
    units = sorted(glob.glob(os.path.join(deployment.workdir, 'hosts', '*', 'etc',
                                          'systemd', 'system', '*.service')))
    assert len(units) == 4, units
    analyze = shutil.which('systemd-analyze')
    if analyze:
        for unit in units:
            proc = subprocess.run([analyze, 'verify', unit], capture_output=True,
                                  text=True)
            assert proc.returncode == 0, '%s: %s' % (unit, proc.stderr)

    # 2. a second run changes nothing
    recap, output, timings['second run'] = deployment.play('site.yml')
    changed = {host: r['changed'] for host, r in recap.items()}
    assert changed == {host: 0 for host in recap}, (changed, output[-4000:])
    assert len(recap) == 4

    # 3. uninstall stops everything
    _uninstall(deployment, timings, _pids(deployment).values())


@pytest.mark.slow
def test_site_upgrade_restarts_one_host_at_a_time(deployment):
    timings = {}
    _install(deployment, timings)
    wait(lambda: deployment.etcd_get('/vmr/%s/leader' % CLUSTER), 30, 'a leader')
    # a new package version restarts every service, one host at a time,
    # the leader last
    before = _pids(deployment)
    new_wheel = deployment.build_wheel(version='0.1.0.post99')
    recap, output, timings['upgrade'] = deployment.play(
        'site.yml', '-e', 'vmr_package_wheel=%s' % new_wheel)
    after = _pids(deployment)
    assert all(before[h] != after[h] for h in before), (before, after)
    assert 'VMR 0.1.0.post99' in output
    # serial: compute-1 was back in the group before compute-2 was touched
    first = output.index('Restart vmr-agent (vmr-supervise)]')
    second = output.index('Restart vmr-agent (vmr-supervise)]', first + 1)
    assert output.index('Wait in etcd for vmr-agent compute-1', first) < second
    flat = ' '.join(output.split())  # the callback wraps long messages
    assert 'leader: %s; this controller (%s) goes last' % (COORDINATOR, COORDINATOR) \
        in flat, output[-3000:]
    wait(lambda: deployment.etcd_get('/vmr/%s/leader' % CLUSTER), 30, 'a leader again')

    _uninstall(deployment, timings, after.values())
