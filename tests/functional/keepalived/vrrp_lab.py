"""A throw-away VRRP lab: network namespaces, a bridge and real keepalived.

Layout (every name prefixed ``vmrt-<random>``)::

    <prefix>-hub   bridge br0 (10.99.0.254/24) + one veth end per node
    <prefix>-n0    eth0 10.99.0.1/24  <- veth peer of hub's v0
    <prefix>-n1    eth0 10.99.0.2/24  <- veth peer of hub's v1

The veth pairs are created directly inside the hub namespace with their peer
moved into the node namespace, so the host's root namespace is never touched.
:meth:`VrrpLab.close` stops every process this lab started (by PID) and deletes
every namespace it created; it is safe to call twice and after a half-built
lab. Shared by the functional tests and ``tests/benchmarks/bench_keepalived.py``.
"""

import contextlib
import ctypes
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from vmr_keepalived import templater

KEEPALIVED = shutil.which('keepalived') or '/usr/sbin/keepalived'
SUBNET = '10.99.0'
HUB_ADDRESS = f'{SUBNET}.254'
RECEIVER_PORT = 8080
RECEIVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               'notify_receiver.py')


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child before exec: if the test runner itself is killed,
    # the kernel sends SIGTERM, so keepalived still releases its VIP and exits.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    os.setsid()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(['ip', *args], check=check, capture_output=True, text=True)


def unavailable_reason() -> str | None:
    """Why this lab cannot run here, or None when it can."""
    if not os.path.exists(KEEPALIVED):
        return 'keepalived is not installed (apt-get install keepalived)'
    if shutil.which('ip') is None:
        return 'iproute2 (ip) is not installed'
    if os.geteuid() != 0:
        return 'network namespaces need root'
    name = f'vmrt-probe-{secrets.token_hex(3)}'
    try:
        result = _ip('netns', 'add', name, check=False)
        if result.returncode != 0:
            return f'cannot create network namespaces: {result.stderr.strip()}'
        result = _ip('-n', name, 'link', 'add', 'name', 'vmrt0', 'type', 'veth',
                     'peer', 'name', 'vmrt1', check=False)
        if result.returncode != 0:
            return f'cannot create veth links in a namespace: {result.stderr.strip()}'
    finally:
        _ip('netns', 'del', name, check=False)
    return None


class VrrpLab:
    """Namespaces, links and keepalived processes for one test."""

    def __init__(self, nodes: int = 2):
        self.prefix = f'vmrt-{secrets.token_hex(3)}'
        self.hub = f'{self.prefix}-hub'
        self.nodes = [f'{self.prefix}-n{i}' for i in range(nodes)]
        self.addresses = {ns: f'{SUBNET}.{i + 1}' for i, ns in enumerate(self.nodes)}
        # Scripts must sit in root-owned directories nobody else can write to,
        # or keepalived's script security refuses them; mkdtemp gives 0700.
        self.workdir = tempfile.mkdtemp(prefix=f'{self.prefix}-')
        self.namespaces: list[str] = []
        self.procs: dict[str, subprocess.Popen] = {}
        self._all_procs: list[subprocess.Popen] = []
        self._logs: list = []
        self.log_paths: dict[str, str] = {}  # namespace -> current keepalived log

    # -- building -----------------------------------------------------------
    def build(self) -> 'VrrpLab':
        """Create the namespaces, bridge and veth links; return self."""
        for ns in [self.hub, *self.nodes]:
            _ip('netns', 'add', ns)
            self.namespaces.append(ns)
            _ip('-n', ns, 'link', 'set', 'lo', 'up')
        _ip('-n', self.hub, 'link', 'add', 'br0', 'type', 'bridge')
        _ip('-n', self.hub, 'addr', 'add', f'{HUB_ADDRESS}/24', 'dev', 'br0')
        _ip('-n', self.hub, 'link', 'set', 'br0', 'up')
        for i, ns in enumerate(self.nodes):
            hub_end = f'v{i}'
            _ip('-n', self.hub, 'link', 'add', hub_end, 'type', 'veth',
                'peer', 'name', 'eth0', 'netns', ns)
            _ip('-n', self.hub, 'link', 'set', hub_end, 'master', 'br0', 'up')
            _ip('-n', ns, 'addr', 'add', f'{self.addresses[ns]}/24', 'dev', 'eth0')
            _ip('-n', ns, 'link', 'set', 'eth0', 'up')
        return self

    def path(self, name: str) -> str:
        """A file path inside the lab's private work directory."""
        return os.path.join(self.workdir, name)

    def write(self, name: str, content: str, mode: int = 0o644) -> str:
        """Write a file into the work directory with ``mode``; return its path."""
        path = self.path(name)
        with open(path, 'w') as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    # -- processes ----------------------------------------------------------
    def start_keepalived(self, ns: str, config_path: str) -> subprocess.Popen:
        """Run keepalived (VRRP only, foreground) in namespace ``ns``."""
        # Explicit pid files: several keepalived on one host would otherwise
        # share /run/keepalived.pid and all but the first would exit.
        tag = self.path(f'{ns}-{len(self._all_procs)}')
        log = open(f'{tag}.log', 'w')  # noqa: SIM115 - closed in close()
        self._logs.append(log)
        self.log_paths[ns] = f'{tag}.log'
        proc = subprocess.Popen(
            [KEEPALIVED, '-n', '-l', '-D', '-G', '-P', '-s', ns, '-f', config_path,
             '-p', f'{tag}.pid', '-r', f'{tag}-vrrp.pid'],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.procs[ns] = proc
        self._all_procs.append(proc)
        return proc

    def start_in_namespace(self, ns: str, argv: list[str]) -> subprocess.Popen:
        """Run any command in namespace ``ns`` (tracked and stopped by close())."""
        proc = subprocess.Popen(['ip', 'netns', 'exec', ns, *argv],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
        self._all_procs.append(proc)
        return proc

    def start_receiver(self, token: str) -> tuple[str, str]:
        """Run the webhook receiver on the hub's bridge address.

        Returns ``(url, records_path)``: each accepted POST is appended to the
        records file as one JSON line. The nodes reach it over the bridge, so
        the rendered notify script and real curl are exercised end to end.
        """
        token_path = self.write('receiver.token', token, 0o600)
        records = self.path('notify-records.jsonl')
        ready = self.path('receiver.ready')
        self.start_in_namespace(self.hub, [
            sys.executable, RECEIVER_SCRIPT, '--bind', HUB_ADDRESS,
            '--port', str(RECEIVER_PORT), '--token-file', token_path,
            '--out', records, '--ready-file', ready])
        self.wait_for(lambda: os.path.exists(ready), timeout=10, interval=0.02)
        return f'http://{HUB_ADDRESS}:{RECEIVER_PORT}/v1/alarms/keepalived', records

    def stop_keepalived(self, ns: str, sig: int = signal.SIGTERM, wait: bool = True) -> None:
        """Signal the keepalived of ``ns`` by PID (SIGTERM releases the VIP)."""
        proc = self.procs[ns]
        proc.send_signal(sig)
        if wait:
            proc.wait(timeout=10)

    def link(self, ns: str, up: bool) -> None:
        """Set the node's own eth0 up or down (keepalived sees it and goes FAULT)."""
        _ip('-n', ns, 'link', 'set', 'eth0', 'up' if up else 'down')

    # -- observation --------------------------------------------------------
    def has_address(self, ns: str, address: str) -> bool:
        """Whether ``address`` is configured on the node's eth0."""
        out = _ip('-n', ns, '-o', 'addr', 'show', 'dev', 'eth0', check=False).stdout
        return any(f' {address}/' in line for line in out.splitlines())

    def holders(self, address: str) -> list[str]:
        """Namespaces that currently hold ``address``."""
        return [ns for ns in self.nodes if self.has_address(ns, address)]

    def wait_for(self, predicate, timeout: float, interval: float = 0.005) -> float:
        """Poll ``predicate`` until true; return the elapsed seconds or raise."""
        start = time.monotonic()
        while True:
            if predicate():
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise TimeoutError(f'condition not met within {timeout} s\n{self.logs()}')
            time.sleep(interval)

    def log_count(self, ns: str, text: str) -> int:
        """How often ``text`` appears in the current keepalived log of ``ns``."""
        with open(self.log_paths[ns], errors='replace') as f:
            return f.read().count(text)

    def logs(self) -> str:
        """The keepalived logs of this lab, for failure messages."""
        out = []
        for name in sorted(os.listdir(self.workdir)):
            if name.endswith('.log'):
                with open(self.path(name), errors='replace') as f:
                    out.append(f'--- {name}\n' + ''.join(f.readlines()[-40:]))
        return '\n'.join(out)

    # -- teardown -----------------------------------------------------------
    def close(self) -> None:
        """Stop our processes (by PID) and delete our namespaces and files."""
        for proc in self._all_procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    # Our own session: reaches `ip netns exec`'s child too.
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self._all_procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for log in self._logs:
            log.close()
        for ns in reversed(self.namespaces):
            # Deleting a namespace also deletes the veth ends inside it.
            _ip('netns', 'del', ns, check=False)
        self.namespaces.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> 'VrrpLab':
        try:
            return self.build()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()



VIP = f'{SUBNET}.100'
NOTIFY_TOKEN = 'vmrt-token-' + 'x' * 16


@dataclasses.dataclass
class DeployedPair:
    """What :func:`deploy_guest_pair` started: members, their namespaces, receiver."""

    pair: templater.GuestPair
    namespaces: dict[str, str]  # member name -> namespace
    configs: dict[str, str]  # member name -> keepalived.conf path
    records: str | None  # the notify receiver's JSON lines file

    def notifications(self) -> list[dict]:
        """Bodies received by the webhook so far (asserting the token on each)."""
        if self.records is None or not os.path.exists(self.records):
            return []
        out = []
        with open(self.records) as f:
            for line in f:
                record = json.loads(line)
                assert record['token_ok'], f'notify call without the right token: {record}'
                out.append(record['body'])
        return out


def deploy_guest_pair(lab: VrrpLab, *, webhook: bool = True, start: bool = True,
                      **overrides) -> DeployedPair:
    """Render a guest pair for the lab's first two nodes and start keepalived.

    The VIP is on the first member when this returns (with ``start``).

    Each member gets its own notify script path (both members share the lab's
    file system, unlike real VMs); everything else is rendered unchanged.
    """
    ns0, ns1 = lab.nodes[:2]
    records = None
    spec = dict(
        name='web',
        members=[{'name': 'web-1', 'fixed_ip': lab.addresses[ns0]},
                 {'name': 'web-2', 'fixed_ip': lab.addresses[ns1]}],
        vip=f'{VIP}/24', virtual_router_id=51, check_command='/bin/true',
        check_interval=1, check_fall=1, check_rise=1, auth_pass='vmrtpass')
    if webhook:
        url, records = lab.start_receiver(NOTIFY_TOKEN)
        token_file = lab.write('notify.token', NOTIFY_TOKEN, 0o600)
        spec['webhook'] = {'url': url, 'token_file': token_file}
    spec.update(overrides)
    pair = templater.GuestPair(**spec)
    namespaces = {pair.members[0].name: ns0, pair.members[1].name: ns1}
    configs = {}
    for member, ns in namespaces.items():
        own = dataclasses.replace(pair, notify_path=lab.path(f'{member}-notify.sh'))
        files = templater.render_guest_pair(own)[member]
        if templater.NOTIFY_FILE in files:
            lab.write(f'{member}-notify.sh', files[templater.NOTIFY_FILE], 0o755)
        configs[member] = lab.write(f'{member}.conf', files[templater.CONF_FILE])
    if start:
        # Start the preferred member alone and let it take the VIP first: with
        # nopreempt whoever becomes MASTER first keeps the VIP, and on a loaded
        # machine a simultaneous start could let the standby's timer fire first.
        first, second = pair.members[0].name, pair.members[1].name
        lab.start_keepalived(namespaces[first], configs[first])
        lab.wait_for(lambda: lab.has_address(namespaces[first], VIP), 20, interval=0.05)
        lab.start_keepalived(namespaces[second], configs[second])
    return DeployedPair(pair=pair, namespaces=namespaces, configs=configs, records=records)
