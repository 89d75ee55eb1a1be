"""Neutron's errors and its attribute map: what a request may carry.

The error bodies name the exception class Neutron reports (``PortNotFound``,
``InvalidInput``, ...); :data:`ATTRIBUTES` is Neutron's attribute map in
miniature, so an unknown, read-only or mistyped attribute is refused with
the same 400 as the real service.
"""

from vmr_lab.services.base import Fault


class NeutronFault(Fault):
    """A Neutron error: carries the exception class name Neutron reports."""

    def __init__(self, status, error_type, message):
        super().__init__(status, message)
        self.error_type = error_type


def not_found(kind, res_id):
    """The 404 Neutron answers for the ``kind`` resource ``res_id``."""
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


def bad_input(message):
    """Neutron's 400 ``InvalidInput`` for ``message``."""
    return NeutronFault(400, 'InvalidInput',
                        'Invalid input for operation: %s.' % message)


def as_bool(value, field):
    """``value`` of ``field`` as a bool (JSON or ``'true'``/``'false'``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    raise bad_input("'%s' is not a valid boolean value for %s"
                     % (value, field))


def matches(value, wanted):
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


def str_or_none(value):
    """Whether ``value`` is a string or None."""
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
        'provider:physical_network': str_or_none,
        'provider:segmentation_id': _int_or_none,
        'availability_zone_hints': _STRS, 'qos_policy_id': str_or_none,
        'dns_domain': _is_str, 'is_default': _is_bool}),
    'subnet': dict(_COMMON, **{
        'network_id': _is_str, 'cidr': _is_str, 'ip_version': _is_int,
        'gateway_ip': str_or_none, 'allocation_pools': _DICTS,
        'enable_dhcp': _is_bool, 'dns_nameservers': _STRS,
        'host_routes': _DICTS, 'subnetpool_id': str_or_none,
        'ipv6_ra_mode': str_or_none, 'ipv6_address_mode': str_or_none,
        'segment_id': str_or_none, 'service_types': _STRS,
        'dns_publish_fixed_ip': _is_bool}),
    'port': dict(_COMMON, **{
        'network_id': _is_str, 'mac_address': _is_str,
        'admin_state_up': _is_bool, 'device_id': _is_str,
        'device_owner': _is_str, 'fixed_ips': _DICTS,
        'allowed_address_pairs': _DICTS, 'security_groups': _STRS,
        'port_security_enabled': _is_bool, 'binding:host_id': _is_str,
        'binding:vnic_type': _is_str, 'binding:profile': _dict_or_none,
        'extra_dhcp_opts': _DICTS, 'dns_name': _is_str,
        'dns_domain': _is_str, 'qos_policy_id': str_or_none,
        'propagate_uplink_status': _is_bool}),
    'floatingip': {
        'description': _is_str, 'project_id': _is_str, 'tenant_id': _is_str,
        'floating_network_id': _is_str, 'port_id': str_or_none,
        'fixed_ip_address': str_or_none,
        'floating_ip_address': str_or_none, 'subnet_id': str_or_none,
        'dns_name': _is_str, 'dns_domain': _is_str,
        'qos_policy_id': str_or_none, 'tags': _STRS},
    'router': dict(_COMMON, **{
        'admin_state_up': _is_bool, 'external_gateway_info': _dict_or_none,
        'routes': _DICTS, 'distributed': _is_bool, 'ha': _is_bool,
        'availability_zone_hints': _STRS, 'flavor_id': str_or_none}),
    'security_group': dict(_COMMON, stateful=_is_bool, shared=_is_bool),
    'security_group_rule': {
        'description': _is_str, 'project_id': _is_str, 'tenant_id': _is_str,
        'security_group_id': _is_str, 'direction': _is_str,
        'ethertype': _is_str,
        'protocol': lambda v: v is None or _is_str(v) or _is_int(v),
        'port_range_min': lambda v: v is None or _is_int(v) or _is_str(v),
        'port_range_max': lambda v: v is None or _is_int(v) or _is_str(v),
        'remote_ip_prefix': str_or_none, 'remote_group_id': str_or_none},
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


def check_attributes(kind, body, method):
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

