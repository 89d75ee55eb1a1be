"""Routers and floating IPs: Neutron's L3 extension.

Floating IPs associate, disassociate and re-associate directly to another
port, with the real 409 ``FloatingIPPortAlreadyAssociated``; a floating IP
needs a router joining its port's subnet to the external network.
A part of :class:`vmr_lab.services.neutron.NeutronAPI`.
"""

import copy
import ipaddress

from vmr_lab.services.base import Fault, Service
from vmr_lab.services.neutron.attributes import (NeutronFault, as_bool, bad_input, not_found,
                                                 str_or_none)


class Routers:
    """Routers and floating IPs of the Neutron API (a mixin)."""

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
            raise not_found('network', info.get('network_id'))
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
            router['admin_state_up'] = as_bool(body['admin_state_up'],
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
                raise not_found('port', port_id)
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
                raise not_found('subnet', subnet_id)
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
                if not str_or_none(body.get(key)):
                    raise bad_input("'%s' is not a valid %s"
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
                raise bad_input("Failed to parse request. Required attribute"
                                 " 'floating_network_id' not specified")
            raise not_found('network', body.get('floating_network_id'))
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
            raise not_found('port', port_id)
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
