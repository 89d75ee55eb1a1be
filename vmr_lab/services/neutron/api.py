"""The Neutron v2.0 API of the lab: its state, its seed, its routes.

:class:`NeutronAPI` is put together from one part per resource: the
generic handlers (``resources``), networks and subnets (``networks``),
``ports``, ``security_groups``, routers and floating IPs (``routers``) and
the calls other lab services make (``hooks``).
"""

import copy

from vmr_lab.services.base import Service
from vmr_lab.services.neutron.attributes import NeutronFault
from vmr_lab.services.neutron.hooks import ServiceHooks
from vmr_lab.services.neutron.networks import Networks
from vmr_lab.services.neutron.ports import Ports
from vmr_lab.services.neutron.resources import Resources
from vmr_lab.services.neutron.routers import Routers
from vmr_lab.services.neutron.security_groups import SecurityGroups

API_VERSION = 'v2.0'

#: Extensions announced by ``GET /v2.0/extensions``; the SDK's cloud layer
#: checks some of them before using a feature.
EXTENSIONS = [
    ('allowed-address-pairs', 'Allowed Address Pairs'),
    ('binding', 'Port Binding'),
    ('external-net', 'Neutron external network'),
    ('fip-port-details', 'Floating IP Port Details Extension'),
    ('filter-validation', 'Filter parameters validation'),
    ('port-security', 'Port Security'),
    ('project-id', 'project_id field enabled'),
    ('router', 'Neutron L3 Router'),
    ('security-group', 'security-group'),
    ('standard-attr-description', 'standard-attr-description'),
    ('standard-attr-revisions', 'Resource revision numbers'),
    ('standard-attr-tag', 'Tag support for resources with standard attribute'),
    ('standard-attr-timestamp', 'Resource timestamps'),
]


class NeutronAPI(Resources, Networks, Ports, SecurityGroups, Routers,
                 ServiceHooks, Service):
    """The Neutron v2.0 API of the lab, served on its own port."""

    service_type = 'network'
    name = 'neutron'
    endpoint_path = ''

    def __init__(self, lab):
        self.networks = {}
        self.subnets = {}
        self.ports = {}
        self.floatingips = {}
        self.routers = {}
        self.security_groups = {}
        # Ports Nova created for a server (deleted with it); ports passed in
        # by the user are only unbound, as real Nova does.
        self.nova_created_ports = set()
        super().__init__(lab)
        self.seed()

    # -- seed ------------------------------------------------------------
    def _default_project(self):
        keystone = getattr(self.lab, 'keystone', None)
        try:
            return keystone.project_id('admin')
        except (AttributeError, KeyError):
            return 'admin'

    def seed(self):
        """Create the default topology: ``private`` routed to ``public``."""
        project = self._default_project()
        with self.lock:
            public = self._make_network(project, {
                'name': 'public', 'router:external': True, 'shared': False,
                'provider:network_type': 'flat',
                'provider:physical_network': 'public'})
            pub_subnet = self._make_subnet(project, {
                'network_id': public['id'], 'name': 'public-subnet',
                'cidr': '172.24.4.0/24', 'ip_version': 4,
                'enable_dhcp': False})
            private = self._make_network(project, {
                'name': 'private', 'shared': True})
            # A lab with more than ~250 ports sets lab.private_cidr (e.g.
            # 10.0.0.0/22) or adds a subnet and a router interface by API.
            cidr = getattr(self.lab, 'private_cidr', None) or '10.0.0.0/24'
            priv_subnet = self._make_subnet(project, {
                'network_id': private['id'], 'name': 'private-subnet',
                'cidr': cidr, 'ip_version': 4})
            router = self._make_router(project, {
                'name': 'router1',
                'external_gateway_info': {'network_id': public['id']}})
            self._add_interface(router, priv_subnet['id'], None)
            self.default_network_id = private['id']
            self.public_network_id = public['id']
            self.seeded = {'public': public['id'], 'private': private['id'],
                           'public_subnet': pub_subnet['id'],
                           'private_subnet': priv_subnet['id'],
                           'router': router['id']}

    # -- state -----------------------------------------------------------
    def snapshot(self):
        """Everything this service holds, as a JSON-serialisable dict."""
        with self.lock:
            return copy.deepcopy({
                'networks': self.networks, 'subnets': self.subnets,
                'ports': self.ports, 'floatingips': self.floatingips,
                'routers': self.routers,
                'security_groups': self.security_groups,
                'nova_created_ports': sorted(self.nova_created_ports),
                'seeded': self.seeded,
            })

    def restore(self, state):
        """Replace the state with one returned by :meth:`snapshot`."""
        state = copy.deepcopy(state)
        with self.lock:
            self.networks = state['networks']
            self.subnets = state['subnets']
            self.ports = state['ports']
            self.floatingips = state['floatingips']
            self.routers = state['routers']
            self.security_groups = state['security_groups']
            self.nova_created_ports = set(state['nova_created_ports'])
            self.seeded = state['seeded']
            self.default_network_id = self.seeded['private']
            self.public_network_id = self.seeded['public']

    # -- WSGI plumbing ---------------------------------------------------
    def malformed_input(self, exc):
        # Malformed input the checks missed: a 400 as Neutron gives.
        return NeutronFault(400, 'HTTPBadRequest',
                            'Invalid input for operation: %s.' % exc)

    def fault_body(self, fault):
        error_type = getattr(fault, 'error_type', None)
        if error_type is None:
            error_type = {400: 'HTTPBadRequest', 401: 'HTTPUnauthorized',
                          403: 'HTTPForbidden', 404: 'HTTPNotFound',
                          405: 'HTTPMethodNotAllowed',
                          412: 'HTTPPreconditionFailed',
                          409: 'HTTPConflict'}.get(fault.status,
                                                   'HTTPInternalServerError')
        return {'NeutronError': {'type': error_type,
                                 'message': fault.message, 'detail': ''}}

    def setup_routes(self):
        self.route('GET', '/', self.versions, public=True)
        self.route('GET', '/v2.0', self.version_resources)
        self.route('GET', '/v2.0/extensions', self.list_extensions)
        self.route('GET', '/v2.0/extensions/{alias}', self.show_extension)
        for kind, coll in self._COLLECTIONS.items():
            coll = self._PATHS.get(kind, coll)
            self.route('GET', '/v2.0/%s' % coll, self._lister(kind))
            self.route('POST', '/v2.0/%s' % coll, self._creator(kind))
            self.route('GET', '/v2.0/%s/{res_id}' % coll, self._shower(kind))
            self.route('PUT', '/v2.0/%s/{res_id}' % coll, self._updater(kind))
            self.route('DELETE', '/v2.0/%s/{res_id}' % coll,
                       self._deleter(kind))
            if kind == 'security_group_rule':
                continue  # rules carry no tags in Neutron
            self.route('PUT', '/v2.0/%s/{res_id}/tags/{tag}' % coll,
                       self._tag_adder(kind))
            self.route('DELETE', '/v2.0/%s/{res_id}/tags/{tag}' % coll,
                       self._tag_remover(kind))
        self.route('PUT', '/v2.0/routers/{res_id}/add_router_interface',
                   self.add_router_interface)
        self.route('PUT', '/v2.0/routers/{res_id}/remove_router_interface',
                   self.remove_router_interface)

    def versions(self, req, ctx):
        """Version discovery at the root, as neutron-server answers it."""
        href = req.host_url + '/v2.0/'
        return 200, {'versions': [{'id': API_VERSION, 'status': 'CURRENT',
                                   'links': [{'href': href, 'rel': 'self'}]}]}

    def version_resources(self, req, ctx):
        """``GET /v2.0``: the resource collections."""
        base = req.host_url + '/v2.0/'
        return 200, {'resources': [
            {'name': kind, 'collection': coll,
             'links': [{'href': base + self._PATHS.get(kind, coll),
                        'rel': 'self'}]}
            for kind, coll in self._COLLECTIONS.items()]}

    def list_extensions(self, req, ctx):
        """``GET /v2.0/extensions``."""
        return 200, {'extensions': [self._extension(a, n)
                                    for a, n in EXTENSIONS]}

    def show_extension(self, req, ctx, alias):
        """``GET /v2.0/extensions/{alias}``."""
        for ext_alias, ext_name in EXTENSIONS:
            if ext_alias == alias:
                return 200, {'extension': self._extension(ext_alias,
                                                          ext_name)}
        raise NeutronFault(404, 'HTTPNotFound',
                           'Extension with alias %s does not exist' % alias)

    @staticmethod
    def _extension(alias, name):
        return {'alias': alias, 'name': name, 'description': name,
                'updated': '2013-01-01T00:00:00-00:00', 'links': []}
