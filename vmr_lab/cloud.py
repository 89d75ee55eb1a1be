"""The lab cloud: every simulated service, host and BMC in one object.

::

    lab = LabCloud(hosts=3, servers=6)
    lab.start()                       # each API on its own 127.0.0.1 port
    lab.write_clouds_yaml('clouds.yaml')
    ...                               # openstacksdk with cloud 'vmr-lab'
    lab.stop()

Services are WSGI apps (:mod:`vmr_lab.services.base`) served by cheroot
threads: Keystone, Nova, Neutron, Octavia, Glance, Cinder and Mistral,
always all of them.  The control API (:mod:`vmr_lab.control`) lets tests and demos in
another process inject faults and read the invariant monitor.
"""

import importlib
import json
import logging
import os

from vmr_lab.datacenter import BMC_PASSWORD
from vmr_lab.datacenter import BMC_USERNAME
from vmr_lab.datacenter import Datacenter
from vmr_lab.datacenter import host_names

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

# (attribute, module, class) of the services after Keystone and Nova, in
# catalog order.
_SERVICES = (
    ('neutron', 'vmr_lab.services.neutron', 'NeutronAPI'),
    ('octavia', 'vmr_lab.services.octavia', 'OctaviaAPI'),
    ('glance', 'vmr_lab.services.glance', 'GlanceAPI'),
    ('cinder', 'vmr_lab.services.cinder', 'CinderAPI'),
    ('mistral', 'vmr_lab.services.mistral', 'MistralAPI'),
)

STATE_FORMAT = 'vmr-lab-state/1'
ADMIN_PASSWORD = 'vmr-lab-admin'  # noqa: S105 - a published lab default


class LabCloud(Datacenter):
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
        self.nova = None
        super().__init__(hosts=hosts,
                         delays=dict(DEFAULT_DELAYS, **(delays or {})),
                         state_dir=state_dir, report_interval=report_interval,
                         bmc=bmc, bmc_base_port=bmc_base_port,
                         bmc_username=bmc_username, bmc_password=bmc_password,
                         host_vcpus=host_vcpus, host_ram_mb=host_ram_mb,
                         control_port=control_port)
        self.service_down_time = float(service_down_time)
        self.microversion_max = microversion_max
        self.conductor_workers = conductor_workers
        self.state_file = state_file
        self._running = False
        names = host_names(hosts)

        from vmr_lab.services.keystone import KeystoneAPI
        from vmr_lab.services.nova import NovaAPI
        self.keystone = KeystoneAPI(self)
        self.nova = NovaAPI(self)
        for attr, module_name, class_name in _SERVICES:
            cls = getattr(importlib.import_module(module_name), class_name)
            setattr(self, attr, cls(self))
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
        return [self.keystone, self.nova] + [
            getattr(self, attr) for attr, _, _ in _SERVICES]

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
        return rows + list(getattr(self, 'extra_endpoints', ()))

    def add_endpoint(self, service_type, name, url):
        """List a service the lab does not run (e.g. a VMR API under test)
        in Keystone's catalog."""
        self.extra_endpoints = list(getattr(self, 'extra_endpoints', ())) + [
            (service_type, name, url)]

    @property
    def auth_url(self):
        """Keystone's v3 URL for clouds.yaml."""
        return self.url('keystone') + '/v3'

    def start(self):
        """Serve every service on its own 127.0.0.1 port; wire the BMCs."""
        if self._running:
            return self
        self._running = True
        try:
            for service in self.services():
                self.serve(service)
            self.start_machines()
        except Exception:
            self.stop()
            raise
        LOG.info('lab cloud started: %s', ', '.join(
            '%s=%d' % item for item in sorted(self.ports.items())))
        return self

    def stop(self):
        """Stop every server, timer, proxy and BMC; write the state file."""
        self.stop_machines()
        if self.state_file and self._running:
            self.save_state(self.state_file)
        self._running = False
        self.remove_state_dir()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what a harness asks of any cloud (the lab or the real tier) ----------
    def find_servers(self, **filters):
        """Servers as dicts (id, name, status, host, ...) matching filters."""
        return self.nova.find_servers(**filters)

    def get_server(self, server_id):
        """One server as a dict, or None."""
        return self.nova.get_server(server_id)

    def host_booted(self, name):
        """A powered-on host finished booting: its nova-compute starts."""
        if self.nova is not None:
            self.nova.host_started(name)

    def compute_view(self, name):
        """What Nova believes about host ``name``, for the control API."""
        if self.nova is None:
            return {}
        return {
            'nova_compute': self.nova.compute_service_view(name),
            # Where Nova believes servers are, next to where they run.
            'assigned_servers': [s['id'] for s in
                                 self.nova.find_servers(host=name)],
        }

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
