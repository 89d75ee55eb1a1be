"""Host aggregates (``os-aggregates``) and the availability zones their
metadata defines (``os-availability-zone``).

A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import datetime
import uuid

from vmr_lab.services.base import Fault
from vmr_lab.services.nova.common import _iso_us, _now


class Aggregates:
    """Host aggregates and availability zones (a mixin)."""

    def _aggregate_view(self, req, aggregate):
        view = {'id': aggregate['id'], 'name': aggregate['name'],
                'availability_zone': aggregate['metadata'].get(
                    'availability_zone'),
                'hosts': list(aggregate['hosts']),
                'metadata': dict(aggregate['metadata']),
                'created_at': _iso_us(aggregate['created_at']),
                'updated_at': _iso_us(aggregate['updated_at']),
                'deleted': False, 'deleted_at': None}
        if self.mv(req, '2.41'):
            view['uuid'] = aggregate['uuid']
        return view

    def _get_aggregate(self, aggregate_id):
        for aggregate in self.aggregates.values():
            if str(aggregate['id']) == str(aggregate_id) or \
                    aggregate['uuid'] == aggregate_id:
                return aggregate
        raise Fault(404, 'Aggregate %s could not be found.' % aggregate_id)

    def list_aggregates(self, req, ctx):
        self._admin(ctx, 'os_compute_api:os-aggregates:index')
        with self.state_lock:
            return 200, {'aggregates': [self._aggregate_view(req, a)
                                        for a in self.aggregates.values()]}

    def create_aggregate(self, req, ctx):
        self._admin(ctx, 'os_compute_api:os-aggregates:create')
        body = self.json_body(req, 'aggregate')
        name = body.get('name')
        if not name:
            raise Fault(400, "Invalid input for field/attribute aggregate. "
                             "'name' is a required property")
        with self.state_lock:
            if any(a['name'] == name for a in self.aggregates.values()):
                raise Fault(409, 'Aggregate %s already exists.' % name)
            now = _now()
            aggregate = {'id': next(self._aggregate_ids),
                         'uuid': str(uuid.uuid4()), 'name': name,
                         'hosts': [], 'metadata': {}, 'created_at': now,
                         'updated_at': None}
            if body.get('availability_zone'):
                aggregate['metadata']['availability_zone'] = \
                    body['availability_zone']
            self.aggregates[aggregate['id']] = aggregate
            return 200, {'aggregate': self._aggregate_view(req, aggregate)}

    def show_aggregate(self, req, ctx, aggregate_id):
        self._admin(ctx, 'os_compute_api:os-aggregates:show')
        with self.state_lock:
            return 200, {'aggregate': self._aggregate_view(
                req, self._get_aggregate(aggregate_id))}

    def update_aggregate(self, req, ctx, aggregate_id):
        self._admin(ctx, 'os_compute_api:os-aggregates:update')
        body = self.json_body(req, 'aggregate')
        with self.state_lock:
            aggregate = self._get_aggregate(aggregate_id)
            if body.get('name'):
                aggregate['name'] = body['name']
            if 'availability_zone' in body:
                if body['availability_zone']:
                    aggregate['metadata']['availability_zone'] = \
                        body['availability_zone']
                else:
                    aggregate['metadata'].pop('availability_zone', None)
            aggregate['updated_at'] = _now()
            return 200, {'aggregate': self._aggregate_view(req, aggregate)}

    def delete_aggregate(self, req, ctx, aggregate_id):
        self._admin(ctx, 'os_compute_api:os-aggregates:delete')
        with self.state_lock:
            aggregate = self._get_aggregate(aggregate_id)
            if aggregate['hosts']:
                raise Fault(400, 'Cannot remove aggregate %s: it still has '
                                 'hosts %s.' % (aggregate_id,
                                                ', '.join(aggregate['hosts'])))
            del self.aggregates[aggregate['id']]
        return 200, None

    def aggregate_action(self, req, ctx, aggregate_id):
        self._admin(ctx, 'os_compute_api:os-aggregates:add_host')
        body = self.json_body(req)
        with self.state_lock:
            aggregate = self._get_aggregate(aggregate_id)
            if 'add_host' in body:
                host = (body['add_host'] or {}).get('host')
                if host not in self.lab.hosts:
                    raise Fault(404, 'Compute host %s could not be found.'
                                % host)
                if host in aggregate['hosts']:
                    raise Fault(409, 'Aggregate %s already has host %s.'
                                % (aggregate_id, host))
                aggregate['hosts'].append(host)
            elif 'remove_host' in body:
                host = (body['remove_host'] or {}).get('host')
                if host not in aggregate['hosts']:
                    raise Fault(404, 'Cannot remove host %s in aggregate %s: '
                                     'not found.' % (host, aggregate_id))
                aggregate['hosts'].remove(host)
            elif 'set_metadata' in body:
                metadata = (body['set_metadata'] or {}).get('metadata')
                if not isinstance(metadata, dict):
                    raise Fault(400, "Invalid input for field/attribute "
                                     "set_metadata. 'metadata' is a required "
                                     "property")
                for key, value in metadata.items():
                    if value is None:
                        aggregate['metadata'].pop(key, None)
                    else:
                        aggregate['metadata'][key] = str(value)
            else:
                raise Fault(400, 'Invalid request body: unknown aggregate '
                                 'action %s' % ', '.join(body))
            aggregate['updated_at'] = _now()
            return 200, {'aggregate': self._aggregate_view(req, aggregate)}

    # -- availability zones ---------------------------------------------------
    def list_zones(self, req, ctx):
        with self.state_lock:
            zones = sorted({self._host_zone(h) for h in self.lab.hosts})
        return 200, {'availabilityZoneInfo': [
            {'zoneName': z, 'zoneState': {'available': True}, 'hosts': None}
            for z in zones]}

    def list_zones_detail(self, req, ctx):
        self._admin(ctx, 'os_compute_api:os-availability-zone:detail')
        with self.state_lock:
            zones = {'internal': {}}
            for service in self.services.values():
                zone = (self._host_zone(service['host'])
                        if service['binary'] == 'nova-compute' else 'internal')
                updated = datetime.datetime.fromtimestamp(
                    self._last_report(service), datetime.timezone.utc)
                zones.setdefault(zone, {}).setdefault(service['host'], {})[
                    service['binary']] = {
                        'available': self.service_is_up(service),
                        'active': service['status'] == 'enabled',
                        'updated_at': _iso_us(updated.replace(tzinfo=None))}
        return 200, {'availabilityZoneInfo': [
            {'zoneName': z, 'zoneState': {'available': True},
             'hosts': hosts or None} for z, hosts in sorted(zones.items())]}
