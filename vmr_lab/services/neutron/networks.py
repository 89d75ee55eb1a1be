"""Networks, subnets and the IP allocation from a subnet's pools.

A part of :class:`vmr_lab.services.neutron.NeutronAPI`.
"""

import ipaddress
import random

from vmr_lab.services.neutron.attributes import NeutronFault, as_bool, bad_input, not_found


class Networks:
    """Networks and subnets of the Neutron API (a mixin)."""

    def _make_network(self, project, body, ctx=None):
        external = as_bool(body.get('router:external', False),
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
            'admin_state_up': as_bool(body.get('admin_state_up', True),
                                       'admin_state_up'),
            'shared': as_bool(body.get('shared', False), 'shared'),
            'router:external': external,
            'mtu': int(body.get('mtu', 1500 if external else 1442)),
            'port_security_enabled': as_bool(
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
                net[key] = as_bool(body[key], key)

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
            raise not_found('network', body.get('network_id'))
        try:
            cidr = ipaddress.ip_network(body.get('cidr', ''), strict=True)
        except ValueError:
            raise bad_input("'%s' is not a valid IP subnet"
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
            raise bad_input('subnet %s is too small' % cidr)
        gateway = body.get('gateway_ip', str(hosts[0]))
        if gateway is not None:
            try:
                if ipaddress.ip_address(gateway) not in cidr:
                    raise ValueError(gateway)
            except ValueError:
                raise bad_input('Gateway IP %s is not a valid address in '
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
            'enable_dhcp': as_bool(body.get('enable_dhcp', True),
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
            subnet['enable_dhcp'] = as_bool(body['enable_dhcp'],
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
            raise bad_input("'%s' is not a valid IP address" % ip_address)
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
            raise bad_input('fixed_ips must be a list')
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
                raise bad_input('fixed_ips items must be objects')
            ip = item.get('ip_address')
            sid = item.get('subnet_id')
            for key, value in (('ip_address', ip), ('subnet_id', sid)):
                if value is not None and not isinstance(value, str):
                    raise bad_input("'%s' is not a valid %s"
                                     % (value, key))
            if sid is not None and sid not in net['subnets']:
                if sid not in self.subnets:
                    raise not_found('subnet', sid)
                raise bad_input('Failed to create port on network %s, '
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
