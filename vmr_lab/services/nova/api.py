"""The compute v2.1 API of the lab: :class:`NovaAPI` (the package's docstring
says what it does).
"""

import datetime
import itertools
import re
import uuid

from vmr_lab.services.base import Fault, Service
from vmr_lab.services.nova.common import _decode, _encode, _iso_us, _now
from vmr_lab.services.nova.flavors import Flavors
from vmr_lab.services.nova.hooks import ServiceHooks
from vmr_lab.services.nova.hypervisors import Hypervisors
from vmr_lab.services.nova.instance_actions import InstanceActions
from vmr_lab.services.nova.keypairs import Keypairs
from vmr_lab.services.nova.migrations import Migrations
from vmr_lab.services.nova.os_services import OsServices
from vmr_lab.services.nova.scheduler import Scheduler
from vmr_lab.services.nova.server_actions import ServerActions
from vmr_lab.services.nova.server_metadata import ServerMetadata
from vmr_lab.services.nova.server_tags import ServerTags
from vmr_lab.services.nova.servers import Servers
from vmr_lab.services.nova.tasks import Tasks
from vmr_lab.services.nova.views import ServerViews
from vmr_lab.services.nova.volumes import VolumeAttachments

MIN_VERSION = (2, 1)

CONTROLLER_HOST = 'lab-controller'

FLAVORS = (
    # id, name, vcpus, ram MiB, disk GiB
    ('1', 'm1.tiny', 1, 512, 1),
    ('2', 'm1.small', 1, 2048, 20),
    ('3', 'm1.medium', 2, 4096, 40),
    ('4', 'm1.large', 4, 8192, 80),
    ('5', 'm1.xlarge', 8, 16384, 160),
)

_VERSION_RE = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')


class NovaAPI(Servers, ServerActions, ServerMetadata, ServerTags, ServerViews,
              VolumeAttachments, InstanceActions, Migrations, OsServices,
              Hypervisors, Scheduler, Flavors, Keypairs, Tasks, ServiceHooks,
              Service):
    """The compute service (v2.1) of the lab."""

    service_type = 'compute'
    name = 'nova'
    endpoint_path = '/v2.1'

    def __init__(self, lab):
        self.servers = {}          # id -> internal record
        self.services = {}         # uuid -> service record
        self.flavors = {}
        self.server_groups = {}
        self.aggregates = {}
        self.keypairs = {}         # user id -> {name -> key pair}
        self.migrations = []
        self.actions = {}          # server id -> [instance action]
        self._counter = itertools.count(1)
        self._migration_ids = itertools.count(1)
        self._aggregate_ids = itertools.count(1)
        self._conductor_slots = [0.0] * max(1, int(getattr(
            lab, 'conductor_workers', 4)))
        major, minor = lab.microversion_max.split('.')
        self.max_version = (int(major), int(minor))
        super().__init__(lab)
        for fid, name, vcpus, ram, disk in FLAVORS:
            self.flavors[fid] = {'id': fid, 'name': name, 'vcpus': vcpus,
                                 'ram': ram, 'disk': disk, 'ephemeral': 0,
                                 'swap': 0, 'is_public': True,
                                 'description': None, 'extra_specs': {}}
        for binary in ('nova-scheduler', 'nova-conductor'):
            self._add_service(CONTROLLER_HOST, binary, 'internal')
        for host in lab.hosts:
            self._add_service(host, 'nova-compute', 'nova')

    def _add_service(self, host, binary, zone):
        service = {'uuid': str(uuid.uuid4()), 'id': next(self._counter),
                   'host': host, 'binary': binary, 'zone': zone,
                   'status': 'enabled', 'disabled_reason': None,
                   'forced_down': False, 'sticky_disabled_trait': False,
                   'created_at': _now(), 'updated_at': _now()}
        self.services[service['uuid']] = service
        return service

    # -- state file ----------------------------------------------------------
    def snapshot(self):
        """Nova's state as a JSON-serialisable dict (for the state file)."""
        with self.state_lock:
            return _encode({
                'servers': self.servers, 'services': self.services,
                'flavors': self.flavors, 'server_groups': self.server_groups,
                'aggregates': list(self.aggregates.values()),
                'keypairs': self.keypairs,
                'migrations': self.migrations, 'actions': self.actions})

    def restore(self, state):
        """Replace the state with one returned by :meth:`snapshot`.

        Services of hosts the lab no longer has are dropped and new hosts
        get fresh services; servers keep their host, and the lab restarts
        the ACTIVE ones on their (powered) hosts.
        """
        state = _decode(state)
        with self.state_lock:
            self.servers = state['servers']
            for server in self.servers.values():
                server['_op'] = None
            self.flavors = state['flavors']
            self.server_groups = state['server_groups']
            self.aggregates = {a['id']: a for a in state['aggregates']}
            self.keypairs = state.get('keypairs', {})
            self.migrations = state['migrations']
            self.actions = state['actions']
            services = {k: v for k, v in state['services'].items()
                        if v['host'] in self.lab.hosts
                        or v['binary'] != 'nova-compute'}
            self.services = services
            for host in self.lab.hosts:
                if self.compute_service(host) is None:
                    self._add_service(host, 'nova-compute', 'nova')
            top = max([s['created_seq'] for s in self.servers.values()] +
                      [s['id'] for s in self.services.values()] + [0])
            self._counter = itertools.count(top + 1)
            self._migration_ids = itertools.count(
                max([m['id'] for m in self.migrations] + [0]) + 1)
            self._aggregate_ids = itertools.count(
                max(list(self.aggregates) + [0]) + 1)

    # -- plumbing -------------------------------------------------------------
    @property
    def state_lock(self):
        """The lab-wide lock: Nova, hosts and monitor state move together."""
        return self.lab.lock

    def setup_routes(self):
        r = self.route
        r('GET', '/', self.versions, public=True)
        r('GET', '/v2.1', self.version, public=True)
        p = '/v2.1'
        r('GET', p + '/servers', self.list_servers)
        r('GET', p + '/servers/detail', self.list_servers_detail)
        r('POST', p + '/servers', self.create_server)
        r('GET', p + '/servers/{server_id}', self.show_server)
        r('PUT', p + '/servers/{server_id}', self.update_server)
        r('DELETE', p + '/servers/{server_id}', self.delete_server)
        r('POST', p + '/servers/{server_id}/action', self.server_action)
        r('GET', p + '/servers/{server_id}/metadata', self.get_metadata)
        r('POST', p + '/servers/{server_id}/metadata', self.merge_metadata)
        r('PUT', p + '/servers/{server_id}/metadata', self.replace_metadata)
        r('GET', p + '/servers/{server_id}/metadata/{key}', self.get_meta_item)
        r('PUT', p + '/servers/{server_id}/metadata/{key}', self.set_meta_item)
        r('DELETE', p + '/servers/{server_id}/metadata/{key}',
          self.delete_meta_item)
        r('GET', p + '/servers/{server_id}/tags', self.list_tags)
        r('PUT', p + '/servers/{server_id}/tags', self.replace_tags)
        r('DELETE', p + '/servers/{server_id}/tags', self.delete_tags)
        r('GET', p + '/servers/{server_id}/tags/{tag}', self.check_tag)
        r('PUT', p + '/servers/{server_id}/tags/{tag}', self.add_tag)
        r('DELETE', p + '/servers/{server_id}/tags/{tag}', self.delete_tag)
        r('GET', p + '/servers/{server_id}/os-instance-actions',
          self.list_instance_actions)
        r('GET', p + '/servers/{server_id}/os-instance-actions/{request_id}',
          self.show_instance_action)
        r('GET', p + '/servers/{server_id}/migrations',
          self.list_server_migrations)
        r('GET', p + '/servers/{server_id}/os-volume_attachments',
          self.list_volume_attachments)
        r('POST', p + '/servers/{server_id}/os-volume_attachments',
          self.attach_volume)
        r('GET', p + '/servers/{server_id}/os-volume_attachments/{volume_id}',
          self.show_volume_attachment)
        r('PUT', p + '/servers/{server_id}/os-volume_attachments/{volume_id}',
          self.update_volume_attachment)
        r('DELETE',
          p + '/servers/{server_id}/os-volume_attachments/{volume_id}',
          self.detach_volume)
        r('GET', p + '/os-services', self.list_services)
        r('PUT', p + '/os-services/{service_id}', self.update_service)
        r('GET', p + '/os-hypervisors', self.list_hypervisors)
        r('GET', p + '/os-hypervisors/detail', self.list_hypervisors_detail)
        r('GET', p + '/os-hypervisors/statistics', self.hypervisor_statistics)
        r('GET', p + '/os-hypervisors/{hypervisor_id}', self.show_hypervisor)
        r('GET', p + '/os-hypervisors/{hostname}/servers',
          self.hypervisor_servers)
        r('GET', p + '/os-server-groups', self.list_server_groups)
        r('POST', p + '/os-server-groups', self.create_server_group)
        r('GET', p + '/os-server-groups/{group_id}', self.show_server_group)
        r('DELETE', p + '/os-server-groups/{group_id}',
          self.delete_server_group)
        r('GET', p + '/os-keypairs', self.list_keypairs)
        r('POST', p + '/os-keypairs', self.create_keypair)
        r('GET', p + '/os-keypairs/{name}', self.show_keypair)
        r('DELETE', p + '/os-keypairs/{name}', self.delete_keypair)
        r('GET', p + '/os-aggregates', self.list_aggregates)
        r('POST', p + '/os-aggregates', self.create_aggregate)
        r('GET', p + '/os-aggregates/{aggregate_id}', self.show_aggregate)
        r('PUT', p + '/os-aggregates/{aggregate_id}', self.update_aggregate)
        r('DELETE', p + '/os-aggregates/{aggregate_id}',
          self.delete_aggregate)
        r('POST', p + '/os-aggregates/{aggregate_id}/action',
          self.aggregate_action)
        r('GET', p + '/flavors', self.list_flavors)
        r('GET', p + '/flavors/detail', self.list_flavors_detail)
        r('POST', p + '/flavors', self.create_flavor)
        r('GET', p + '/flavors/{flavor_id}', self.show_flavor)
        r('DELETE', p + '/flavors/{flavor_id}', self.delete_flavor)
        r('GET', p + '/flavors/{flavor_id}/os-extra_specs',
          self.flavor_extra_specs)
        r('GET', p + '/os-migrations', self.list_migrations)
        r('GET', p + '/os-availability-zone', self.list_zones)
        r('GET', p + '/os-availability-zone/detail', self.list_zones_detail)
        r('GET', p + '/limits', self.show_limits)

    # -- microversions --------------------------------------------------------
    def _format(self, version):
        return '%d.%d' % version

    def check_request(self, req):
        raw = None
        header = req.headers.get('OpenStack-API-Version')
        if header:
            for part in header.split(','):
                words = part.strip().split()
                if len(words) == 2 and words[0].lower() == 'compute':
                    raw = words[1]
        if raw is None:
            raw = req.headers.get('X-OpenStack-Nova-API-Version')
        if raw is None:
            version = MIN_VERSION
        elif raw.strip().lower() == 'latest':
            version = self.max_version
        else:
            match = _VERSION_RE.match(raw.strip())
            if not match:
                raise Fault(400, 'Invalid API version request string %s.'
                            % raw)
            version = (int(match.group(1)), int(match.group(2)))
            if not MIN_VERSION <= version <= self.max_version:
                raise Fault(406, 'Version %s is not supported by the API. '
                                 'Minimum is %s and maximum is %s.'
                            % (raw, self._format(MIN_VERSION),
                               self._format(self.max_version)))
        req.environ['nova.api_version'] = version

    def extra_headers(self, req):
        version = req.environ.get('nova.api_version')
        if version is None:
            return {}
        text = self._format(version)
        return {'OpenStack-API-Version': 'compute ' + text,
                'X-OpenStack-Nova-API-Version': text,
                'Vary': 'OpenStack-API-Version, X-OpenStack-Nova-API-Version'}

    @staticmethod
    def mv(req, major_minor):
        """True when the request's microversion is at least ``'2.NN'``."""
        want = tuple(int(x) for x in major_minor.split('.'))
        return req.environ.get('nova.api_version', MIN_VERSION) >= want

    def _version_doc(self, req):
        return {'id': 'v2.1', 'status': 'CURRENT',
                'version': self._format(self.max_version),
                'min_version': self._format(MIN_VERSION),
                'updated': '2013-07-23T11:33:21Z',
                'links': [{'rel': 'self', 'href': req.host_url + '/v2.1/'},
                          {'rel': 'describedby', 'type': 'text/html',
                           'href': 'https://docs.openstack.org/'}],
                'media-types': [{
                    'base': 'application/json',
                    'type': 'application/vnd.openstack.compute+json;'
                            'version=2.1'}]}

    def versions(self, req, ctx):
        return 200, {'versions': [self._version_doc(req)]}

    def version(self, req, ctx):
        return 200, {'version': self._version_doc(req)}

    # -- server groups --------------------------------------------------------
    def _group_view(self, req, group):
        view = {'id': group['id'], 'name': group['name'],
                'members': list(group['members'])}
        if self.mv(req, '2.64'):
            view['policy'] = group['policy']
            view['rules'] = dict(group['rules'])
        else:
            view['policies'] = [group['policy']]
            view['metadata'] = {}
        if self.mv(req, '2.13'):
            view['project_id'] = group['project_id']
            view['user_id'] = group['user_id']
        return view

    def list_server_groups(self, req, ctx):
        everyone = req.GET.get('all_projects') is not None
        if everyone:
            self._admin(ctx, 'os_compute_api:os-server-groups:index:'
                             'all_projects')
        with self.state_lock:
            rows = [self._group_view(req, g)
                    for g in self.server_groups.values()
                    if everyone or g['project_id'] == ctx.project_id]
        return 200, {'server_groups': rows}

    def create_server_group(self, req, ctx):
        self._writer(ctx, 'os_compute_api:os-server-groups:create')
        body = self.json_body(req, 'server_group')
        if not body.get('name'):
            raise Fault(400, "Invalid input for field/attribute server_group."
                             " 'name' is a required property")
        if self.mv(req, '2.64'):
            policy = body.get('policy')
        else:
            policies = body.get('policies') or []
            policy = policies[0] if len(policies) == 1 else None
        if policy not in ('affinity', 'anti-affinity', 'soft-affinity',
                          'soft-anti-affinity'):
            raise Fault(400, "Invalid input for field/attribute policy. "
                             "Value: %s. %r is not one of ['anti-affinity', "
                             "'affinity', 'soft-anti-affinity', "
                             "'soft-affinity']" % (policy, policy))
        group = {'id': str(uuid.uuid4()), 'name': body['name'],
                 'policy': policy, 'rules': body.get('rules') or {},
                 'members': [], 'project_id': ctx.project_id,
                 'user_id': ctx.user_id}
        with self.state_lock:
            self.server_groups[group['id']] = group
            return 200, {'server_group': self._group_view(req, group)}

    def _get_group(self, ctx, group_id):
        group = self.server_groups.get(group_id)
        if group is None or (not ctx.is_admin and
                             group['project_id'] != ctx.project_id):
            raise Fault(404, 'Instance group %s could not be found.'
                        % group_id)
        return group

    def show_server_group(self, req, ctx, group_id):
        with self.state_lock:
            return 200, {'server_group': self._group_view(
                req, self._get_group(ctx, group_id))}

    def delete_server_group(self, req, ctx, group_id):
        self._writer(ctx, 'os_compute_api:os-server-groups:delete')
        with self.state_lock:
            self._get_group(ctx, group_id)
            del self.server_groups[group_id]
        return 204, None

    # -- aggregates -----------------------------------------------------------
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

    # -- availability zones, limits -------------------------------------------
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

    def show_limits(self, req, ctx):
        with self.state_lock:
            mine = [s for s in self.servers.values()
                    if s['project_id'] == ctx.project_id]
            cores = sum(s['flavor']['vcpus'] for s in mine)
            ram = sum(s['flavor']['ram'] for s in mine)
        return 200, {'limits': {'rate': [], 'absolute': {
            'maxTotalInstances': 1000, 'maxTotalCores': 4000,
            'maxTotalRAMSize': 10 ** 7, 'maxServerMeta': 128,
            'maxServerGroups': 100, 'maxServerGroupMembers': 100,
            'totalInstancesUsed': len(mine), 'totalCoresUsed': cores,
            'totalRAMUsed': ram, 'totalServerGroupsUsed': 0}}}
