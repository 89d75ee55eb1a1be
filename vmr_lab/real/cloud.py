"""The real tier with the lab's machines on top: :class:`RealCloud`.

Real Keystone, Placement, Nova, Glance and Neutron from their own releases
(:class:`vmr_lab.real.services.RealServices`) run on 127.0.0.1 with one
real nova-compute per simulated host; servers boot with a port on the
``private`` network (routed to ``public``, where floating IPs come from).
Each host keeps what the lab gives it
(:class:`vmr_lab.datacenter.Datacenter`): a virtual IPMI BMC, an etcd proxy
for its agent, faults, the invariant monitor and the control API.

What a fault does to a host's real processes:

===============  =====================================================
power off        SIGKILL of the host's nova-compute process group (its
                 fake guests die with it) and of its agents; the BMC
                 then reports ``off``
power on         a new boot id, then nova-compute starts again
kernel hang      SIGSTOP of nova-compute and the agents (guests "run")
partition        the agent's etcd proxy and nova-compute's RabbitMQ
                 proxy drop everything
===============  =====================================================

The monitor learns what really runs where from the hypervisors
themselves: the fake virt driver journals every guest start and stop
(``<host state>/guests.jsonl``), read here every 0.2 s.  Evacuations and
live migrations come from Nova's own migration records.
"""

import json
import logging
import os
import threading
import time

from vmr_lab.datacenter import Datacenter
from vmr_lab.datacenter import host_names

LOG = logging.getLogger(__name__)

#: Seconds between two reads of the guest journals and of Nova's migrations.
WATCH_INTERVAL = 0.2
MIGRATION_INTERVAL = 1.0
#: boots of one server before the harness gives up (boot_many)
BOOT_TRIES = 3


class RealCloud(Datacenter):
    """Real OpenStack services under the lab's hosts, BMCs and monitor.

    :param hosts: number of hosts (``compute-1``...) or their names; each
        gets one real nova-compute.
    :param workdir: where the services keep their configuration, logs,
        databases and queues (one per run); a temporary directory by
        default.
    :param install: the installed releases
        (:func:`vmr_lab.real.install.ensure_installed`; installed on first
        use, kept between runs).
    :param services: optional services to run too (``'aodh'``,
        ``'mistral'``); each
        costs start-up time, so none by default.
    """

    tmp_prefix = 'vmr-real-'
    cloud_name = 'vmr-real'
    @property
    def unsupported(self):
        """``{demo scenario: why it cannot run on this tier}``."""
        if self.openstack.octavia:
            return {}
        return {'lb-failover': 'this real tier runs without Octavia: start '
                               "it with services=('octavia',) (vmr-lab demo "
                               '--real --scenario lb-failover does)'}

    def __init__(self, hosts=3, workdir=None, install=None, state_dir=None,
                 bmc=True, bmc_base_port=None, control_port=0,
                 boot_delay=0.5, servers=0, services=(), **kwargs):
        super().__init__(hosts=hosts, delays={'host_boot': boot_delay},
                         state_dir=state_dir or workdir, bmc=bmc,
                         bmc_base_port=bmc_base_port,
                         control_port=control_port, **kwargs)
        from vmr_lab.real.services import RealServices
        self.workdir = workdir or self.state_dir
        self.openstack = RealServices(os.path.join(self.workdir, 'openstack'),
                                      hosts=host_names(hosts), install=install,
                                      log=LOG.info, services=services)
        self._conn = None
        self._conn_lock = threading.Lock()
        self._watcher = None
        self._offsets = {}
        self._migrations_seen = set()
        self._running = False
        self.n_servers = int(servers)

    # -- life cycle -----------------------------------------------------------
    def start(self):
        """Start the services, one nova-compute per host, BMCs, watchers."""
        if self._running:
            return self
        self._running = True
        try:
            self.openstack.start()
            for name in self.hosts:
                self._attach_compute(name)
            self.start_machines()
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name='vmr-real-watch')
            self._watcher.start()
            names = sorted(self.hosts)
            self.boot_many([('lab-vm-%d' % (i + 1), names[i % len(names)])
                            for i in range(self.n_servers)])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop everything this cloud started (idempotent)."""
        self._running = False
        self.stop_machines()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.openstack.stop()
        self.remove_state_dir()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _attach_compute(self, name):
        host = self.hosts[name]
        host.attach_machine(-self.openstack.compute_pid(name))
        proxy = self.openstack.compute_rabbit_proxy(name)
        if proxy is not None and proxy not in host.extra_proxies:
            host.extra_proxies.append(proxy)
            if host.partitioned:
                proxy.set_mode('drop')

    def host_booted(self, name):
        """The host is back: its nova-compute starts again (a new life)."""
        if not self._running:
            return
        self.openstack.start_compute(name, wait=False)
        self._attach_compute(name)

    def restore(self, timeout=120):
        """Put the cloud back as a test found it.

        Every host powered on, un-hung, un-partitioned and reporting; every
        nova-compute service un-forced and enabled; every server deleted;
        the monitor's violations forgotten.
        """
        from vmr_lab.real.procs import wait_for
        for host in self.hosts.values():
            host.apply_fault('clear')
            if host.get_power() != 'on':
                host.set_power('on')
        for name in self.hosts:
            wait_for('nova-compute of %s restarted' % name,
                     lambda n=name: self.openstack.compute_pid(n), timeout)
            self.openstack.wait_compute_up(name, timeout)
        conn = self.conn
        for service in conn.compute.services(binary='nova-compute'):
            if service.is_forced_down:
                self._unforce_returned(service, timeout)
            if service.status != 'enabled':
                conn.compute.enable_service(service)
        servers = list(conn.compute.servers(all_projects=True))
        for server in servers:
            conn.compute.delete_server(server, force=True)
        wait_for('every server deleted', lambda: not self.find_servers(),
                 timeout)
        self._restore_network()
        self.monitor.reset()

    def _unforce_returned(self, service, timeout):
        """Un-force the service of a host that is back.  Nova refuses (400)
        while the host has ``done`` evacuations its nova-compute has not
        cleaned up at start; that start cleans one evacuation per server,
        so a server evacuated twice (a lost evacuation done again) leaves
        one: then that nova-compute is started once more."""
        from vmr_lab.real.procs import ReadinessTimeout, wait_for

        def unforce():
            # an error (Nova's 400) means "not yet" to wait_for
            self.conn.compute.update_service_forced_down(service,
                                                         forced=False)
            return True
        what = 'nova-compute of %s un-forced' % service.host
        try:
            wait_for(what, unforce, 20, 0.5)
            return
        except ReadinessTimeout:
            LOG.info('real tier: Nova still refuses to un-force %s; '
                     'restarting its nova-compute once more', service.host)
        self.openstack.computes[service.host].stop()
        self.openstack.start_compute(service.host)
        self._attach_compute(service.host)
        wait_for(what, unforce, timeout, 0.5)

    def _restore_network(self):
        """Only the start-up topology stays: no floating IP, no loose port,
        no security group but the projects' ``default`` ones."""
        net = self.conn.network
        for fip in list(net.ips()):
            net.delete_ip(fip, ignore_missing=True)
        for port in list(net.ports()):
            if not (port.device_owner or '').startswith('network:'):
                net.delete_port(port, ignore_missing=True)
        for group in list(net.security_groups()):
            if group.name != 'default':
                net.delete_security_group(group, ignore_missing=True)

    # -- OpenStack, as admin --------------------------------------------------
    def connect(self, cloud=None, **kwargs):
        """A new openstacksdk Connection to ``cloud`` (admin by default)."""
        import openstack.config
        import openstack.connection
        path = self.write_clouds_yaml(os.path.join(self.workdir,
                                                   'clouds.yaml'))
        config = openstack.config.OpenStackConfig(config_files=[path])
        return openstack.connection.Connection(
            config=config.get_one(cloud or self.cloud_name, **kwargs))

    @property
    def conn(self):
        """The harness's own admin Connection (compute pinned to 2.96)."""
        with self._conn_lock:  # the watcher and the test's thread
            if self._conn is None:
                self._conn = self.connect(compute_api_version='2.96')
            return self._conn

    @property
    def auth_url(self):
        return self.openstack.auth_url

    def endpoints(self, project_id=None):
        return [(kind, kind, url)
                for kind, url in sorted(self.openstack.endpoints.items())]

    def clouds_config(self):
        return self.openstack.clouds_config()

    @staticmethod
    def _server_dict(server):
        status = server.status
        return {'id': server.id, 'name': server.name, 'status': status,
                'host': server.compute_host,
                'vm_state': server.vm_state,
                'project_id': server.project_id,
                # A server somebody stopped on purpose is not lost.
                'deliberately_stopped': status == 'SHUTOFF'}

    def find_servers(self, **filters):
        rows = [self._server_dict(s) for s in
                self.conn.compute.servers(details=True, all_projects=True)
                if s.status != 'DELETED']
        return [r for r in rows
                if all(r.get(k) == v for k, v in filters.items())]

    def get_server(self, server_id):
        import openstack.exceptions
        try:
            server = self.conn.compute.get_server(server_id)
        except openstack.exceptions.NotFoundException:
            return None
        # Real Nova still answers 200 with DELETED for a while after DELETE.
        return None if server.status == 'DELETED' else \
            self._server_dict(server)

    def compute_view(self, name):
        services = [s for s in self.conn.compute.services(binary='nova-compute')
                    if s.host == name]
        if not services:
            return {'nova_compute': None}
        service = services[0]
        return {'nova_compute': {
            'id': service.id, 'state': service.state,
            'status': service.status, 'forced_down': service.is_forced_down,
            'disabled_reason': service.disabled_reason,
            'last_report': service.updated_at}}

    def boot(self, name, host, metadata=None, flavor='m1.tiny', wait=60,
             network='private', **server_args):
        """Boot ``name`` on ``host``; wait until it is ACTIVE.

        It gets a port on ``network`` (a name); ``network=None`` boots it
        without one (``networks='none'``).  ``server_args`` go to
        ``create_server`` as they are (``security_groups``...).
        """
        return self.boot_many([(name, host)], metadata, flavor, wait,
                              network, **server_args)[0]

    def boot_many(self, placements, metadata=None, flavor='m1.tiny',
                  wait=120, network='private', **server_args):
        """Boot every ``(name, host)`` at once; wait until all are ACTIVE."""
        import openstack.exceptions
        conn = self.conn
        image = conn.image.find_image(self.openstack.image_name)
        flavor_id = conn.compute.find_flavor(flavor).id
        networks = 'none'
        if network is not None:
            networks = [{'uuid': conn.network.find_network(
                network, ignore_missing=False).id}]

        def create(name, host):
            return conn.compute.create_server(
                name=name, image_id=image.id, flavor_id=flavor_id,
                networks=networks, metadata=metadata or {},
                availability_zone='nova:%s' % host, **server_args)

        created = [create(name, host) for name, host in placements]
        booted = []
        for server, (name, host) in zip(created, placements, strict=True):
            for attempt in range(1, BOOT_TRIES + 1):
                try:
                    booted.append(conn.compute.wait_for_server(
                        server, interval=0.2, wait=wait))
                    break
                except openstack.exceptions.ResourceFailure:
                    fault = getattr(conn.compute.get_server(server),
                                    'fault', None) or {}
                if attempt == BOOT_TRIES:
                    raise RuntimeError(
                        'real tier: boot of %s on %s ended in ERROR %d '
                        'times (last: %s)' % (name, host, attempt, fault.get(
                            'message', 'no fault recorded')))
                # A loaded machine sometimes fails a boot (an RPC timeout;
                # a compute that just restarted and has not reported its
                # resources, after a chaos test): say why, wait until the
                # host reports, and boot it again.
                LOG.warning('real tier: boot of %s on %s ended in ERROR '
                            '(%s); booting it again', name, host,
                            fault.get('message', 'no fault recorded'))
                conn.compute.delete_server(server, force=True)
                self.openstack.wait_compute_up(host, wait)
                server = create(name, host)
        return booted

    # -- what really runs where -----------------------------------------------
    def wait_running(self, server_id, host, timeout=10):
        """True once ``host``'s hypervisor runs ``server_id`` (and only it)."""
        return self._wait_guest(server_id, host, True, timeout)

    def wait_stopped(self, server_id, host, timeout=10):
        """True once ``host``'s hypervisor no longer runs ``server_id``."""
        return self._wait_guest(server_id, host, False, timeout)

    def _wait_guest(self, server_id, host, running, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                where = {h.name for h in self.hosts.values()
                         if server_id in h.running}
            if (where == {host}) if running else (host not in where):
                return True
            time.sleep(WATCH_INTERVAL / 2)
        return False

    def _watch(self):
        next_migrations = 0.0
        while self._running:
            for name in self.hosts:
                try:
                    self._read_guests(name)
                except OSError as exc:
                    LOG.warning('cannot read the guest journal of %s: %s',
                                name, exc)
            if time.monotonic() >= next_migrations:
                next_migrations = time.monotonic() + MIGRATION_INTERVAL
                try:
                    self._read_migrations()
                except Exception as exc:  # a restarting nova-api: next time
                    LOG.debug('cannot list migrations: %s', exc)
            time.sleep(WATCH_INTERVAL)

    def _read_guests(self, name):
        path = self.openstack.guests_journal(name)
        offset = self._offsets.get(name, 0)
        try:
            with open(path, 'rb') as fh:
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return
        # Only whole lines: a process killed mid-write leaves half a line.
        end = data.rfind(b'\n') + 1
        self._offsets[name] = offset + end
        host = self.hosts[name]
        for line in data[:end].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event['event'] == 'start':
                host.start_server(event['server'])
            elif event['event'] == 'stop':
                host.stop_server(event['server'], reason=event.get('why'))
            elif event['event'] == 'hypervisor_start':
                # Whatever ran in an earlier life of this nova-compute died
                # with it.
                for server_id in sorted(host.running):
                    host.stop_server(server_id, reason='hypervisor restarted')

    def _read_migrations(self):
        for migration in self.conn.compute.migrations():
            key = migration.id
            if key in self._migrations_seen:
                continue
            self._migrations_seen.add(key)
            kind = migration.migration_type
            action = {'evacuation': 'evacuate',
                      'live-migration': 'live_migrate'}.get(kind, kind)
            self.events.add(action, server=migration.server_id,
                            host=migration.source_compute,
                            target=migration.dest_compute,
                            status=migration.status)
            if action == 'evacuate':
                self.monitor.server_moved(migration.server_id,
                                          migration.source_compute,
                                          migration.dest_compute, action)
