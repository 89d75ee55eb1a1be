"""The lab cloud: every simulated service, host and BMC in one object.

::

    lab = LabCloud(hosts=3, servers=6)
    lab.start()                       # each API on its own 127.0.0.1 port
    lab.write_clouds_yaml('clouds.yaml')
    ...                               # openstacksdk with cloud 'vmr-lab'
    lab.stop()

Services are WSGI apps (:mod:`vmr_lab.services.base`) served by cheroot
threads.  Neutron, Octavia, Glance, Cinder and Mistral are optional: when
their module is missing the attribute is None and they are left out of the
catalog.  The control API (:mod:`vmr_lab.control`) lets tests and demos in
another process inject faults and read the invariant monitor.
"""

import importlib
import json
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

#: Seconds each asynchronous action takes (tunable per lab).
DEFAULT_DELAYS = {
    'boot': 0.3, 'delete': 0.1, 'evacuate': 0.5, 'live_migrate': 1.0,
    'migrate': 0.5, 'rebuild': 0.3, 'reboot': 0.2, 'stop': 0.1,
    'start': 0.1, 'suspend': 0.1, 'resume': 0.1, 'snapshot': 0.2,
    # A powered-on host runs nova-compute after this long.
    'host_boot': 1.0,
    # How long nova-api blocks calling a compute it wrongly thinks is up
    # (rpc_response_timeout, 60 s in production).
    'rpc_timeout': 3.0,
}

# (attribute, module, class) of the services another helper provides.
_OPTIONAL_SERVICES = (
    ('neutron', 'vmr_lab.services.neutron', 'NeutronAPI'),
    ('octavia', 'vmr_lab.services.octavia', 'OctaviaAPI'),
    ('glance', 'vmr_lab.services.glance', 'GlanceAPI'),
    ('cinder', 'vmr_lab.services.cinder', 'CinderAPI'),
    ('mistral', 'vmr_lab.services.mistral', 'MistralAPI'),
)

STATE_FORMAT = 'vmr-lab-state/1'
ADMIN_PASSWORD = 'vmr-lab-admin'  # noqa: S105 - a published lab default
BMC_USERNAME = 'admin'
BMC_PASSWORD = 'vmr-lab-bmc'  # noqa: S105 - a published lab default


def _load_optional(module_name, class_name):
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        # Only tolerate the module itself being absent, not its bugs.
        if exc.name != module_name:
            raise
        return None
    return getattr(module, class_name)


class LabCloud:
    """An OpenStack cloud on 127.0.0.1 with simulated hosts and BMCs.

    :param hosts: number of compute hosts (named ``compute-1``...) or a list
        of host names.
    :param servers: servers to seed, spread over the hosts, ACTIVE and
        running, owned by project ``demo``.
    :param service_down_time: seconds without a report before Nova calls a
        nova-compute ``down`` (60 in production).
    :param delays: overrides of :data:`DEFAULT_DELAYS`.
    :param microversion_max: highest Nova microversion served.
    :param state_file: JSON file the lab state is written to on stop and
        resumed from at construction when it exists.
    :param state_dir: where per-host files (``<host>/boot_id``) live; a
        temporary directory by default.
    :param bmc: wire a virtual IPMI BMC to every host when
        :mod:`vmr_lab.bmc` is available.
    :param bmc_base_port: first BMC UDP port (host *i* gets base + i);
        free ports by default.
    :param conductor_workers: boots and evacuations run at most this many
        at a time (each takes its delay), like a small nova-conductor.
    """

    def __init__(self, hosts=3, servers=0, service_down_time=6.0, delays=None,
                 microversion_max='2.96', state_file=None, state_dir=None,
                 report_interval=1.0, bmc=True, bmc_base_port=None,
                 bmc_username=BMC_USERNAME, bmc_password=BMC_PASSWORD,
                 host_vcpus=16, host_ram_mb=32768, control_port=0,
                 conductor_workers=4):
        self.lock = threading.RLock()
        self.service_down_time = float(service_down_time)
        self.delays = dict(DEFAULT_DELAYS, **(delays or {}))
        self.microversion_max = microversion_max
        self.conductor_workers = conductor_workers
        self.state_file = state_file
        if state_dir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix='vmr-lab-')
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
        self._running = False

        names = (list(hosts) if not isinstance(hosts, int)
                 else ['compute-%d' % (i + 1) for i in range(hosts)])
        self.hosts = {}
        self.nova = None
        for name in names:
            self.hosts[name] = SimHost(self, name, vcpus=host_vcpus,
                                       ram_mb=host_ram_mb, state_dir=state_dir,
                                       report_interval=report_interval)

        from vmr_lab.control import ControlAPI
        from vmr_lab.services.keystone import KeystoneAPI
        from vmr_lab.services.nova import NovaAPI
        self.keystone = KeystoneAPI(self)
        self.nova = NovaAPI(self)
        for attr, module_name, class_name in _OPTIONAL_SERVICES:
            cls = _load_optional(module_name, class_name)
            setattr(self, attr, cls(self) if cls is not None else None)
        self.control = ControlAPI(self)
        if state_file and os.path.exists(state_file):
            # Resume: the saved cloud replaces the seed.
            self.load_state(state_file)
            servers = 0
        for i in range(int(servers)):
            host = names[i % len(names)] if names else None
            self.nova.seed_server('lab-vm-%d' % (i + 1), host)

    # -- services -------------------------------------------------------------
    def services(self):
        """Every running OpenStack service object, catalog order."""
        found = [self.keystone, self.nova]
        for attr, _, _ in _OPTIONAL_SERVICES:
            service = getattr(self, attr)
            if service is not None:
                found.append(service)
        return found

    def endpoints(self, project_id=None):
        """(service_type, name, url) of every served service (after start).

        A ``%(project_id)s`` in a service's ``endpoint_path`` is replaced by
        ``project_id``, as Keystone does when it builds a token's catalog.
        """
        rows = []
        for service in self.services():
            port = self.ports.get(service.name)
            if port is None:
                continue
            path = getattr(service, 'endpoint_path', '') or ''
            if '%(project_id)s' in path:
                path = path % {'project_id': project_id or ''}
            rows.append((service.service_type, service.name,
                         'http://127.0.0.1:%d%s' % (port, path)))
        return rows

    def url(self, name):
        """Root URL of service ``name`` ('keystone', 'nova', 'control'...)."""
        return 'http://127.0.0.1:%d' % self.ports[name]

    @property
    def bmc_password(self):
        """The IPMI password of every BMC (for fence profiles; never log)."""
        return self._bmc_password

    @property
    def auth_url(self):
        """Keystone's v3 URL for clouds.yaml."""
        return self.url('keystone') + '/v3'

    @property
    def control_url(self):
        """Base URL of the control API (``.../lab/v1``)."""
        return self.url('control') + '/lab/v1'

    def start(self):
        """Serve every service on its own 127.0.0.1 port; wire the BMCs."""
        if self._running:
            return self
        self._running = True
        self._stopped = False
        try:
            for service in self.services() + [self.control]:
                port = self.control_port if service is self.control else 0
                self._serve(service, port)
            self._start_bmcs()
        except Exception:
            self.stop()
            raise
        LOG.info('lab cloud started: %s', ', '.join(
            '%s=%d' % item for item in sorted(self.ports.items())))
        return self

    def _serve(self, service, port):
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

    def _start_bmcs(self):
        if not self.bmc_enabled:
            return
        try:
            from vmr_lab.bmc import BmcServer
        except ImportError:
            LOG.warning('vmr_lab.bmc is not available: hosts have no BMC')
            return
        self.bmc_server = BmcServer(address='127.0.0.1')
        for i, host in enumerate(self.hosts.values()):
            port = (self.bmc_base_port + i if self.bmc_base_port
                    else free_udp_port())
            host.bmc = self.bmc_server.add(host.name, port, self.bmc_username,
                                           self._bmc_password, host.get_power,
                                           host.set_power)
        self.bmc_server.start()

    def _stop_bmcs(self):
        if self.bmc_server is not None:
            self.bmc_server.stop()
            self.bmc_server = None
        for host in self.hosts.values():
            host.bmc = None

    def stop(self):
        """Stop every server, timer, proxy and BMC; write the state file."""
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
        self._stop_bmcs()
        for host in self.hosts.values():
            if host.etcd_proxy is not None:
                host.etcd_proxy.stop()
                host.etcd_proxy = None
        if self.state_file and self._running:
            self.save_state(self.state_file)
        self._running = False
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

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
    def clouds_config(self):
        """The ``clouds:`` mapping for the three lab clouds."""
        def cloud(user, password, project):
            return {'auth': {'auth_url': self.auth_url, 'username': user,
                             'password': password, 'project_name': project,
                             'user_domain_name': 'Default',
                             'project_domain_name': 'Default'},
                    'region_name': 'RegionOne', 'interface': 'public',
                    'identity_api_version': 3}
        return {'clouds': {
            'vmr-lab': cloud('admin', ADMIN_PASSWORD, 'admin'),
            'vmr-lab-member': cloud('demo', 'vmr-lab-demo', 'demo'),
            'vmr-lab-reader': cloud('viewer', 'vmr-lab-viewer', 'demo'),
        }}

    def write_clouds_yaml(self, path):
        """Write clouds ``vmr-lab`` (admin), ``-member`` and ``-reader``."""
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

    def save_state(self, path):
        """Write the lab state to ``path`` (JSON) so a later lab resumes it.

        Holds every service's ``snapshot()``, host power, and -- for
        people reading it -- the servers, violations and the event timeline.
        """
        state = {
            'format': STATE_FORMAT,
            'services': {service.name: service.snapshot()
                         for service in self.services()
                         if hasattr(service, 'snapshot')},
            'hosts': {name: {'power': host.power}
                      for name, host in self.hosts.items()},
            'servers': self.nova.find_servers() if self.nova else [],
            'violations': self.monitor.violations(),
            'events': self.events.since(0),
        }
        tmp = path + '.tmp'
        with open(tmp, 'w') as fh:
            json.dump(state, fh, indent=1, sort_keys=True, default=str)
        os.replace(tmp, path)
        return path

    def load_state(self, path):
        """Resume the state ``save_state`` wrote (before :meth:`start`).

        Hosts keep their power state; ACTIVE servers run again on their
        powered hosts.
        """
        with open(path) as fh:
            state = json.load(fh)
        if state.get('format') != STATE_FORMAT:
            raise ValueError('%s is not a vmr-lab state file (format %r, '
                             'expected %r)' % (path, state.get('format'),
                                               STATE_FORMAT))
        by_name = {service.name: service for service in self.services()}
        for name, snapshot in state['services'].items():
            service = by_name.get(name)
            if service is not None and hasattr(service, 'restore'):
                service.restore(snapshot)
        with self.lock:
            for name, saved in state.get('hosts', {}).items():
                host = self.hosts.get(name)
                if host is not None and saved.get('power') == 'off':
                    host.set_power('off')
            for server in self.nova.find_servers(vm_state='active'):
                host = self.hosts.get(server['host'] or '')
                if host is not None:
                    host.start_server(server['id'])
        self.events.add('state_loaded', path=path)
