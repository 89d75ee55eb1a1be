"""``/v1/plan`` and ``/v1/capacity``: what a host failure would do, read
from the cloud now (pure planning over what the cloud answers)."""

import logging

from vmr_common import exceptions
from vmr_coordinator import cloud
from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator import planning as planning_mod
from vmr_coordinator.segment_records import stored_segments
from vmr_coordinator.api.resources.base import (
    ResourceBase, api_error)

LOG = logging.getLogger(__name__)


class PlanningResource(ResourceBase):
    """``/v1/plan`` and ``/v1/capacity``."""

    def _cloud_read(self, what, func):
        """Run ``func(conn)``; a cloud that cannot answer becomes a 503
        naming ``[cloud] cloud``."""
        try:
            return func(self._cloud())
        except Exception as exc:  # openstacksdk/keystoneauth raise many types
            with self._cloud_lock:
                self._conn = None
            if isinstance(exc, cloud.CloudError):
                text = str(exc)
            else:
                text = exceptions.first_line(exc)
            raise api_error(503, 'cannot read %s from OpenStack with [cloud] cloud '
                            '%r: %s' % (what, self.conf.cloud.cloud, text[:300]))

    def plan(self, req):
        host = (req.GET.get('host') or '').strip()
        if not host:
            raise api_error(400, 'query parameter \'host\' is required: the '
                            'compute host to plan the failure of', 'host')
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.contracts)
        parsed, ignored = [], []
        for kv in kvs:
            try:
                parsed.append(contracts_mod.parse_contract(kv.json()))
            except (exceptions.CorruptRecord, contracts_mod.ContractError) as exc:
                ignored.append({'key': kv.key, 'reason': str(exc)})

        def read(conn):
            hosts = planning_mod.host_view(cloud.hypervisor_capacity(conn),
                                       cloud.compute_services(conn),
                                       cloud.aggregates(conn))
            return hosts, cloud.server_loads(conn)
        hosts, servers = self._cloud_read('hypervisors and servers', read)
        known = {h.name for h in hosts}
        if host not in known and self._etcd(
                self.store.get, self.keys.host(host)) is None:
            raise api_error(404, 'unknown host %r: neither Nova nor VMR knows '
                            'it (known: %s)' % (host, ', '.join(sorted(known))
                                                or 'none'), 'host')
        segments = self._etcd(stored_segments, self.store)
        result = planning_mod.plan_host_failure(
            host, servers, parsed, hosts,
            contracts_mod.ServiceVmPolicy.from_conf(self.conf), segments)
        result['contracts'] = len(parsed)
        result['ignored_contracts'] = ignored
        return 200, {'plan': result}

    def capacity(self, req):

        def read(conn):
            return (cloud.hypervisor_capacity(conn),
                    cloud.compute_services(conn), cloud.aggregates(conn))
        hypervisors, services, aggregates = self._cloud_read(
            'hypervisors, services and aggregates', read)
        segments = self._etcd(stored_segments, self.store)
        return 200, {'capacity': planning_mod.capacity(
            hypervisors, services, aggregates, segments=segments)}
