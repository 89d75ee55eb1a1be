"""Neutron v2.0 simulator: networks, subnets, ports, floating IPs, routers,
security groups and their rules.

Enough of the real API for openstacksdk's ``conn.network`` proxy and for VMR's
``fip_failover`` action: ports with ``allowed_address_pairs``, fixed IP
allocation from a subnet's pools, floating IPs that associate, disassociate and
re-associate directly to another port, the real ``NeutronError`` bodies and
the real status codes (404 ``PortNotFound``, 409 ``IpAddressInUse``,
409 ``FloatingIPPortAlreadyAssociated``, 409 ``SecurityGroupRuleExists``, ...).
Each project gets its ``default`` security group on first use, with the four
rules Neutron gives it; other groups start with the two egress rules.

Every address here is data inside the simulator: nothing ever binds to the
seeded ``10.0.0.0/24`` and ``172.24.4.0/24`` networks.

Nova reaches this service through plain Python hooks
(:meth:`NeutronAPI.create_server_port`, :meth:`NeutronAPI.server_addresses`,
:meth:`NeutronAPI.on_server_deleted`, :meth:`NeutronAPI.on_server_moved`).
"""

import copy
import ipaddress
import logging
import random
import time
import urllib.parse
import uuid

from vmr_lab.services.base import Fault, Service

LOG = logging.getLogger(__name__)
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

#: Query parameters that are not attribute filters.
_NON_FILTERS = {'fields', 'limit', 'marker', 'sort_key', 'sort_dir',
                'page_reverse', 'tags', 'tags-any', 'not-tags',
                'not-tags-any'}


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def _new_mac():
    # fa:16:3e is the OUI Neutron uses for the ports it creates.
    return 'fa:16:3e:%02x:%02x:%02x' % (random.randint(0, 255),
                                        random.randint(0, 255),
                                        random.randint(0, 255))


class NeutronFault(Fault):
    """A Neutron error: carries the exception class name Neutron reports."""

    def __init__(self, status, error_type, message):
        super().__init__(status, message)
        self.error_type = error_type


def _not_found(kind, res_id):
    names = {'network': 'Network', 'subnet': 'Subnet', 'port': 'Port',
             'router': 'Router', 'security_group': 'Security group',
             'floatingip': 'Floating IP',
             'security_group_rule': 'Security group rule'}
    if kind in ('security_group', 'security_group_rule'):
        # Neutron words these two differently from the other resources.
        return NeutronFault(404, names[kind].title().replace(' ', '') +
                            'NotFound', '%s %s does not exist'
                            % (names[kind], res_id))
    types = {'network': 'NetworkNotFound', 'subnet': 'SubnetNotFound',
             'port': 'PortNotFound', 'router': 'RouterNotFound',
             'security_group': 'SecurityGroupNotFound',
             'floatingip': 'FloatingIPNotFound'}
    return NeutronFault(404, types[kind], '%s %s could not be found.'
                        % (names[kind], res_id))


def _bad_input(message):
    return NeutronFault(400, 'InvalidInput',
                        'Invalid input for operation: %s.' % message)


def _as_bool(value, field):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    raise _bad_input("'%s' is not a valid boolean value for %s"
                     % (value, field))


def _matches(value, wanted):
    """Whether attribute ``value`` matches the query string ``wanted``."""
    if isinstance(value, bool):
        return str(value).lower() == wanted.lower()
    if value is None:
        return wanted in ('', 'None', 'null')
    if isinstance(value, list):
        return wanted in [str(v) for v in value]
    return str(value) == wanted


def _is_str(value):
    return isinstance(value, str)


def _str_or_none(value):
    return value is None or isinstance(value, str)


def _is_bool(value):
    return isinstance(value, bool) or (
        isinstance(value, str) and value.lower() in ('true', 'false'))


def _is_int(value):
    return not isinstance(value, bool) and isinstance(value, int)


def _int_or_none(value):
    return value is None or _is_int(value)


def _list_of(kind):
    def check(value):
        return isinstance(value, list) and all(
            isinstance(item, kind) for item in value)
    return check


def _dict_or_none(value):
    return value is None or isinstance(value, dict)


_STRS = _list_of(str)
_DICTS = _list_of(dict)
_COMMON = {'name': _is_str, 'description': _is_str, 'project_id': _is_str,
           'tenant_id': _is_str, 'tags': _STRS}
#: Writable attributes of each resource and a check of their JSON type,
#: Neutron's attribute map in miniature.
ATTRIBUTES = {
    'network': dict(_COMMON, **{
        'admin_state_up': _is_bool, 'shared': _is_bool,
        'router:external': _is_bool, 'mtu': _is_int,
        'port_security_enabled': _is_bool,
        'provider:network_type': _is_str,
        'provider:physical_network': _str_or_none,
        'provider:segmentation_id': _int_or_none,
        'availability_zone_hints': _STRS, 'qos_policy_id': _str_or_none,
        'dns_domain': _is_str, 'is_default': _is_bool}),
    'subnet': dict(_COMMON, **{
        'network_id': _is_str, 'cidr': _is_str, 'ip_version': _is_int,
        'gateway_ip': _str_or_none, 'allocation_pools': _DICTS,
        'enable_dhcp': _is_bool, 'dns_nameservers': _STRS,
        'host_routes': _DICTS, 'subnetpool_id': _str_or_none,
        'ipv6_ra_mode': _str_or_none, 'ipv6_address_mode': _str_or_none,
        'segment_id': _str_or_none, 'service_types': _STRS,
        'dns_publish_fixed_ip': _is_bool}),
    'port': dict(_COMMON, **{
        'network_id': _is_str, 'mac_address': _is_str,
        'admin_state_up': _is_bool, 'device_id': _is_str,
        'device_owner': _is_str, 'fixed_ips': _DICTS,
        'allowed_address_pairs': _DICTS, 'security_groups': _STRS,
        'port_security_enabled': _is_bool, 'binding:host_id': _is_str,
        'binding:vnic_type': _is_str, 'binding:profile': _dict_or_none,
        'extra_dhcp_opts': _DICTS, 'dns_name': _is_str,
        'dns_domain': _is_str, 'qos_policy_id': _str_or_none,
        'propagate_uplink_status': _is_bool}),
    'floatingip': {
        'description': _is_str, 'project_id': _is_str, 'tenant_id': _is_str,
        'floating_network_id': _is_str, 'port_id': _str_or_none,
        'fixed_ip_address': _str_or_none,
        'floating_ip_address': _str_or_none, 'subnet_id': _str_or_none,
        'dns_name': _is_str, 'dns_domain': _is_str,
        'qos_policy_id': _str_or_none, 'tags': _STRS},
    'router': dict(_COMMON, **{
        'admin_state_up': _is_bool, 'external_gateway_info': _dict_or_none,
        'routes': _DICTS, 'distributed': _is_bool, 'ha': _is_bool,
        'availability_zone_hints': _STRS, 'flavor_id': _str_or_none}),
    'security_group': dict(_COMMON, stateful=_is_bool, shared=_is_bool),
    'security_group_rule': {
        'description': _is_str, 'project_id': _is_str, 'tenant_id': _is_str,
        'security_group_id': _is_str, 'direction': _is_str,
        'ethertype': _is_str,
        'protocol': lambda v: v is None or _is_str(v) or _is_int(v),
        'port_range_min': lambda v: v is None or _is_int(v) or _is_str(v),
        'port_range_max': lambda v: v is None or _is_int(v) or _is_str(v),
        'remote_ip_prefix': _str_or_none, 'remote_group_id': _str_or_none},
}
#: Attributes only the service sets.
READ_ONLY = ('id', 'status', 'revision_number', 'created_at', 'updated_at',
             'binding:vif_type', 'binding:vif_details', 'subnets',
             'router_id', 'port_details', 'security_group_rules',
             'normalized_cidr')
#: Attributes fixed at creation.
CREATE_ONLY = {'network_id', 'cidr', 'ip_version', 'floating_network_id',
               'floating_ip_address', 'subnetpool_id', 'project_id',
               'tenant_id'}


def _check_attributes(kind, body, method):
    """Reject unknown, read-only and mistyped attributes as Neutron does."""
    attrs = ATTRIBUTES[kind]
    unknown = sorted(k for k in body if k not in attrs and k not in READ_ONLY)
    if unknown:
        raise NeutronFault(400, 'HTTPBadRequest',
                           'Unrecognized attribute(s) %s'
                           % ', '.join("'%s'" % k for k in unknown))
    for key, value in body.items():
        if key in READ_ONLY or (method == 'PUT' and key in CREATE_ONLY):
            if method == 'PUT':
                raise NeutronFault(400, 'HTTPBadRequest',
                                   'Cannot update read-only attribute %s'
                                   % key)
            raise NeutronFault(400, 'HTTPBadRequest',
                               "Attribute '%s' not allowed in POST" % key)
        if not attrs[key](value):
            raise NeutronFault(400, 'HTTPBadRequest',
                               "Invalid input for %s. Reason: '%s' is not "
                               "valid for this attribute." % (key, value))


#: Protocol names Neutron accepts in a security group rule, and their
#: numbers (neutron_lib's IP_PROTOCOL_MAP); ``any`` means all of them.
SG_PROTOCOLS = {
    'ah': 51, 'dccp': 33, 'egp': 8, 'esp': 50, 'gre': 47, 'hopopt': 0,
    'icmp': 1, 'igmp': 2, 'ipip': 4, 'ipv6-encap': 41, 'ipv6-frag': 44,
    'ipv6-icmp': 58, 'icmpv6': 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60,
    'ipv6-route': 43, 'ospf': 89, 'pgm': 113, 'rsvp': 46, 'sctp': 132,
    'tcp': 6, 'udp': 17, 'udplite': 136, 'vrrp': 112,
}
#: Protocols whose rules may carry a port range.
_PORT_PROTOCOLS = {6, 17, 33, 132, 136}
_ICMP_PROTOCOLS = {1, 58}
_ETHERTYPES = {'ipv4': 'IPv4', 'ipv6': 'IPv6'}


def _sg_protocol(value):
    """A rule's protocol as Neutron stores it: a name, a number as a string
    (``112`` becomes ``'112'``) or None for all protocols."""
    if value is None or (isinstance(value, str)
                         and value.lower() in ('', 'any')):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in SG_PROTOCOLS:
            return value.lower()
    else:
        if 0 <= number <= 255 and not isinstance(value, bool):
            return str(number)
    raise NeutronFault(
        400, 'SecurityGroupRuleInvalidProtocol',
        'Security group rule protocol %s not supported. Only protocol values '
        '%s and integer representations [0 to 255] are supported.'
        % (value, [None, 'any'] + sorted(SG_PROTOCOLS)))


def _protocol_number(protocol):
    if protocol is None:
        return None
    return SG_PROTOCOLS.get(protocol, None) if not protocol.isdigit() \
        else int(protocol)


def _sg_port_range(protocol, port_min, port_max):
    """Validate ``port_range_min``/``max`` for ``protocol`` as Neutron does."""
    bounds = []
    for name, value in (('port_range_min', port_min),
                        ('port_range_max', port_max)):
        if value is None:
            bounds.append(None)
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise _bad_input("'%s' is not an integer for %s" % (value, name))
        if not 0 <= number <= 65535:
            raise NeutronFault(400, 'SecurityGroupInvalidPortValue',
                               'Invalid value for port %s.' % value)
        bounds.append(number)
    port_min, port_max = bounds
    if port_min is None and port_max is None:
        return None, None
    number = _protocol_number(protocol)
    if number is None:
        raise NeutronFault(400, 'SecurityGroupProtocolRequiredWithPorts',
                           'Must also specify protocol if port range is '
                           'given.')
    if number in _ICMP_PROTOCOLS:
        for name, value in (('type', port_min), ('code', port_max)):
            if value is not None and value > 255:
                raise NeutronFault(400, 'SecurityGroupInvalidIcmpValue',
                                   'Invalid value for ICMP %s (%s) %s. It '
                                   'must be 0 to 255.'
                                   % (name, 'port-range-min' if name == 'type'
                                      else 'port-range-max', value))
        if port_min is None:
            raise NeutronFault(400, 'SecurityGroupMissingIcmpType',
                               'ICMP code (port-range-max) %s is provided but'
                               ' ICMP type (port-range-min) is missing.'
                               % port_max)
        return port_min, port_max
    if number not in _PORT_PROTOCOLS:
        raise NeutronFault(400, 'SecurityGroupInvalidProtocolForPort',
                           'Ports cannot be specified for protocol %s. '
                           'Ports are only supported for DCCP, SCTP, TCP, '
                           'UDP, UDPLITE.' % number)
    if 0 in (port_min, port_max):
        raise NeutronFault(400, 'SecurityGroupInvalidPortValue',
                           'Invalid value for port 0.')
    if port_min is None or port_max is None or port_min > port_max:
        raise NeutronFault(400, 'SecurityGroupInvalidPortRange',
                           'For TCP/UDP protocols, port_range_min must be <= '
                           'port_range_max')
    return port_min, port_max


def _rule_key(rule):
    """What makes two rules of a group the same rule (as Neutron compares:
    ``vrrp`` is ``112``, no prefix is ``0.0.0.0/0``)."""
    prefix = rule['normalized_cidr'] if rule.get('remote_ip_prefix') else None
    if prefix in ('0.0.0.0/0', '::/0'):
        prefix = None
    return (rule['direction'], rule['ethertype'],
            _protocol_number(rule['protocol']), rule['port_range_min'],
            rule['port_range_max'], prefix, rule['remote_group_id'])


class NeutronAPI(Service):
    """The Neutron v2.0 API of the lab, served on its own port."""

    service_type = 'network'
    name = 'neutron'
    endpoint_path = ''

    _COLLECTIONS = {
        'network': 'networks', 'subnet': 'subnets', 'port': 'ports',
        'floatingip': 'floatingips', 'router': 'routers',
        'security_group': 'security_groups',
        'security_group_rule': 'security_group_rules',
    }
    #: URL paths that differ from the collection (the JSON key).
    _PATHS = {'security_group': 'security-groups',
              'security_group_rule': 'security-group-rules'}

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
    def _dispatch(self, req):
        try:
            return super()._dispatch(req)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # Malformed input the checks above missed: a 400 as Neutron
            # gives, never a 500; logged because it may hide a lab bug.
            LOG.warning('neutron: bad request %s %s: %r', req.method,
                        req.path, exc, exc_info=True)
            raise NeutronFault(400, 'HTTPBadRequest',
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

    # -- generic resource plumbing ---------------------------------------
    def _store(self, kind):
        return getattr(self, self._COLLECTIONS[kind])

    def _visible(self, ctx, kind, res):
        if ctx is None or ctx.is_admin:
            return True
        if res.get('project_id') == ctx.project_id:
            return True
        if kind == 'network':
            return res.get('shared') or res.get('router:external')
        if kind == 'subnet':
            net = self.networks.get(res['network_id'], {})
            return net.get('shared') or net.get('router:external')
        if kind == 'security_group_rule':
            # Policy sg_owner: the group's owner sees every rule in it.
            sg = self.security_groups.get(res['security_group_id'], {})
            return sg.get('project_id') == ctx.project_id
        return False

    def _get(self, ctx, kind, res_id):
        res = self._store(kind).get(res_id)
        if res is None or not self._visible(ctx, kind, res):
            raise _not_found(kind, res_id)
        return res

    def _owned(self, ctx, kind, res_id):
        """The resource, if the caller may change it (404/403 otherwise)."""
        res = self._get(ctx, kind, res_id)
        if ctx is not None and not ctx.is_admin:
            owner = res.get('project_id')
            if kind == 'security_group_rule':
                owner = self.security_groups[res['security_group_id']][
                    'project_id']
            if res.get('project_id') != ctx.project_id \
                    and owner != ctx.project_id:
                raise NeutronFault(
                    403, 'HTTPForbidden',
                    "(rule:update_%s) is disallowed by policy" % kind)
        return res

    @staticmethod
    def _check_writer(ctx, action='create', kind='port'):
        if ctx is not None and not ctx.can_write:
            raise NeutronFault(403, 'HTTPForbidden',
                               'rule:%s_%s is disallowed by policy'
                               % (action, kind))

    @staticmethod
    def _check_revision(req, res):
        """``If-Match: revision_number=N``: 412 when the resource moved on."""
        for part in req.headers.get('If-Match', '').split(','):
            key, _, value = part.strip().partition('=')
            if key != 'revision_number':
                continue
            try:
                wanted = int(value)
            except ValueError:
                raise NeutronFault(400, 'HTTPBadRequest',
                                   'Invalid If-Match header: %s' % part)
            if wanted != res['revision_number']:
                raise NeutronFault(412, 'RevisionNumberConstraintFailed',
                                   'Constrained to %d, but current revision '
                                   'is %d' % (wanted, res['revision_number']))

    @staticmethod
    def _body(req, kind):
        try:
            return Service.json_body(req, kind)
        except Fault as exc:
            raise NeutronFault(400, 'HTTPBadRequest', exc.message)

    @staticmethod
    def _fields(req, res):
        fields = req.GET.getall('fields')
        if not fields:
            return res
        return {k: v for k, v in res.items() if k in fields}

    def _filter(self, req, kind, items):
        items = list(items)
        for key in set(req.GET.keys()) - _NON_FILTERS:
            wanted = req.GET.getall(key)
            if kind == 'port' and key in ('fixed_ips', 'ip_address',
                                          'subnet_id'):
                items = [p for p in items
                         if self._port_ip_match(p, key, wanted)]
                continue
            if items and key not in items[0] and key != 'tenant_id':
                raise NeutronFault(
                    400, 'HTTPBadRequest',
                    '[%s] is invalid attribute for filtering' % key)
            field = 'project_id' if key == 'tenant_id' else key
            items = [r for r in items
                     if any(_matches(r.get(field), w) for w in wanted)]
        for key, mode in (('tags', all), ('tags-any', any)):
            if key in req.GET:
                tags = req.GET[key].split(',')
                items = [r for r in items
                         if mode(t in r.get('tags', []) for t in tags)]
        sort_key = req.GET.get('sort_key')
        if sort_key:
            items.sort(key=lambda r: str(r.get(sort_key, '')),
                       reverse=req.GET.get('sort_dir') == 'desc')
        return items

    @staticmethod
    def _port_ip_match(port, key, wanted):
        for want in wanted:
            if key == 'fixed_ips' and '=' in want:
                attr, _, value = want.partition('=')
            else:
                attr, value = key, want
            for fip in port['fixed_ips']:
                if attr == 'ip_address_substr':
                    if value in fip['ip_address']:
                        return True
                elif fip.get(attr) == value:
                    return True
        return False

    def _page(self, req, coll, items, path=None):
        body = {}
        limit = req.GET.get('limit')
        marker = req.GET.get('marker')
        if marker:
            ids = [r['id'] for r in items]
            if marker in ids:
                items = items[ids.index(marker) + 1:]
        if limit:
            try:
                limit = int(limit)
            except ValueError:
                raise _bad_input("'%s' is not an integer" % limit)
            more = len(items) > limit > 0
            items = items[:limit] if limit > 0 else items
            if more:
                query = dict(req.GET.items())
                query.update(limit=str(limit), marker=items[-1]['id'])
                body[coll + '_links'] = [{
                    'rel': 'next',
                    'href': '%s/v2.0/%s?%s' % (req.host_url, path or coll,
                                               urllib.parse.urlencode(query))}]
        body[coll] = [self._fields(req, r) for r in items]
        return body

    def _lister(self, kind):
        coll = self._COLLECTIONS[kind]

        def handler(req, ctx):
            with self.lock:
                if kind.startswith('security_group') and ctx is not None:
                    # Neutron creates the caller's default group on first use.
                    self._default_sg(ctx.project_id)
                items = [copy.deepcopy(r) for r in self._store(kind).values()
                         if self._visible(ctx, kind, r)]
                items = self._filter(req, kind, items)
                return 200, self._page(req, coll, items,
                                       self._PATHS.get(kind))
        handler.__name__ = 'list_' + coll
        return handler

    def _shower(self, kind):
        def handler(req, ctx, res_id):
            with self.lock:
                res = copy.deepcopy(self._get(ctx, kind, res_id))
            return 200, {kind: self._fields(req, res)}
        handler.__name__ = 'show_' + kind
        return handler

    def _creator(self, kind):
        make = getattr(self, '_make_' + kind)

        def handler(req, ctx):
            body = self._body(req, kind)
            # Neutron's create_port policy ends in "or rule:shared": on a
            # shared network anyone with a token, a reader too, may.
            if not (kind == 'port' and isinstance(body, dict) and
                    self.networks.get(body.get('network_id'), {})
                    .get('shared')):
                self._check_writer(ctx, 'create', kind)
            _check_attributes(kind, body, 'POST')
            project = body.get('project_id') or body.get('tenant_id')
            if project and ctx is not None and not ctx.is_admin \
                    and project != ctx.project_id:
                raise NeutronFault(
                    403, 'HTTPForbidden',
                    "(rule:create_%s and rule:create_%s:project_id) is "
                    "disallowed by policy" % (kind, kind))
            project = project or (ctx.project_id if ctx else 'admin')
            with self.lock:
                res = make(project, body, ctx=ctx)
                return 201, {kind: copy.deepcopy(res)}
        handler.__name__ = 'create_' + kind
        return handler

    def _updater(self, kind):
        def handler(req, ctx, res_id):
            self._check_writer(ctx, 'update', kind)
            body = self._body(req, kind)
            _check_attributes(kind, body, 'PUT')
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                self._check_revision(req, res)
                update = getattr(self, '_update_' + kind, None)
                if update is None:
                    for key in ('name', 'description'):
                        if key in body:
                            res[key] = body[key]
                else:
                    update(ctx, res, body)
                self._touch(res)
                return 200, {kind: copy.deepcopy(res)}
        handler.__name__ = 'update_' + kind
        return handler

    def _deleter(self, kind):
        def handler(req, ctx, res_id):
            self._check_writer(ctx, 'delete', kind)
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                getattr(self, '_delete_' + kind)(res, ctx=ctx)
            return 204, None
        handler.__name__ = 'delete_' + kind
        return handler

    def _tag_adder(self, kind):
        def handler(req, ctx, res_id, tag):
            self._check_writer(ctx, 'update', kind)
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                if tag not in res['tags']:
                    res['tags'].append(tag)
                    self._touch(res)
            return 201, None
        return handler

    def _tag_remover(self, kind):
        def handler(req, ctx, res_id, tag):
            self._check_writer(ctx, 'update', kind)
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                if tag not in res['tags']:
                    raise NeutronFault(404, 'TagNotFound',
                                       'Tag %s could not be found for %s %s.'
                                       % (tag, kind, res_id))
                res['tags'].remove(tag)
                self._touch(res)
            return 204, None
        return handler

    @staticmethod
    def _standard(project, body):
        now = _now()
        return {'id': str(uuid.uuid4()), 'name': body.get('name', ''),
                'description': body.get('description', ''),
                'project_id': project, 'tenant_id': project, 'tags': [],
                'created_at': now, 'updated_at': now, 'revision_number': 0}

    @staticmethod
    def _touch(res):
        res['updated_at'] = _now()
        res['revision_number'] = res.get('revision_number', 0) + 1

    # -- networks --------------------------------------------------------
    def _make_network(self, project, body, ctx=None):
        external = _as_bool(body.get('router:external', False),
                            'router:external')
        if ctx is not None and not ctx.is_admin and (
                external or 'provider:network_type' in body):
            raise NeutronFault(403, 'HTTPForbidden',
                               '(rule:create_network and '
                               'rule:create_network:router:external) is '
                               'disallowed by policy')
        net = self._standard(project, body)
        net.update({
            'status': 'ACTIVE', 'subnets': [],
            'admin_state_up': _as_bool(body.get('admin_state_up', True),
                                       'admin_state_up'),
            'shared': _as_bool(body.get('shared', False), 'shared'),
            'router:external': external,
            'mtu': int(body.get('mtu', 1500 if external else 1442)),
            'port_security_enabled': _as_bool(
                body.get('port_security_enabled', True),
                'port_security_enabled'),
            'provider:network_type': body.get('provider:network_type',
                                              'geneve'),
            'provider:physical_network': body.get(
                'provider:physical_network'),
            'provider:segmentation_id': body.get(
                'provider:segmentation_id',
                None if external else random.randint(1, 65000)),
            'availability_zone_hints': [], 'availability_zones': [],
            'ipv4_address_scope': None, 'ipv6_address_scope': None,
            'is_default': False, 'l2_adjacency': True,
        })
        self.networks[net['id']] = net
        return net

    def _update_network(self, ctx, net, body):
        for key in ('name', 'description', 'mtu'):
            if key in body:
                net[key] = body[key]
        for key in ('admin_state_up', 'shared', 'port_security_enabled',
                    'router:external'):
            if key in body:
                net[key] = _as_bool(body[key], key)

    def _delete_network(self, net, ctx=None):
        in_use = [p for p in self.ports.values()
                  if p['network_id'] == net['id']
                  and not p['device_owner'].startswith('network:dhcp')]
        if in_use:
            raise NeutronFault(
                409, 'NetworkInUse',
                'Unable to complete operation on network %s. There are one '
                'or more ports still in use on the network.' % net['id'])
        for subnet_id in list(net['subnets']):
            self.subnets.pop(subnet_id, None)
        for fip in list(self.floatingips.values()):
            if fip['floating_network_id'] == net['id']:
                del self.floatingips[fip['id']]
        del self.networks[net['id']]

    # -- subnets ---------------------------------------------------------
    def _make_subnet(self, project, body, ctx=None):
        net = self.networks.get(body.get('network_id'))
        if net is None:
            raise _not_found('network', body.get('network_id'))
        try:
            cidr = ipaddress.ip_network(body.get('cidr', ''), strict=True)
        except ValueError:
            raise _bad_input("'%s' is not a valid IP subnet"
                             % body.get('cidr'))
        for other_id in net['subnets']:
            other = ipaddress.ip_network(self.subnets[other_id]['cidr'])
            if other.version == cidr.version and cidr.overlaps(other):
                raise NeutronFault(
                    400, 'InvalidInput',
                    'Invalid input for operation: Requested subnet with cidr:'
                    ' %s for network: %s overlaps with another subnet.'
                    % (cidr, net['id']))
        hosts = list(cidr.hosts()) if cidr.num_addresses > 2 else []
        if not hosts:
            raise _bad_input('subnet %s is too small' % cidr)
        gateway = body.get('gateway_ip', str(hosts[0]))
        if gateway is not None:
            try:
                if ipaddress.ip_address(gateway) not in cidr:
                    raise ValueError(gateway)
            except ValueError:
                raise _bad_input('Gateway IP %s is not a valid address in '
                                 'subnet %s' % (gateway, cidr))
        pools = body.get('allocation_pools') or [
            {'start': str(hosts[1] if gateway == str(hosts[0]) else hosts[0]),
             'end': str(hosts[-1])}]
        for pool in pools:
            try:
                start = ipaddress.ip_address(pool['start'])
                end = ipaddress.ip_address(pool['end'])
                if start not in cidr or end not in cidr or start > end:
                    raise ValueError(pool)
            except (KeyError, TypeError, ValueError):
                raise NeutronFault(400, 'InvalidAllocationPool',
                                   'The allocation pool %s spanning is not '
                                   'valid.' % (pool,))
        subnet = self._standard(project, body)
        subnet.update({
            'network_id': net['id'], 'cidr': str(cidr),
            'ip_version': cidr.version, 'gateway_ip': gateway,
            'allocation_pools': pools,
            'enable_dhcp': _as_bool(body.get('enable_dhcp', True),
                                    'enable_dhcp'),
            'dns_nameservers': list(body.get('dns_nameservers', [])),
            'host_routes': list(body.get('host_routes', [])),
            'ipv6_ra_mode': None, 'ipv6_address_mode': None,
            'subnetpool_id': None, 'segment_id': None,
            'service_types': [], 'dns_publish_fixed_ip': False,
        })
        self.subnets[subnet['id']] = subnet
        net['subnets'].append(subnet['id'])
        return subnet

    def _update_subnet(self, ctx, subnet, body):
        for key in ('name', 'description', 'dns_nameservers', 'host_routes',
                    'gateway_ip', 'allocation_pools'):
            if key in body:
                subnet[key] = body[key]
        if 'enable_dhcp' in body:
            subnet['enable_dhcp'] = _as_bool(body['enable_dhcp'],
                                             'enable_dhcp')

    def _delete_subnet(self, subnet, ctx=None):
        for port in self.ports.values():
            if any(ip['subnet_id'] == subnet['id']
                   for ip in port['fixed_ips']):
                raise NeutronFault(
                    409, 'SubnetInUse',
                    'Unable to complete operation on subnet %s: One or more '
                    'ports have an IP allocation from this subnet.'
                    % subnet['id'])
        net = self.networks.get(subnet['network_id'])
        if net and subnet['id'] in net['subnets']:
            net['subnets'].remove(subnet['id'])
        del self.subnets[subnet['id']]

    # -- IP allocation ---------------------------------------------------
    def _used_ips(self, network_id):
        used = set()
        for port in self.ports.values():
            if port['network_id'] == network_id:
                used.update(ip['ip_address'] for ip in port['fixed_ips'])
        for fip in self.floatingips.values():
            if fip['floating_network_id'] == network_id:
                used.add(fip['floating_ip_address'])
        return used

    def _allocate(self, network_id, subnet_id=None, exclude=()):
        used = self._used_ips(network_id) | set(exclude)
        net = self.networks[network_id]
        for sid in net['subnets']:
            if subnet_id and sid != subnet_id:
                continue
            subnet = self.subnets[sid]
            for pool in subnet['allocation_pools']:
                addr = ipaddress.ip_address(pool['start'])
                end = ipaddress.ip_address(pool['end'])
                while addr <= end:
                    if str(addr) not in used \
                            and str(addr) != subnet['gateway_ip']:
                        return {'subnet_id': sid, 'ip_address': str(addr)}
                    addr += 1
        raise NeutronFault(409, 'IpAddressGenerationFailure',
                           'No more IP addresses available on network %s.'
                           % network_id)

    def _subnet_for_ip(self, net, ip_address):
        try:
            addr = ipaddress.ip_address(ip_address)
        except ValueError:
            raise _bad_input("'%s' is not a valid IP address" % ip_address)
        for sid in net['subnets']:
            if addr in ipaddress.ip_network(self.subnets[sid]['cidr']):
                return sid
        raise NeutronFault(400, 'InvalidIpForNetwork',
                           'IP address %s is not a valid IP for any of the '
                           'subnets on the specified network.' % ip_address)

    def _fixed_ips(self, net, requested, port_id=None):
        """Resolve a ``fixed_ips`` request into allocations on ``net``."""
        if requested is None:
            if not net['subnets']:
                return []
            return [self._allocate(net['id'])]
        if not isinstance(requested, list):
            raise _bad_input('fixed_ips must be a list')
        in_use = {}
        for port in self.ports.values():
            if port['network_id'] == net['id'] and port['id'] != port_id:
                for ip in port['fixed_ips']:
                    in_use[ip['ip_address']] = port['id']
        for fip in self.floatingips.values():
            if fip['floating_network_id'] == net['id']:
                in_use[fip['floating_ip_address']] = fip['id']
        result = []
        for item in requested:
            if not isinstance(item, dict):
                raise _bad_input('fixed_ips items must be objects')
            ip = item.get('ip_address')
            sid = item.get('subnet_id')
            for key, value in (('ip_address', ip), ('subnet_id', sid)):
                if value is not None and not isinstance(value, str):
                    raise _bad_input("'%s' is not a valid %s"
                                     % (value, key))
            if sid is not None and sid not in net['subnets']:
                if sid not in self.subnets:
                    raise _not_found('subnet', sid)
                raise _bad_input('Failed to create port on network %s, '
                                 'because fixed_ips included invalid subnet '
                                 '%s' % (net['id'], sid))
            if ip is None:
                result.append(self._allocate(
                    net['id'], sid,
                    exclude=[r['ip_address'] for r in result]))
                continue
            ip_sid = self._subnet_for_ip(net, ip)
            if sid is not None and sid != ip_sid:
                raise NeutronFault(
                    400, 'InvalidIpForSubnet',
                    'IP address %s is not a valid IP for the specified '
                    'subnet.' % ip)
            if ip in in_use or ip in [r['ip_address'] for r in result]:
                raise NeutronFault(
                    409, 'IpAddressAlreadyAllocated',
                    'IP address %s already allocated in subnet %s'
                    % (ip, ip_sid))
            result.append({'subnet_id': ip_sid, 'ip_address': ip})
        return result

    # -- ports -----------------------------------------------------------
    def _address_pairs(self, port, pairs):
        if pairs is None:
            return []
        if not isinstance(pairs, list):
            raise _bad_input('allowed_address_pairs must be a list')
        if pairs and not port['port_security_enabled']:
            raise NeutronFault(
                409, 'AddressPairAndPortSecurityRequired',
                'Port Security must be enabled in order to have allowed '
                'address pairs on a port.')
        result = []
        for pair in pairs:
            if not isinstance(pair, dict) or 'ip_address' not in pair:
                raise NeutronFault(400, 'AllowedAddressPairsMissingIP',
                                   'AllowedAddressPair must contain '
                                   'ip_address')
            try:
                if not isinstance(pair['ip_address'], str):
                    raise ValueError(pair['ip_address'])
                ipaddress.ip_network(pair['ip_address'], strict=False)
            except ValueError:
                raise _bad_input("'%s' is not a valid IP address"
                                 % pair['ip_address'])
            entry = {'ip_address': pair['ip_address'],
                     'mac_address': pair.get('mac_address')
                     or port['mac_address']}
            if entry in result:
                raise NeutronFault(400, 'DuplicateAddressPairInRequest',
                                   'Request contains duplicate address pair:'
                                   ' mac_address %(mac_address)s ip_address '
                                   '%(ip_address)s.' % entry)
            result.append(entry)
        # Neutron reads them back in its table's key order.
        return sorted(result, key=lambda e: (e['mac_address'],
                                             e['ip_address']))

    def _make_port(self, project, body, ctx=None):
        net = self.networks.get(body.get('network_id'))
        if net is None or not self._visible(ctx, 'network', net):
            if not body.get('network_id'):
                raise _bad_input("Failed to parse request. Required attribute"
                                 " 'network_id' not specified")
            raise _not_found('network', body.get('network_id'))
        if ctx is not None and not ctx.is_admin and 'binding:host_id' in body:
            raise NeutronFault(403, 'HTTPForbidden',
                               '(rule:create_port and '
                               'rule:create_port:binding:host_id) is '
                               'disallowed by policy')
        mac = body.get('mac_address') or _new_mac()
        if any(p['mac_address'] == mac and p['network_id'] == net['id']
               for p in self.ports.values()):
            raise NeutronFault(409, 'MacAddressInUse',
                               'Unable to complete operation for network %s.'
                               ' The mac address %s is in use.'
                               % (net['id'], mac))
        port = self._standard(project, body)
        port.update({
            'network_id': net['id'], 'mac_address': mac,
            'admin_state_up': _as_bool(body.get('admin_state_up', True),
                                       'admin_state_up'),
            'status': 'DOWN',
            'device_id': body.get('device_id', ''),
            'device_owner': body.get('device_owner', ''),
            'port_security_enabled': _as_bool(
                body.get('port_security_enabled',
                         net['port_security_enabled']),
                'port_security_enabled'),
            'binding:host_id': body.get('binding:host_id', ''),
            'binding:vnic_type': body.get('binding:vnic_type', 'normal'),
            'binding:profile': body.get('binding:profile', {}),
            'binding:vif_type': 'unbound', 'binding:vif_details': {},
            'extra_dhcp_opts': body.get('extra_dhcp_opts', []),
            'dns_name': body.get('dns_name', ''), 'dns_assignment': [],
            'qos_policy_id': None, 'qos_network_policy_id': None,
            'propagate_uplink_status': False,
        })
        port['fixed_ips'] = self._fixed_ips(net, body.get('fixed_ips'))
        port['allowed_address_pairs'] = self._address_pairs(
            port, body.get('allowed_address_pairs'))
        if port['port_security_enabled'] and not port['device_owner'] \
                .startswith('network:'):
            groups = body.get('security_groups')
            if groups is None:
                groups = [self._default_sg(project)['id']]
            for sg in groups:
                if sg not in self.security_groups:
                    raise NeutronFault(404, 'SecurityGroupNotFound',
                                       'Security group %s does not exist'
                                       % sg)
            port['security_groups'] = list(groups)
        else:
            port['security_groups'] = []
        self._bind(port)
        self.ports[port['id']] = port
        return port

    @staticmethod
    def _bind(port):
        """Model port binding: bound and ACTIVE once it has a host."""
        if port['binding:host_id'] and port['device_id']:
            port['binding:vif_type'] = 'ovs'
            port['binding:vif_details'] = {'port_filter': True,
                                           'connectivity': 'l2'}
            port['status'] = 'ACTIVE' if port['admin_state_up'] else 'DOWN'
        elif port['device_owner'].startswith('network:'):
            port['status'] = 'ACTIVE'
        else:
            port['binding:vif_type'] = 'unbound'
            port['binding:vif_details'] = {}
            port['status'] = 'DOWN'

    def _update_port(self, ctx, port, body):
        if ctx is not None and not ctx.is_admin:
            for key in ('binding:host_id', 'mac_address', 'binding:profile'):
                if key in body:
                    raise NeutronFault(
                        403, 'HTTPForbidden',
                        '(rule:update_port and rule:update_port:%s) is '
                        'disallowed by policy' % key)
        if 'network_id' in body and body['network_id'] != port['network_id']:
            raise NeutronFault(400, 'HTTPBadRequest',
                               "Cannot update read-only attribute "
                               "network_id")
        net = self.networks[port['network_id']]
        new = dict(port)
        for key in ('name', 'description', 'device_id', 'device_owner',
                    'binding:host_id', 'binding:profile', 'binding:vnic_type',
                    'dns_name', 'extra_dhcp_opts', 'mac_address'):
            if key in body:
                new[key] = body[key] if body[key] is not None else ''
        for key in ('admin_state_up', 'port_security_enabled'):
            if key in body:
                new[key] = _as_bool(body[key], key)
        if 'fixed_ips' in body:
            new['fixed_ips'] = self._fixed_ips(net, body['fixed_ips'],
                                               port_id=port['id'])
        pairs = body.get('allowed_address_pairs',
                         port['allowed_address_pairs'])
        new['allowed_address_pairs'] = self._address_pairs(new, pairs)
        if 'security_groups' in body:
            groups = body['security_groups'] or []
            if groups and not new['port_security_enabled']:
                raise NeutronFault(
                    409, 'PortSecurityPortHasSecurityGroup',
                    'Port has security group associated. Cannot disable '
                    'port security or ip address until security group is '
                    'removed')
            for sg in groups:
                if sg not in self.security_groups:
                    raise NeutronFault(404, 'SecurityGroupNotFound',
                                       'Security group %s does not exist'
                                       % sg)
            new['security_groups'] = list(groups)
        elif not new['port_security_enabled'] and new['security_groups']:
            raise NeutronFault(
                409, 'PortSecurityPortHasSecurityGroup',
                'Port has security group associated. Cannot disable port '
                'security or ip address until security group is removed')
        self._bind(new)
        port.update(new)
        # A floating IP stays on its port only while the fixed IP exists.
        ips = {ip['ip_address'] for ip in port['fixed_ips']}
        for fip in self.floatingips.values():
            if fip['port_id'] == port['id'] \
                    and fip['fixed_ip_address'] not in ips:
                self._disassociate(fip)
        self._refresh_fips_of(port['id'])

    def _delete_port(self, port, ctx=None):
        if port['device_owner'] in ('network:router_interface',
                                    'network:router_gateway'):
            raise NeutronFault(
                409, 'ServicePortInUse',
                'Port %s cannot be deleted directly via the port API: has '
                'device owner %s.' % (port['id'], port['device_owner']))
        self._remove_port(port['id'])

    def _remove_port(self, port_id):
        for fip in self.floatingips.values():
            if fip['port_id'] == port_id:
                self._disassociate(fip)
        self.ports.pop(port_id, None)
        self.nova_created_ports.discard(port_id)

    # -- security groups -------------------------------------------------
    @property
    def security_group_rules(self):
        """Every rule by id; the rules live inside their groups."""
        return {rule['id']: rule for sg in self.security_groups.values()
                for rule in sg['security_group_rules']}

    def _default_sg(self, project):
        for sg in self.security_groups.values():
            if sg['project_id'] == project and sg['name'] == 'default':
                return sg
        return self._new_security_group(project, {
            'name': 'default', 'description': 'Default security group'},
            default=True)

    def _make_security_group(self, project, body, ctx=None):
        if body.get('name', '').lower() == 'default':
            raise NeutronFault(409, 'SecurityGroupDefaultAlreadyExists',
                               'Default security group already exists.')
        self._default_sg(project)
        return self._new_security_group(project, body)

    def _new_security_group(self, project, body, default=False):
        sg = self._standard(project, body)
        sg['stateful'] = _as_bool(body.get('stateful', True), 'stateful')
        sg['shared'] = False
        sg['security_group_rules'] = []
        self.security_groups[sg['id']] = sg
        # Neutron's rules for a new group: all egress; the default group
        # also lets in everything from its own members.
        directions = ('ingress', 'egress') if default else ('egress',)
        for direction in directions:
            for ethertype in ('IPv4', 'IPv6'):
                self._add_rule(sg, project, {
                    'direction': direction, 'ethertype': ethertype,
                    'remote_group_id': sg['id'] if direction == 'ingress'
                    else None})
        sg['revision_number'] = 0
        return sg

    def _update_security_group(self, ctx, sg, body):
        if 'name' in body and body['name'].lower() == 'default' \
                and sg['name'] != 'default':
            raise NeutronFault(409, 'SecurityGroupDefaultAlreadyExists',
                               'Default security group already exists.')
        if sg['name'] == 'default' and body.get('name', 'default') \
                != 'default':
            raise NeutronFault(409, 'SecurityGroupCannotUpdateDefault',
                               'Updating default security group not allowed.')
        for key in ('name', 'description'):
            if key in body:
                sg[key] = body[key]
        if 'stateful' in body:
            sg['stateful'] = _as_bool(body['stateful'], 'stateful')

    def _delete_security_group(self, sg, ctx=None):
        if sg['name'] == 'default' and ctx is not None and not ctx.is_admin:
            raise NeutronFault(409, 'SecurityGroupCannotRemoveDefault',
                               'Insufficient rights for removing default '
                               'security group.')
        if any(sg['id'] in p['security_groups'] for p in self.ports.values()):
            raise NeutronFault(409, 'SecurityGroupInUse',
                               'Security Group %s in use.' % sg['id'])
        del self.security_groups[sg['id']]
        # Rules of other groups naming this one as remote go with it.
        for other in self.security_groups.values():
            kept = [r for r in other['security_group_rules']
                    if r['remote_group_id'] != sg['id']]
            if len(kept) != len(other['security_group_rules']):
                other['security_group_rules'] = kept
                self._touch(other)

    def _make_security_group_rule(self, project, body, ctx=None):
        for key in ('security_group_id', 'direction'):
            if not body.get(key):
                raise _bad_input("Failed to parse request. Required attribute"
                                 " '%s' not specified" % key)
        sg_id = body['security_group_id']
        if sg_id in self.security_groups and not self._visible(
                ctx, 'security_group', self.security_groups[sg_id]):
            # Another project's group: policy refuses before any lookup.
            raise NeutronFault(403, 'HTTPForbidden',
                               'rule:create_security_group_rule is '
                               'disallowed by policy')
        sg = self._get(ctx, 'security_group', sg_id)
        return self._add_rule(sg, project, body, ctx)

    def _add_rule(self, sg, project, body, ctx=None):
        """Validate a rule as Neutron does, refuse a duplicate, store it."""
        direction = body['direction']
        if direction not in ('ingress', 'egress'):
            raise NeutronFault(400, 'HTTPBadRequest',
                               'Invalid input for direction. Reason: %s is '
                               'not in valid_values.' % direction)
        ethertype = _ETHERTYPES.get(str(body.get('ethertype') or 'IPv4')
                                    .lower())
        if ethertype is None:
            raise NeutronFault(400, 'HTTPBadRequest',
                               "Invalid input for ethertype. Reason: '%s' is"
                               " not in ['IPv4', 'IPv6']."
                               % body.get('ethertype'))
        protocol = _sg_protocol(body.get('protocol'))
        port_min, port_max = _sg_port_range(
            protocol, body.get('port_range_min'), body.get('port_range_max'))
        prefix = body.get('remote_ip_prefix')
        remote_group = body.get('remote_group_id')
        if prefix and remote_group:
            raise NeutronFault(400, 'SecurityGroupMultipleRemoteEntites',
                               'Only one of remote_ip_prefix or '
                               'remote_group_id or remote_address_group_id '
                               'may be provided.')
        normalized = None
        if prefix:
            try:
                iface = ipaddress.ip_interface(prefix)
            except ValueError:
                raise NeutronFault(400, 'HTTPBadRequest',
                                   "Invalid input for remote_ip_prefix. "
                                   "Reason: '%s' is not a valid IP subnet."
                                   % prefix)
            if 'IPv%d' % iface.version != ethertype:
                raise NeutronFault(400, 'SecurityGroupRuleParameterConflict',
                                   'Conflicting value ethertype %s for CIDR '
                                   '%s' % (ethertype, prefix))
            prefix = iface.with_prefixlen
            normalized = str(iface.network)
        if remote_group and remote_group != sg['id']:
            self._get(ctx, 'security_group', remote_group)
        rule = {
            'id': str(uuid.uuid4()), 'security_group_id': sg['id'],
            'project_id': project, 'tenant_id': project,
            'direction': direction, 'ethertype': ethertype,
            'protocol': protocol, 'port_range_min': port_min,
            'port_range_max': port_max, 'remote_ip_prefix': prefix,
            'normalized_cidr': normalized, 'remote_group_id': remote_group,
            'description': body.get('description', ''),
            'created_at': _now(), 'updated_at': _now(), 'revision_number': 0,
        }
        for other in sg['security_group_rules']:
            if _rule_key(other) == _rule_key(rule):
                raise NeutronFault(409, 'SecurityGroupRuleExists',
                                   'Security group rule already exists. '
                                   'Rule id is %s.' % other['id'])
        sg['security_group_rules'].append(rule)
        self._touch(sg)
        return rule

    def _update_security_group_rule(self, ctx, rule, body):
        for key in body:
            if key != 'description':
                raise NeutronFault(400, 'HTTPBadRequest',
                                   'Cannot update read-only attribute %s'
                                   % key)
        rule['description'] = body.get('description', rule['description'])

    def _delete_security_group_rule(self, rule, ctx=None):
        sg = self.security_groups[rule['security_group_id']]
        sg['security_group_rules'] = [r for r in sg['security_group_rules']
                                      if r['id'] != rule['id']]
        self._touch(sg)

    # -- routers ---------------------------------------------------------
    def _make_router(self, project, body, ctx=None):
        router = self._standard(project, body)
        router.update({'status': 'ACTIVE', 'admin_state_up': True,
                       'external_gateway_info': None, 'routes': [],
                       'distributed': False, 'ha': False,
                       'availability_zone_hints': [],
                       'availability_zones': [], 'flavor_id': None})
        self.routers[router['id']] = router
        self._set_gateway(router, body.get('external_gateway_info'))
        return router

    def _set_gateway(self, router, info):
        for port in list(self.ports.values()):
            if port['device_id'] == router['id'] \
                    and port['device_owner'] == 'network:router_gateway':
                self._remove_port(port['id'])
        router['external_gateway_info'] = None
        if not info:
            return
        net = self.networks.get(info.get('network_id'))
        if net is None:
            raise _not_found('network', info.get('network_id'))
        if not net['router:external']:
            raise NeutronFault(400, 'BadRequest',
                               'Bad router request: Network %s is not an '
                               'external network.' % net['id'])
        port = self._make_port(router['project_id'], {
            'network_id': net['id'], 'device_id': router['id'],
            'device_owner': 'network:router_gateway'})
        router['external_gateway_info'] = {
            'network_id': net['id'], 'enable_snat': True,
            'external_fixed_ips': copy.deepcopy(port['fixed_ips'])}

    def _update_router(self, ctx, router, body):
        for key in ('name', 'description', 'routes'):
            if key in body:
                router[key] = body[key]
        if 'admin_state_up' in body:
            router['admin_state_up'] = _as_bool(body['admin_state_up'],
                                                'admin_state_up')
        if 'external_gateway_info' in body:
            self._set_gateway(router, body['external_gateway_info'])

    def _delete_router(self, router, ctx=None):
        if any(p['device_id'] == router['id']
               and p['device_owner'] == 'network:router_interface'
               for p in self.ports.values()):
            raise NeutronFault(409, 'RouterInUse',
                               'Router %s still has ports' % router['id'])
        if any(f['router_id'] == router['id']
               for f in self.floatingips.values()):
            raise NeutronFault(409, 'RouterInUse',
                               'Router %s still has floating IPs'
                               % router['id'])
        self._set_gateway(router, None)
        del self.routers[router['id']]

    def _add_interface(self, router, subnet_id, port_id):
        if port_id:
            port = self.ports.get(port_id)
            if port is None:
                raise _not_found('port', port_id)
            if port['device_id']:
                raise NeutronFault(409, 'PortInUse',
                                   'Unable to complete operation on port %s '
                                   'for network %s. Port already has an '
                                   'attached device %s.'
                                   % (port_id, port['network_id'],
                                      port['device_id']))
            port['device_id'] = router['id']
            port['device_owner'] = 'network:router_interface'
            self._bind(port)
        else:
            subnet = self.subnets.get(subnet_id)
            if subnet is None:
                raise _not_found('subnet', subnet_id)
            for port in self.ports.values():
                if port['device_id'] == router['id'] and any(
                        ip['subnet_id'] == subnet_id
                        for ip in port['fixed_ips']):
                    raise NeutronFault(
                        400, 'BadRequest',
                        'Bad router request: Router already has a port on '
                        'subnet %s.' % subnet_id)
            port = self._make_port(router['project_id'], {
                'network_id': subnet['network_id'],
                'device_id': router['id'],
                'device_owner': 'network:router_interface',
                'fixed_ips': [{'subnet_id': subnet_id,
                               'ip_address': subnet['gateway_ip']}]})
        return {'id': router['id'], 'tenant_id': router['project_id'],
                'project_id': router['project_id'], 'port_id': port['id'],
                'subnet_id': port['fixed_ips'][0]['subnet_id'],
                'subnet_ids': [ip['subnet_id'] for ip in port['fixed_ips']],
                'network_id': port['network_id']}

    def add_router_interface(self, req, ctx, res_id):
        """``PUT /v2.0/routers/{id}/add_router_interface``."""
        self._check_writer(ctx, 'add_router_interface', 'router')
        body = self._raw_body(req)
        with self.lock:
            router = self._owned(ctx, 'router', res_id)
            for key in ('subnet_id', 'port_id'):
                if not _str_or_none(body.get(key)):
                    raise _bad_input("'%s' is not a valid %s"
                                     % (body[key], key))
            if bool(body.get('subnet_id')) == bool(body.get('port_id')):
                raise NeutronFault(400, 'BadRequest',
                                   'Bad router request: Either subnet_id or'
                                   ' port_id must be specified.')
            info = self._add_interface(router, body.get('subnet_id'),
                                       body.get('port_id'))
            self._touch(router)
            return 200, info

    def remove_router_interface(self, req, ctx, res_id):
        """``PUT /v2.0/routers/{id}/remove_router_interface``."""
        self._check_writer(ctx, 'remove_router_interface', 'router')
        body = self._raw_body(req)
        with self.lock:
            router = self._owned(ctx, 'router', res_id)
            for port in list(self.ports.values()):
                if port['device_id'] != router['id'] \
                        or port['device_owner'] != 'network:router_interface':
                    continue
                subnets = [ip['subnet_id'] for ip in port['fixed_ips']]
                if port['id'] == body.get('port_id') \
                        or body.get('subnet_id') in subnets:
                    self._remove_port(port['id'])
                    self._touch(router)
                    return 200, {'id': router['id'], 'port_id': port['id'],
                                 'subnet_id': subnets[0] if subnets else None,
                                 'subnet_ids': subnets,
                                 'network_id': port['network_id'],
                                 'project_id': router['project_id'],
                                 'tenant_id': router['project_id']}
            raise NeutronFault(404, 'RouterInterfaceNotFoundForSubnet',
                               'Router %s has no interface on subnet %s'
                               % (router['id'], body.get('subnet_id')
                                  or body.get('port_id')))

    @staticmethod
    def _raw_body(req):
        try:
            return Service.json_body(req)
        except Fault as exc:
            raise NeutronFault(400, 'HTTPBadRequest', exc.message)

    def _router_for(self, subnet_id, external_net_id):
        """The router joining ``subnet_id`` to ``external_net_id``, if any."""
        for router in self.routers.values():
            gateway = router.get('external_gateway_info') or {}
            if gateway.get('network_id') != external_net_id:
                continue
            for port in self.ports.values():
                if port['device_id'] == router['id'] \
                        and port['device_owner'] == 'network:router_interface' \
                        and any(ip['subnet_id'] == subnet_id
                                for ip in port['fixed_ips']):
                    return router
        return None

    # -- floating IPs ----------------------------------------------------
    def _make_floatingip(self, project, body, ctx=None):
        net = self.networks.get(body.get('floating_network_id'))
        if net is None:
            if not body.get('floating_network_id'):
                raise _bad_input("Failed to parse request. Required attribute"
                                 " 'floating_network_id' not specified")
            raise _not_found('network', body.get('floating_network_id'))
        if not net['router:external']:
            raise NeutronFault(400, 'BadRequest',
                               'Bad floatingip request: Network %s is not a '
                               'valid external network.' % net['id'])
        if body.get('floating_ip_address'):
            if ctx is not None and not ctx.is_admin:
                raise NeutronFault(403, 'HTTPForbidden',
                                   '(rule:create_floatingip and '
                                   'rule:create_floatingip:floating_ip_address'
                                   ') is disallowed by policy')
            alloc = self._fixed_ips(net, [{
                'ip_address': body['floating_ip_address'],
                'subnet_id': body.get('subnet_id')}])[0]
        else:
            alloc = self._allocate(net['id'], body.get('subnet_id'))
        fip = self._standard(project, body)
        del fip['name']
        fip.update({
            'floating_network_id': net['id'],
            'floating_ip_address': alloc['ip_address'],
            'fixed_ip_address': None, 'port_id': None, 'router_id': None,
            'status': 'DOWN', 'port_details': None, 'port_forwardings': [],
            'dns_domain': '', 'dns_name': '', 'qos_policy_id': None,
        })
        self.floatingips[fip['id']] = fip
        if body.get('port_id'):
            try:
                self._associate(ctx, fip, body['port_id'],
                                body.get('fixed_ip_address'))
            except Fault:
                del self.floatingips[fip['id']]
                raise
        return fip

    def _update_floatingip(self, ctx, fip, body):
        if 'description' in body:
            fip['description'] = body['description']
        if 'port_id' not in body:
            return
        if body['port_id'] is None:
            self._disassociate(fip)
        else:
            self._associate(ctx, fip, body['port_id'],
                            body.get('fixed_ip_address'))

    def _associate(self, ctx, fip, port_id, fixed_ip):
        port = self.ports.get(port_id)
        if port is None or not self._visible(ctx, 'port', port):
            raise _not_found('port', port_id)
        if not port['fixed_ips']:
            raise NeutronFault(400, 'BadRequest',
                               'Bad floatingip request: Port %s does not have'
                               ' any fixed IPs.' % port_id)
        ipv4 = [ip for ip in port['fixed_ips']
                if ipaddress.ip_address(ip['ip_address']).version == 4]
        if fixed_ip is None:
            if not ipv4:
                raise NeutronFault(400, 'BadRequest',
                                   'Bad floatingip request: Port %s does not '
                                   'have any IPv4 addresses.' % port_id)
            chosen = ipv4[0]
        else:
            chosen = next((ip for ip in port['fixed_ips']
                           if ip['ip_address'] == fixed_ip), None)
            if chosen is None:
                raise NeutronFault(400, 'BadRequest',
                                   'Bad floatingip request: Port %s does not '
                                   'have fixed ip %s.' % (port_id, fixed_ip))
        for other in self.floatingips.values():
            if other['id'] != fip['id'] and other['port_id'] == port_id \
                    and other['fixed_ip_address'] == chosen['ip_address'] \
                    and other['floating_network_id'] \
                    == fip['floating_network_id']:
                raise NeutronFault(
                    409, 'FloatingIPPortAlreadyAssociated',
                    'Cannot associate floating IP %s (%s) with port %s using'
                    ' fixed IP %s, as that fixed IP already has a floating '
                    'IP on external network %s.'
                    % (fip['floating_ip_address'], fip['id'], port_id,
                       chosen['ip_address'], fip['floating_network_id']))
        router = self._router_for(chosen['subnet_id'],
                                  fip['floating_network_id'])
        if router is None:
            raise NeutronFault(
                404, 'ExternalGatewayForFloatingIPNotFound',
                'External network %s is not reachable from subnet %s.  '
                'Therefore, cannot associate Port %s with a Floating IP.'
                % (fip['floating_network_id'], chosen['subnet_id'], port_id))
        fip.update({'port_id': port_id,
                    'fixed_ip_address': chosen['ip_address'],
                    'router_id': router['id'], 'status': 'ACTIVE'})
        self._refresh_port_details(fip)

    def _disassociate(self, fip):
        fip.update({'port_id': None, 'fixed_ip_address': None,
                    'router_id': None, 'status': 'DOWN',
                    'port_details': None})
        self._touch(fip)

    def _refresh_port_details(self, fip):
        port = self.ports.get(fip['port_id'])
        if port is None:
            fip['port_details'] = None
            return
        fip['port_details'] = {
            key: port[key] for key in ('name', 'network_id', 'mac_address',
                                       'admin_state_up', 'status',
                                       'device_id', 'device_owner')}

    def _delete_floatingip(self, fip, ctx=None):
        del self.floatingips[fip['id']]

    # -- hooks for Nova --------------------------------------------------
    def create_server_port(self, server_id, project_id, host, network_id=None,
                           port_id=None):
        """Bind a port to a booting server and return the port dict.

        With ``port_id`` the user's port is bound (409 if another device
        uses it); otherwise a port is created on ``network_id`` (default:
        the seeded ``private`` network) and deleted with the server.
        """
        with self.lock:
            if port_id:
                port = self.ports.get(port_id)
                if port is None:
                    raise NeutronFault(404, 'PortNotFound',
                                       'Port id %s could not be found.'
                                       % port_id)
                if port['device_id'] and port['device_id'] != server_id:
                    raise Fault(409, 'Port %s is still in use.' % port_id)
            else:
                network_id = network_id or self.default_network_id
                if network_id not in self.networks:
                    raise Fault(400, 'Network %s could not be found.'
                                % network_id)
                port = self._make_port(project_id, {
                    'network_id': network_id})
                self.nova_created_ports.add(port['id'])
            port['device_id'] = server_id
            port['device_owner'] = 'compute:nova'
            port['binding:host_id'] = host or ''
            self._bind(port)
            self._touch(port)
            self._refresh_fips_of(port['id'])
            return copy.deepcopy(port)

    def _refresh_fips_of(self, port_id):
        for fip in self.floatingips.values():
            if fip['port_id'] == port_id:
                self._refresh_port_details(fip)

    def server_ports(self, server_id):
        """The ports bound to ``server_id`` (copies)."""
        with self.lock:
            return [copy.deepcopy(p) for p in self.ports.values()
                    if p['device_id'] == server_id]

    def server_addresses(self, server_id):
        """Nova's ``addresses`` dict for ``server_id``."""
        with self.lock:
            addresses = {}
            for port in sorted(self.ports.values(),
                               key=lambda p: p['created_at']):
                if port['device_id'] != server_id:
                    continue
                net = self.networks.get(port['network_id'], {})
                entries = addresses.setdefault(net.get('name')
                                               or port['network_id'], [])
                for ip in port['fixed_ips']:
                    entries.append({
                        'addr': ip['ip_address'],
                        'version': ipaddress.ip_address(
                            ip['ip_address']).version,
                        'OS-EXT-IPS:type': 'fixed',
                        'OS-EXT-IPS-MAC:mac_addr': port['mac_address']})
                for fip in self.floatingips.values():
                    if fip['port_id'] == port['id']:
                        entries.append({
                            'addr': fip['floating_ip_address'], 'version': 4,
                            'OS-EXT-IPS:type': 'floating',
                            'OS-EXT-IPS-MAC:mac_addr': port['mac_address']})
            return addresses

    def on_server_deleted(self, server_id):
        """Delete the ports Nova created for the server, unbind the others."""
        with self.lock:
            for port in list(self.ports.values()):
                if port['device_id'] != server_id \
                        or not port['device_owner'].startswith('compute:'):
                    continue
                if port['id'] in self.nova_created_ports:
                    self._remove_port(port['id'])
                else:
                    port.update({'device_id': '', 'device_owner': '',
                                 'binding:host_id': ''})
                    self._bind(port)
                    self._touch(port)
                    self._refresh_fips_of(port['id'])

    def on_server_moved(self, server_id, host):
        """Rebind the server's ports to ``host`` (evacuate, migrations)."""
        with self.lock:
            for port in self.ports.values():
                if port['device_id'] == server_id:
                    port['binding:host_id'] = host or ''
                    self._bind(port)
                    self._touch(port)

    def find_port_by_ip(self, ip_address, subnet_id=None):
        """The port holding fixed IP ``ip_address`` (Octavia uses this)."""
        with self.lock:
            for port in self.ports.values():
                for ip in port['fixed_ips']:
                    if ip['ip_address'] == ip_address and (
                            subnet_id is None or ip['subnet_id'] == subnet_id):
                        return copy.deepcopy(port)
            return None

    def create_service_port(self, project_id, network_id=None, subnet_id=None,
                            ip_address=None, name='', device_owner='',
                            device_id=''):
        """Create a port for another service (Octavia's VIP); return it.

        Raises the Neutron fault (404 unknown network/subnet, 409 address in
        use); the caller turns it into its own error format.
        """
        with self.lock:
            if subnet_id and not network_id:
                subnet = self.subnets.get(subnet_id)
                if subnet is None:
                    raise _not_found('subnet', subnet_id)
                network_id = subnet['network_id']
            fixed = None
            if subnet_id or ip_address:
                fixed = [{key: value for key, value in (
                    ('subnet_id', subnet_id), ('ip_address', ip_address))
                    if value}]
            body = {'network_id': network_id, 'name': name,
                    'device_owner': device_owner, 'device_id': device_id,
                    'fixed_ips': fixed}
            if fixed is None:
                del body['fixed_ips']
            port = self._make_port(project_id, body)
            return copy.deepcopy(port)

    def delete_port(self, port_id):
        """Delete a port another service created (no error if gone)."""
        with self.lock:
            self._remove_port(port_id)

    def get_port(self, port_id):
        """The port dict (a copy) or None."""
        with self.lock:
            port = self.ports.get(port_id)
            return copy.deepcopy(port) if port else None
