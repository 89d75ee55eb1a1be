"""Simulated hosts: faults, agents, the etcd proxy, virtual BMCs, monitor.

Lab-only by nature: they inject faults a real cloud cannot take.
"""

import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.support.lab import REAL_CLOUD
from vmr_lab.client import LabClient
from vmr_lab.netproxy import TcpProxy

pytestmark = pytest.mark.skipif(REAL_CLOUD is not None,
                                reason='VMR_TEST_CLOUD is set: lab-only '
                                       'fault injection')


def until(predicate, timeout=10.0, what='condition'):
    return LabClient.wait_for(predicate, timeout=timeout, interval=0.05,
                              what=what)


def seed(lab, host, count=1):
    return [lab.nova.seed_server('vm-%s-%d' % (host, i), host)
            for i in range(count)]


@pytest.fixture
def agent_process():
    """A stand-in agent process, killed at the end whatever happened."""
    procs = []

    def start():
        proc = subprocess.Popen([sys.executable, '-c',
                                 'import time; time.sleep(120)'])
        procs.append(proc)
        return proc
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _proc_state(pid):
    with open('/proc/%d/stat' % pid) as fh:
        return fh.read().rsplit(')', 1)[1].split()[0]


def test_power_loss_kills_agent_and_vms(lab, agent_process):
    servers = seed(lab, 'compute-1', 2)
    agent = agent_process()
    lab.hosts['compute-1'].attach_agent(agent.pid)
    lab.hosts['compute-1'].apply_fault('power_loss')
    assert agent.wait(timeout=5) == -9
    assert not any(lab.nova.server_running(s) for s in servers)
    assert lab.hosts['compute-1'].get_power() == 'off'
    types = [e['type'] for e in lab.events.since(0)]
    assert 'power' in types and 'server_stopped' in types


def test_kernel_hang_freezes_agent_and_keeps_vms_possibly_running(
        lab, agent_process):
    server, = seed(lab, 'compute-2')
    agent = agent_process()
    lab.hosts['compute-2'].attach_agent(agent.pid)
    lab.hosts['compute-2'].apply_fault('kernel_hang')
    until(lambda: _proc_state(agent.pid) == 'T', what='agent stopped')
    host = lab.hosts['compute-2']
    assert host.get_power() == 'on'            # the BMC still answers
    assert host.possibly_running(server)       # nobody can prove otherwise
    assert not lab.nova.server_running(server)
    until(lambda: lab.nova.compute_service_view('compute-2')['state'] ==
          'down', timeout=lab.service_down_time + 3, what='service down')
    host.set_power('off')                      # the fence
    assert not host.possibly_running(server)
    assert agent.wait(timeout=5) == -9


def test_agent_death_leaves_host_alone(lab, agent_process):
    server, = seed(lab, 'compute-3')
    agent = agent_process()
    lab.hosts['compute-3'].attach_agent(agent.pid)
    lab.hosts['compute-3'].apply_fault('agent_death')
    assert agent.wait(timeout=5) == -9
    assert lab.nova.server_running(server)
    assert lab.hosts['compute-3'].compute_alive()


def test_boot_id_changes_on_power_cycle(lab):
    host = lab.hosts['compute-1']
    first = host.boot_id
    host.set_power('reset')
    with open(host.boot_id_path) as fh:
        assert fh.read().strip() == host.boot_id != first
    assert not host.compute_alive()            # still booting
    until(host.compute_alive, what='nova-compute after boot')


def test_partition_silences_nova_compute_and_cuts_the_proxy(lab):
    server, = seed(lab, 'compute-1')
    echo = _EchoServer()
    try:
        ports = lab.create_etcd_proxies('127.0.0.1', echo.port)
        with socket.create_connection(('127.0.0.1',
                                       ports['compute-1'])) as sock:
            sock.settimeout(2)
            sock.sendall(b'ping')
            assert sock.recv(10) == b'ping'
            lab.hosts['compute-1'].apply_fault('partition')
            sock.settimeout(0.5)
            sock.sendall(b'lost?')
            with pytest.raises(socket.timeout):
                sock.recv(10)
            assert lab.nova.server_running(server)   # VMs keep running
            assert not lab.hosts['compute-1'].compute_alive()
            lab.hosts['compute-1'].apply_fault('heal_partition')
            sock.settimeout(2)
            assert sock.recv(10) == b'lost?'       # held, not dropped
        assert lab.hosts['compute-1'].compute_alive()
    finally:
        echo.close()


def test_proxy_delay_mode():
    echo = _EchoServer()
    proxy = TcpProxy(0, '127.0.0.1', echo.port).start()
    try:
        proxy.set_mode('delay', ms=300, fraction=1.0)
        with socket.create_connection(('127.0.0.1', proxy.port)) as sock:
            sock.settimeout(3)
            start = time.monotonic()
            sock.sendall(b'x')
            assert sock.recv(1) == b'x'
            assert time.monotonic() - start >= 0.5  # delayed both ways
        with pytest.raises(ValueError):
            proxy.set_mode('sideways')
    finally:
        proxy.stop()
        echo.close()


class _TwoWayServer:
    """Accepts one connection; records what it receives; sends on demand."""

    def __init__(self):
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.received = b''
        self.conn = None
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.conn, _ = self.sock.accept()
        self.ready.set()
        while True:
            data = self.conn.recv(100)
            if not data:
                return
            self.received += data

    def close(self):
        for sock in (self.conn, self.sock):
            if sock is not None:
                sock.close()


@pytest.mark.parametrize('mode', ['drop-up', 'drop-down'])
def test_proxy_cuts_one_direction_only(mode):
    server = _TwoWayServer()
    proxy = TcpProxy(0, '127.0.0.1', server.port).start()
    try:
        with socket.create_connection(('127.0.0.1', proxy.port)) as sock:
            sock.settimeout(0.5)
            assert server.ready.wait(5)
            proxy.set_mode(mode)
            sock.sendall(b'up')
            server.conn.sendall(b'down')
            if mode == 'drop-up':
                until(lambda: sock.recv(10) == b'down', what='down flows')
                time.sleep(0.5)     # nothing may arrive: wait a little
                assert server.received == b''
            else:
                until(lambda: server.received == b'up', what='up flows')
                with pytest.raises(socket.timeout):
                    sock.recv(10)
            proxy.set_mode('pass')      # the held bytes flow again
            if mode == 'drop-up':
                until(lambda: server.received == b'up', what='up released')
            else:
                sock.settimeout(3)
                assert sock.recv(10) == b'down'
    finally:
        proxy.stop()
        server.close()


def test_monitor_reports_lost_servers_at_end(lab):
    kept, stopped, lost = seed(lab, 'compute-2', 3)
    lab.nova.servers[stopped]['deliberately_stopped'] = True
    lab.hosts['compute-2'].stop_server(stopped)
    lab.hosts['compute-2'].stop_server(lost)
    violations = lab.monitor.end_scenario()
    assert [(v['type'], v['server']) for v in violations] == [('lost', lost)]
    intervals = lab.monitor.intervals(kept)
    assert intervals[0]['host'] == 'compute-2' and intervals[0]['end'] is None


@pytest.mark.skipif(shutil.which('ipmitool') is None,
                    reason='ipmitool is not installed')
def test_ipmitool_powers_off_a_host_and_its_vms(lab):
    server, = seed(lab, 'compute-3')
    bmc = lab.hosts['compute-3'].bmc
    if bmc is None:
        pytest.skip('vmr_lab.bmc is not available')
    base = ['ipmitool', '-I', 'lanplus', '-H', '127.0.0.1', '-p',
            str(bmc.port), '-U', 'admin', '-P', 'vmr-lab-bmc', 'power']
    out = subprocess.run(base + ['status'], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert 'on' in out
    subprocess.run(base + ['off'], capture_output=True, timeout=30,
                   check=True)
    assert lab.hosts['compute-3'].get_power() == 'off'
    assert not lab.nova.server_running(server)


@pytest.mark.skipif(shutil.which('fence_ipmilan') is None,
                    reason='fence-agents is not installed')
def test_fence_ipmilan_status_and_off(lab):
    bmc = lab.hosts['compute-1'].bmc
    if bmc is None:
        pytest.skip('vmr_lab.bmc is not available')
    options = ('ip=127.0.0.1\nipport=%d\nusername=admin\n'
               'password=vmr-lab-bmc\nlanplus=1\npower_wait=0\n'
               'stonith_status_sleep=0\npower_timeout=5\n' % bmc.port)
    status = subprocess.run(['fence_ipmilan'], input=options + 'action=status\n',
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    off = subprocess.run(['fence_ipmilan'], input=options + 'action=off\n',
                         capture_output=True, text=True, timeout=60)
    assert off.returncode == 0, off.stderr
    assert lab.hosts['compute-1'].get_power() == 'off'


def test_control_api(lab):
    client = LabClient(lab.control_url)
    server, = seed(lab, 'compute-2')
    hosts = client.hosts()
    assert set(hosts) == set(lab.hosts)
    assert hosts['compute-2']['running_servers'] == [server]
    assert hosts['compute-2']['nova_compute']['state'] == 'up'
    if hosts['compute-2']['bmc']:
        assert hosts['compute-2']['bmc']['username'] == 'admin'
        assert 'password' not in str(hosts['compute-2']['bmc'])
    client.fault('compute-2', 'power_loss')
    assert client.host('compute-2')['power'] == 'off'
    with pytest.raises(Exception) as info:
        client.fault('compute-2', 'meteor')
    assert 'unknown fault type' in str(info.value)
    client.service_fault('nova', status=503, count=1, path_contains='servers')
    assert lab.nova.injected_faults
    events = client.events(type_='power')
    assert events[-1]['host'] == 'compute-2'
    assert client.violations() == []
    lost = client.end_scenario()
    assert [v['server'] for v in lost] == [server]


class _EchoServer:
    """A TCP echo server on 127.0.0.1 for proxy tests."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind(('127.0.0.1', 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self._conns = []
        self._received = []
        threading.Thread(target=self._serve, daemon=True).start()

    def received(self):
        """Every byte the server got, in arrival order."""
        return b''.join(self._received)

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._echo, args=(conn,),
                             daemon=True).start()

    def _echo(self, conn):
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                self._received.append(data)
                conn.sendall(data)
        except OSError:
            return

    def close(self):
        self._sock.close()
        for conn in self._conns:
            conn.close()


def test_state_file_resumes_the_cloud(tmp_path):
    from vmr_lab.cloud import LabCloud
    path = str(tmp_path / 'state.json')
    first = LabCloud(hosts=2, servers=3, state_file=path, bmc=False)
    first.start()
    try:
        first.hosts['compute-2'].set_power('off')
        servers = {s['id']: s['host'] for s in first.nova.find_servers()}
    finally:
        first.stop()
    second = LabCloud(hosts=2, servers=3, state_file=path, bmc=False)
    try:
        assert {s['id']: s['host'] for s in second.nova.find_servers()} == \
            servers
        assert second.hosts['compute-2'].get_power() == 'off'
        running = {s for s, h in servers.items() if h == 'compute-1'}
        assert second.hosts['compute-1'].running == running
    finally:
        second.stop()


@pytest.mark.skipif(shutil.which('ipmitool') is None,
                    reason='ipmitool is not installed')
def test_slow_and_unreachable_bmc_faults(lab):
    client = LabClient(lab.control_url)
    bmc = client.host('compute-2')['bmc']
    if bmc is None:
        pytest.skip('vmr_lab.bmc is not available')
    client.fault('compute-2', 'slow_bmc', seconds=0.5)
    client.fault('compute-2', 'bmc_unreachable')
    assert set(client.host('compute-2')['faults']) == {'slow_bmc',
                                                        'bmc_unreachable'}
    client.fault('compute-2', 'clear')
    assert client.host('compute-2')['faults'] == []
    client.fault('compute-2', 'slow_bmc', seconds=0.1)
    start = time.monotonic()
    subprocess.run(['ipmitool', '-I', 'lanplus', '-H', '127.0.0.1', '-p',
                    str(bmc['port']), '-U', 'admin', '-P', 'vmr-lab-bmc',
                    'power', 'status'], capture_output=True, timeout=30,
                   check=True)
    assert time.monotonic() - start >= 0.1


def test_heal_resets_connections_their_client_gave_up():
    """A request whose client hung up during the cut is not replayed to
    the server after the heal (etcd 3.5.0-3.5.4 panics on a read-only
    transaction whose client disconnects while it runs)."""
    echo = _EchoServer()
    proxy = TcpProxy(0, '127.0.0.1', echo.port).start()
    try:
        proxy.set_mode('drop')
        gave_up = socket.create_connection(('127.0.0.1', proxy.port))
        gave_up.sendall(b'stale')
        gave_up.close()                      # the client timed out
        waiting = socket.create_connection(('127.0.0.1', proxy.port))
        waiting.sendall(b'fresh')
        time.sleep(0.3)
        proxy.set_mode('pass')
        waiting.settimeout(3)
        assert waiting.recv(10) == b'fresh'  # still held, then delivered
        waiting.close()
        time.sleep(0.5)
        assert b'stale' not in echo.received()
    finally:
        proxy.stop()
        echo.close()
