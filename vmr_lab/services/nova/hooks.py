"""The plain Python calls the lab and other services make on Nova.

Reading servers and compute services for the control API and the monitor,
nova-compute's init_host pass when a host starts, and seeding servers.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import copy
import uuid

from vmr_lab.services.nova.common import RUNNING, SHUTDOWN, _now, status_of


class ServiceHooks:
    """What the lab and other services call on Nova (a mixin)."""

    def _public_record(self, server):
        record = copy.deepcopy({k: v for k, v in server.items()
                                if not k.startswith('_')})
        record['status'] = status_of(server)
        # Nova's API field names too, for hooks written against the API.
        record['tenant_id'] = server['project_id']
        record['image'] = ({'id': server['image_id']} if server['image_id']
                           else '')
        return record

    def get_server(self, server_id):
        """The internal record of ``server_id`` (a copy) or None."""
        with self.state_lock:
            server = self.servers.get(server_id)
            return self._public_record(server) if server else None

    def server_running(self, server_id):
        """True when the server runs on a powered, healthy host."""
        return self.lab.server_running(server_id)

    def find_servers(self, **filters):
        """Internal records matching every ``field=value`` filter."""
        with self.state_lock:
            rows = []
            for server in self.servers.values():
                record = self._public_record(server)
                if all(record.get(k) == v for k, v in filters.items()):
                    rows.append(record)
            return sorted(rows, key=lambda s: s['created_seq'])

    def compute_service_view(self, host):
        """nova-compute of ``host`` as the control API shows it."""
        with self.state_lock:
            service = self.compute_service(host)
            if service is None:
                return None
            return {'id': service['uuid'],
                    'state': 'up' if self.service_is_up(service) else 'down',
                    'status': service['status'],
                    'forced_down': service['forced_down'],
                    'disabled_reason': service['disabled_reason'],
                    'last_report': self._last_report(service),
                    'compute_status_disabled_trait':
                        service['sticky_disabled_trait'] or
                        service['status'] == 'disabled'}

    def host_started(self, host_name):
        """nova-compute on ``host_name`` started: its init_host pass.

        Servers still assigned here come up SHUTOFF (no
        resume_guests_state_on_host_boot); servers evacuated away are
        destroyed locally and their migrations completed.
        """
        with self.state_lock:
            host = self.lab.hosts[host_name]
            for server in self.servers.values():
                if server['host'] != host_name:
                    continue
                if server['id'] in host.running:
                    continue
                if server['vm_state'] in ('active', 'suspended', 'resized') \
                        or server['task_state'] in ('powering-on',
                                                    'rebooting',
                                                    'rebooting_hard'):
                    server['vm_state'] = 'stopped'
                    server['power_state'] = SHUTDOWN
                    server['task_state'] = None
                    server['updated'] = _now()
            for server_id in sorted(host.running):
                server = self.servers.get(server_id)
                if server is None or server['host'] != host_name:
                    # evacuated or deleted while this host was away
                    host.stop_server(server_id, reason='cleanup at restart')
            for migration in self.migrations:
                if migration['migration_type'] == 'evacuation' and \
                        migration['source_compute'] == host_name and \
                        migration['status'] == 'done':
                    migration['status'] = 'completed'
                    migration['updated_at'] = _now()
            self.lab.events.add('nova_compute_started', host=host_name)

    def seed_server(self, name, host, project='demo', flavor_id='2'):
        """Create an ACTIVE server running on ``host`` without delay."""
        project_id = self.lab.keystone.project_id(project)
        user = self.lab.keystone.user_by_name(
            'demo' if project == 'demo' else 'admin')
        with self.state_lock:
            server = self._new_record(name, project_id, user['id'],
                                      self.flavors[flavor_id],
                                      self._default_image_id(), {}, host)
            server['vm_state'] = 'active'
            server['task_state'] = None
            server['power_state'] = RUNNING
            server['launched_at'] = _now()
            self.servers[server['id']] = server
        self._create_ports(server, None)
        with self.state_lock:
            self.lab.hosts[host].start_server(server['id'])
        return server['id']

    def _default_image_id(self):
        glance = self.lab.glance
        if glance is not None:
            images = getattr(glance, 'images', None)
            if isinstance(images, dict) and images:
                return next(iter(images))
        return str(uuid.uuid5(uuid.NAMESPACE_URL, 'vmr-lab-image'))
