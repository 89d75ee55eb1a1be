"""Run real vmr-agent / vmr-coordinator processes for tests and benchmarks.

Each service runs in its own session (process group) so a test can SIGKILL
or SIGSTOP the whole service (cotyledon's master and its worker) by PID.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import weakref

from tests.etcd_fixture import free_port
from vmr_lab.ports import free_udp_port

TIMING = {
    'ttl': 3, 'interval': 1.0, 'period': 0.5, 'grace': 0.0,
    'leader_ttl': 3, 'leader_margin': 0.5, 'probe_timeout': 1.0,
    'watch_interval': 0.25,
}


class ServiceProcess:
    """One vmr-agent or vmr-coordinator process (group)."""

    def __init__(self, kind, name, endpoints, cluster, workdir, timing=None,
                 extra=''):
        self.kind = kind
        self.name = name
        self.timing = dict(TIMING, **(timing or {}))
        self.workdir = workdir
        self.conf_path = os.path.join(workdir, '%s-%s.conf' % (kind, name))
        self.log_path = os.path.join(workdir, '%s-%s.log' % (kind, name))
        self.probe_port = free_udp_port()
        self.boot_id_file = os.path.join(workdir, '%s.boot_id' % name)
        with open(self.boot_id_file, 'w') as f:
            f.write(os.urandom(8).hex())
        t = self.timing
        conf = textwrap.dedent('''\
            [DEFAULT]
            host = {name}
            state_path = {workdir}
            [etcd]
            endpoints = {endpoints}
            cluster = {cluster}
            timeout = 2
            [heartbeat]
            ttl = {ttl}
            interval = {interval}
            [coordinator]
            period = {period}
            grace = {grace}
            leader_ttl = {leader_ttl}
            leader_margin = {leader_margin}
            probe_timeout = {probe_timeout}
            watch_interval = {watch_interval}
            [agent]
            addresses = management:127.0.0.1:{port}
            boot_id_file = {boot_id}
            isolation_timeout = 10
            [api]
            enabled = false
            auth_strategy = noauth
            bind_port = {api_port}
            ''').format(name=name, workdir=workdir,
                        endpoints=','.join(endpoints), cluster=cluster,
                        port=self.probe_port, boot_id=self.boot_id_file,
                        api_port=free_port(), **t)
        with open(self.conf_path, 'w') as f:
            f.write(conf + extra)
        self.proc = None

    def start(self):
        script = 'vmr_agent.cmd' if self.kind == 'agent' else \
            'vmr_coordinator.cmd'
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [sys.executable, '-c', 'import sys, %s as m; sys.exit(m.main())'
             % script, '--config-file', self.conf_path],
            stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        self.signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # the worker may outlive the master briefly
        self.signal(signal.SIGKILL)

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()


def _remove_workdir(path):
    """Remove a Cluster's own temp dir, unless ``VMR_KEEP_TMP`` is set."""
    if os.environ.get('VMR_KEEP_TMP'):
        sys.stderr.write('kept %s\n' % path)
    else:
        shutil.rmtree(path, ignore_errors=True)


class Cluster:
    """etcd endpoints + N agents + M coordinators in a temp dir.

    :meth:`stop` keeps the services' logs readable; :meth:`cleanup` stops
    and removes the temp dir the Cluster made itself (with
    ``VMR_KEEP_TMP=1`` it stays, for reading the logs).  A Cluster that is
    never cleaned up loses its temp dir when it is garbage-collected or at
    exit.  A ``workdir`` given by the caller is never removed.
    """

    def __init__(self, endpoints, agents=3, coordinators=2, timing=None,
                 cluster=None, workdir=None, agent_extra='',
                 coordinator_extra=''):
        self.workdir = workdir or tempfile.mkdtemp(prefix='vmr-cluster-')
        self._remove_workdir = (
            weakref.finalize(self, _remove_workdir, self.workdir)
            if workdir is None else None)
        self.cluster = cluster or 'c%s' % os.urandom(4).hex()
        self.endpoints = endpoints
        self.agents = {
            'compute-%d' % i: ServiceProcess(
                'agent', 'compute-%d' % i, endpoints, self.cluster,
                self.workdir, timing, agent_extra)
            for i in range(1, agents + 1)}
        self.coordinators = {
            'controller-%d' % i: ServiceProcess(
                'coordinator', 'controller-%d' % i, endpoints, self.cluster,
                self.workdir, timing, coordinator_extra)
            for i in range(1, coordinators + 1)}

    def start(self):
        for proc in list(self.agents.values()) + list(
                self.coordinators.values()):
            proc.start()
        return self

    def stop(self):
        for proc in list(self.coordinators.values()) + list(
                self.agents.values()):
            proc.stop()

    def cleanup(self):
        """Stop every service, then remove the Cluster's own temp dir."""
        try:
            self.stop()
        finally:
            if self._remove_workdir is not None:
                self._remove_workdir()

    close = cleanup

    def store(self):
        from vmr_common.store import Store
        return Store(self.endpoints, cluster=self.cluster)


def wait_for(predicate, timeout, interval=0.05, message='condition'):
    """Poll until ``predicate()`` is truthy; its value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError('timed out after %.1f s waiting for %s'
                                 % (timeout, message))
        time.sleep(interval)
