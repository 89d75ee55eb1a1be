"""os-hypervisors: the lab's hosts as hypervisors, their servers and statistics.

A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import uuid

from vmr_lab.services.base import Fault


class Hypervisors:
    """os-hypervisors of the Nova API (a mixin)."""

    def _hypervisor_view(self, req, name, detail, with_servers):
        host = self.lab.hosts[name]
        service = self.compute_service(name)
        hid = (str(uuid.uuid5(uuid.NAMESPACE_URL, 'hypervisor:' + name))
               if self.mv(req, '2.53') else list(self.lab.hosts).index(name) + 1)
        view = {'id': hid, 'hypervisor_hostname': name,
                'state': 'up' if self.service_is_up(service) else 'down',
                'status': service['status']}
        if detail:
            view.update({
                'hypervisor_type': 'QEMU', 'hypervisor_version': 8002000,
                'host_ip': '127.0.0.1',
                'service': {'host': name, 'id': service['uuid']
                            if self.mv(req, '2.53') else service['id'],
                            'disabled_reason': service['disabled_reason']}})
            if not self.mv(req, '2.88'):
                vcpus, ram = self._usage(name)
                count = sum(1 for s in self.servers.values()
                            if s['host'] == name)
                view.update({
                    'vcpus': host.vcpus, 'memory_mb': host.ram_mb,
                    'local_gb': host.disk_gb, 'vcpus_used': vcpus,
                    'memory_mb_used': ram, 'local_gb_used': 0,
                    'free_ram_mb': host.ram_mb - ram,
                    'free_disk_gb': host.disk_gb, 'current_workload': 0,
                    'running_vms': count, 'disk_available_least':
                        host.disk_gb, 'cpu_info': '{}'})
            else:
                view['uptime'] = None
        if with_servers:
            servers = [{'uuid': s['id'], 'name': s['instance_name']}
                       for s in self.servers.values() if s['host'] == name]
            # Before 2.75 the key is left out for a host without servers.
            if servers or self.mv(req, '2.75'):
                view['servers'] = servers
        return view

    def _hypervisors(self, req, ctx, detail):
        self._admin(ctx, 'os_compute_api:os-hypervisors:list')
        with_servers = str(req.GET.get('with_servers', '')).lower() in (
            'true', '1', 'yes') and self.mv(req, '2.53')
        pattern = req.GET.get('hypervisor_hostname_pattern')
        with self.state_lock:
            rows = [self._hypervisor_view(req, name, detail, with_servers)
                    for name in self.lab.hosts
                    if not pattern or pattern in name]
        if pattern and not rows:
            raise Fault(404, 'Hypervisor matching %s could not be found.'
                        % pattern)
        return 200, {'hypervisors': rows}

    def list_hypervisors(self, req, ctx):
        return self._hypervisors(req, ctx, False)

    def list_hypervisors_detail(self, req, ctx):
        return self._hypervisors(req, ctx, True)

    def show_hypervisor(self, req, ctx, hypervisor_id):
        self._admin(ctx, 'os_compute_api:os-hypervisors:show')
        with_servers = str(req.GET.get('with_servers', '')).lower() in (
            'true', '1', 'yes')
        with self.state_lock:
            for name in self.lab.hosts:
                view = self._hypervisor_view(req, name, True, with_servers)
                if str(view['id']) == hypervisor_id or \
                        (not self.mv(req, '2.53') and name == hypervisor_id):
                    return 200, {'hypervisor': view}
        raise Fault(404, 'Hypervisor with ID %s could not be found.'
                    % hypervisor_id)

    def hypervisor_servers(self, req, ctx, hostname):
        self._admin(ctx, 'os_compute_api:os-hypervisors:servers')
        if self.mv(req, '2.53'):
            raise Fault(404, 'The resource could not be found.')
        with self.state_lock:
            rows = [self._hypervisor_view(req, n, False, True)
                    for n in self.lab.hosts if hostname in n]
        if not rows:
            raise Fault(404, 'Hypervisor matching %s could not be found.'
                        % hostname)
        return 200, {'hypervisors': rows}

    def hypervisor_statistics(self, req, ctx):
        self._admin(ctx, 'os_compute_api:os-hypervisors:statistics')
        if self.mv(req, '2.88'):
            raise Fault(404, 'The resource could not be found.')
        with self.state_lock:
            stats = {'count': len(self.lab.hosts), 'vcpus': 0,
                     'memory_mb': 0, 'vcpus_used': 0, 'memory_mb_used': 0,
                     'running_vms': 0}
            for name, host in self.lab.hosts.items():
                vcpus, ram = self._usage(name)
                stats['vcpus'] += host.vcpus
                stats['memory_mb'] += host.ram_mb
                stats['vcpus_used'] += vcpus
                stats['memory_mb_used'] += ram
                stats['running_vms'] += len(host.running)
        return 200, {'hypervisor_statistics': stats}
