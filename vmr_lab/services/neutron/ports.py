"""Ports: fixed IPs, allowed address pairs, security groups and binding.

A part of :class:`vmr_lab.services.neutron.NeutronAPI`.
"""

import ipaddress
import random

from vmr_lab.services.neutron.attributes import NeutronFault, as_bool, bad_input, not_found


def _new_mac():
    # fa:16:3e is the OUI Neutron uses for the ports it creates.
    return 'fa:16:3e:%02x:%02x:%02x' % (random.randint(0, 255),
                                        random.randint(0, 255),
                                        random.randint(0, 255))


class Ports:
    """Ports of the Neutron API (a mixin)."""

    def _address_pairs(self, port, pairs):
        if pairs is None:
            return []
        if not isinstance(pairs, list):
            raise bad_input('allowed_address_pairs must be a list')
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
                raise bad_input("'%s' is not a valid IP address"
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
                raise bad_input("Failed to parse request. Required attribute"
                                 " 'network_id' not specified")
            raise not_found('network', body.get('network_id'))
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
            'admin_state_up': as_bool(body.get('admin_state_up', True),
                                       'admin_state_up'),
            'status': 'DOWN',
            'device_id': body.get('device_id', ''),
            'device_owner': body.get('device_owner', ''),
            'port_security_enabled': as_bool(
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
                new[key] = as_bool(body[key], key)
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
