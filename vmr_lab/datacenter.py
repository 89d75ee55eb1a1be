"""What a test cloud runs on: hosts, their BMCs, and the witnesses.

A :class:`Datacenter` owns the simulated compute hosts
(:class:`vmr_lab.hosts.SimHost`) with their virtual IPMI BMCs and per-host
etcd proxies, the event log, the invariant monitor and the control API, and
the timers that drive them.  Two clouds stand on it:

* :class:`vmr_lab.cloud.LabCloud` -- simulated OpenStack APIs in this
  process;
* :class:`vmr_lab.real.cloud.RealCloud` -- the real services from their own
  releases, one real nova-compute per host.

A subclass provides the OpenStack side: :meth:`services` (the lab services
the control API can inject faults into), :meth:`find_servers`,
:meth:`get_server`, :meth:`host_booted`, :meth:`compute_view` and
:meth:`clouds_config`.
"""

import logging
import os
import tempfile
import threading

import yaml
from cheroot import wsgi

from vmr_lab.events import EventLog
from vmr_lab.hosts import SimHost
from vmr_lab.monitor import InvariantMonitor
from vmr_lab.ports import free_udp_port

LOG = logging.getLogger(__name__)

BMC_USERNAME = 'admin'
BMC_PASSWORD = 'vmr-lab-bmc'  # noqa: S105 - a published lab default


def host_names(hosts):
    """``compute-1`` .. ``compute-N`` for a count, else the given names."""
    if isinstance(hosts, int):
        return ['compute-%d' % (i + 1) for i in range(hosts)]
    return list(hosts)


class Datacenter:
    """Hosts with BMCs and proxies, the event log, the monitor, the timers.

    :param hosts: number of compute hosts (``compute-1``...) or their names.
    :param delays: seconds simulated actions take; ``host_boot`` is how long
        a powered-on host takes before its nova-compute starts.
    :param state_dir: where per-host files (``<host>/boot_id``) live; a
        temporary directory removed at :meth:`stop` by default.
    """

    tmp_prefix = 'vmr-lab-'
    #: The admin cloud's name in :meth:`clouds_config`.
    cloud_name = 'vmr-lab'
    #: Scenarios this cloud cannot run, with the reason.
    unsupported = {}

    def __init__(self, hosts=3, delays=None, state_dir=None,
                 report_interval=1.0, bmc=True, bmc_base_port=None,
                 bmc_username=BMC_USERNAME, bmc_password=BMC_PASSWORD,
                 host_vcpus=16, host_ram_mb=32768, control_port=0):
        self.lock = threading.RLock()
        self.delays = dict(delays or {})
        if state_dir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix=self.tmp_prefix)
            state_dir = self._tmpdir.name
        else:
            self._tmpdir = None
            os.makedirs(state_dir, exist_ok=True)
        self.state_dir = state_dir
        self.bmc_enabled = bmc
        self.bmc_base_port = bmc_base_port
        self.bmc_username = bmc_username
        self._bmc_password = bmc_password
        self.bmc_server = None
        self.control_port = control_port
        self.events = EventLog()
        self.monitor = InvariantMonitor(self, self.events)
        self._timers = set()
        self._stopped = False
        self._servers = []        # (service, cheroot server, thread)
        self.ports = {}           # service name -> port
        self.hosts = {name: SimHost(self, name, vcpus=host_vcpus,
                                    ram_mb=host_ram_mb, state_dir=state_dir,
                                    report_interval=report_interval)
                      for name in host_names(hosts)}
        from vmr_lab.control import ControlAPI
        self.control = ControlAPI(self)

    # -- what a subclass provides ---------------------------------------------
    def services(self):
        """Lab services the control API can inject HTTP faults into."""
        return []

    def find_servers(self, **filters):
        """Servers as dicts (id, name, status, host, ...) matching filters."""
        raise NotImplementedError

    def get_server(self, server_id):
        """One server as a dict, or None."""
        raise NotImplementedError

    def host_booted(self, name):
        """A powered-on host finished booting: its nova-compute starts."""

    def compute_view(self, name):
        """What Nova believes about host ``name``, for the control API."""
        return {}

    def clouds_config(self):
        """The ``clouds:`` mapping of clouds.yaml."""
        raise NotImplementedError

    @property
    def auth_url(self):
        """Keystone's v3 URL for clouds.yaml."""
        raise NotImplementedError

    def endpoints(self, project_id=None):
        """(service_type, name, url) of every service in the catalog."""
        return []

    # -- the hypervisors' truth -----------------------------------------------
    def server_running(self, server_id):
        """True when a powered, healthy host's hypervisor runs it."""
        with self.lock:
            return any(server_id in host.running and host.power == 'on'
                       and not host.hung for host in self.hosts.values())

    # -- serving --------------------------------------------------------------
    def url(self, name):
        """Root URL of service ``name`` ('keystone', 'nova', 'control'...)."""
        return 'http://127.0.0.1:%d' % self.ports[name]

    @property
    def control_url(self):
        """Base URL of the control API (``.../lab/v1``)."""
        return self.url('control') + '/lab/v1'

    @property
    def bmc_password(self):
        """The IPMI password of every BMC (for fence profiles; never log)."""
        return self._bmc_password

    def serve(self, service, port=0):
        """Serve the WSGI ``service`` on 127.0.0.1 in a cheroot thread."""
        server = wsgi.Server(('127.0.0.1', port), service, numthreads=16,
                             server_name='vmr-lab-%s' % service.name)
        # The accept loop notices stop() only after this poll interval
        # (0.5 s by default): keep stopping a lab fast.
        server.expiration_interval = 0.05
        server.prepare()
        self.ports[service.name] = server.bind_addr[1]
        thread = threading.Thread(target=server.serve, daemon=True,
                                  name='vmr-lab-%s' % service.name)
        thread.start()
        self._servers.append((service, server, thread))

    def start_machines(self):
        """Serve the control API and wire a virtual BMC to every host."""
        self._stopped = False
        self.serve(self.control, self.control_port)
        if not self.bmc_enabled:
            return
        from vmr_lab.bmc import BmcServer
        self.bmc_server = BmcServer(address='127.0.0.1')
        for i, host in enumerate(self.hosts.values()):
            port = (self.bmc_base_port + i if self.bmc_base_port
                    else free_udp_port())
            host.bmc = self.bmc_server.add(host.name, port, self.bmc_username,
                                           self._bmc_password, host.get_power,
                                           host.set_power)
        self.bmc_server.start()

    def stop_machines(self):
        """Stop timers, served APIs, BMCs and proxies (idempotent)."""
        with self.lock:
            # No new timers from now on: a task waiting for a dead compute
            # re-arms itself and would outlive the lab.
            self._stopped = True
            timers, self._timers = list(self._timers), set()
        for timer in timers:
            timer.cancel()
        # cheroot's stop() takes ~0.3 s each (it drains its worker pool):
        # stop them side by side.
        stoppers = [threading.Thread(target=server.stop, daemon=True)
                    for _, server, _ in self._servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)
        for _, _, thread in self._servers:
            thread.join(timeout=5)
        self._servers = []
        if self.bmc_server is not None:
            self.bmc_server.stop()
            self.bmc_server = None
        for host in self.hosts.values():
            host.bmc = None
            for proxy in host._management_proxies():
                proxy.stop()
            host.etcd_proxy = None
            host.extra_proxies = []

    def remove_state_dir(self):
        """Remove the temporary state directory, if this object made it."""
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    # -- timers ---------------------------------------------------------------
    def schedule(self, delay, func, *args):
        """Run ``func(*args)`` after ``delay`` seconds in a daemon thread."""
        def run():
            with self.lock:
                self._timers.discard(timer)
            try:
                func(*args)
            except Exception:  # a timer must never die silently
                LOG.exception('lab timer %s failed', getattr(func, '__name__',
                                                             func))
        timer = threading.Timer(max(0.0, delay), run)
        timer.daemon = True
        with self.lock:
            if self._stopped:
                return None
            self._timers.add(timer)
        timer.start()
        return timer

    # -- etcd proxies ---------------------------------------------------------
    def create_etcd_proxies(self, target_host, target_port):
        """Give every host a TCP proxy to etcd; return {host: port}.

        Agents of a simulated host reach etcd through it, so a partition of
        the host can cut exactly that host's management path.
        """
        from vmr_lab.netproxy import TcpProxy
        ports = {}
        for host in self.hosts.values():
            if host.etcd_proxy is None:
                host.etcd_proxy = TcpProxy(0, target_host, int(target_port))
                host.etcd_proxy.start()
                if host.partitioned:
                    host.etcd_proxy.set_mode('drop')
            ports[host.name] = host.etcd_proxy.port
        return ports

    # -- files ----------------------------------------------------------------
    def write_clouds_yaml(self, path):
        """Write :meth:`clouds_config` to ``path`` (mode 0600)."""
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as fh:
            yaml.safe_dump(self.clouds_config(), fh, default_flow_style=False)
        return path

    def describe(self):
        """Ports and URLs, as written to the ready file."""
        return {
            'auth_url': self.auth_url,
            'control_url': self.control_url,
            'ports': dict(self.ports),
            'endpoints': {name: url for (_, name, url) in self.endpoints()},
            'state_dir': self.state_dir,
            'hosts': {name: {
                'bmc_address': host.bmc.address if host.bmc else None,
                'bmc_port': host.bmc.port if host.bmc else None,
                'bmc_username': host.bmc.username if host.bmc else None,
                'boot_id_path': host.boot_id_path,
                'etcd_proxy_port': (host.etcd_proxy.port
                                    if host.etcd_proxy else None),
            } for name, host in self.hosts.items()},
        }
