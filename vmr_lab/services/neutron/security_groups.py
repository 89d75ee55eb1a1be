"""Security groups and their rules, validated as Neutron validates them.

Each project gets its ``default`` security group on first use, with the
four rules Neutron gives it; other groups start with the two egress rules.
A part of :class:`vmr_lab.services.neutron.NeutronAPI`.
"""

import ipaddress
import uuid

from vmr_lab.services.base import utc_timestamp
from vmr_lab.services.neutron.attributes import NeutronFault, as_bool, bad_input


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
            raise bad_input("'%s' is not an integer for %s" % (value, name))
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


class SecurityGroups:
    """Security groups and rules of the Neutron API (a mixin)."""

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
        sg['stateful'] = as_bool(body.get('stateful', True), 'stateful')
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
            sg['stateful'] = as_bool(body['stateful'], 'stateful')

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
                raise bad_input("Failed to parse request. Required attribute"
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
            'created_at': utc_timestamp(), 'updated_at': utc_timestamp(), 'revision_number': 0,
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
