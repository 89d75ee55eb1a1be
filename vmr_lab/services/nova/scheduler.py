"""Compute services as the scheduler sees them, and the choice of a host.

Which nova-compute serves a host, whether it is up (a recent report and
not forced down), a host's zone and usage, why a host cannot take a
server (disabled, down, the sticky ``COMPUTE_STATUS_DISABLED`` trait, no
room, a server group's policy) and the fitting host with the most free RAM.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import time


class Scheduler:
    """Compute services' state and the choice of a host (a mixin)."""

    def compute_service(self, host):
        """The nova-compute service record of ``host`` (or None)."""
        for service in self.services.values():
            if service['host'] == host and service['binary'] == 'nova-compute':
                return service
        return None

    def _last_report(self, service):
        host = self.lab.hosts.get(service['host'])
        if host is None:
            return time.time()  # controller services always report
        return host.last_report()

    def service_is_up(self, service):
        """Nova's servicegroup view: recent report and not forced down."""
        if service['forced_down']:
            return False
        return time.time() - self._last_report(service) <= \
            self.lab.service_down_time

    def _host_zone(self, host):
        for aggregate in self.aggregates.values():
            if host in aggregate['hosts'] and \
                    aggregate['metadata'].get('availability_zone'):
                return aggregate['metadata']['availability_zone']
        return 'nova'

    def _usage(self, host):
        vcpus = ram = 0
        for server in self.servers.values():
            if server['host'] == host or server.get('migration_dest') == host:
                flavor = server['flavor']
                vcpus += flavor['vcpus']
                ram += flavor['ram']
        return vcpus, ram

    def _host_problem(self, name, flavor, group=None, server_id=None):
        """Why ``name`` cannot take a server of ``flavor`` (None: it can)."""
        host = self.lab.hosts.get(name)
        service = self.compute_service(name)
        if host is None or service is None:
            return 'unknown host'
        if service['status'] != 'enabled':
            return 'service disabled'
        if not self.service_is_up(service):
            return 'service down'
        if service['sticky_disabled_trait']:
            return 'COMPUTE_STATUS_DISABLED trait'
        vcpus, ram = self._usage(name)
        if vcpus + flavor['vcpus'] > host.vcpus or \
                ram + flavor['ram'] > host.ram_mb:
            return 'not enough vCPUs or RAM'
        if group is not None:
            members = {self.servers[m]['host'] for m in group['members']
                       if m in self.servers and m != server_id}
            if group['policy'] == 'anti-affinity' and name in members:
                return 'anti-affinity'
            if group['policy'] == 'affinity' and members and \
                    name not in members:
                return 'affinity'
        return None

    def _schedule(self, flavor, exclude=(), group=None, server_id=None,
                  zone=None):
        """Pick the fitting host with the most free RAM, or None."""
        best = None
        for name, host in self.lab.hosts.items():
            if name in exclude:
                continue
            if zone and self._host_zone(name) != zone:
                continue
            if self._host_problem(name, flavor, group, server_id):
                continue
            free = host.ram_mb - self._usage(name)[1]
            if group is not None and group['policy'] == 'soft-anti-affinity':
                crowd = sum(1 for m in group['members']
                            if self.servers.get(m, {}).get('host') == name)
                free -= crowd * 10 ** 7
            if best is None or free > best[0]:
                best = (free, name)
        return best[1] if best else None

    def _group_of(self, server_id):
        for group in self.server_groups.values():
            if server_id in group['members']:
                return group
        return None
