"""The compute v2.1 API of the lab: its state, its routes, its microversions.

:class:`NovaAPI` is put together from one part per controller of the real
Nova API: ``servers``, ``server_actions``, ``server_metadata``,
``server_tags``, ``volumes`` (volume attachments), ``instance_actions``,
``migrations``, ``os_services``, ``hypervisors``, ``flavors``,
``keypairs``, ``aggregates`` (and availability zones) and
``server_groups``; and the parts they share: ``views`` (server views),
``scheduler``, ``tasks`` (policy, action records, the asynchronous
machinery) and ``hooks`` (the calls of the lab and other services).
Version discovery and limits are here.
"""

import itertools
import re
import uuid

from vmr_lab.services.base import Fault, Service
from vmr_lab.services.nova.aggregates import Aggregates
from vmr_lab.services.nova.common import _decode, _encode, _now
from vmr_lab.services.nova.flavors import Flavors
from vmr_lab.services.nova.hooks import ServiceHooks
from vmr_lab.services.nova.hypervisors import Hypervisors
from vmr_lab.services.nova.instance_actions import InstanceActions
from vmr_lab.services.nova.keypairs import Keypairs
from vmr_lab.services.nova.migrations import Migrations
from vmr_lab.services.nova.os_services import OsServices
from vmr_lab.services.nova.scheduler import Scheduler
from vmr_lab.services.nova.server_actions import ServerActions
from vmr_lab.services.nova.server_groups import ServerGroups
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
              Hypervisors, Scheduler, Flavors, Keypairs, Aggregates,
              ServerGroups, Tasks, ServiceHooks, Service):
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

    # -- limits ---------------------------------------------------------------
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
