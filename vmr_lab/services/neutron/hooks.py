"""The plain Python calls other lab services make on Neutron.

Nova binds, moves and releases its servers' ports and reads their
addresses; Octavia creates and finds the ports of its VIPs and members.
A part of :class:`vmr_lab.services.neutron.NeutronAPI`.
"""

import copy
import ipaddress

from vmr_lab.services.base import Fault
from vmr_lab.services.neutron.attributes import NeutronFault, not_found


class ServiceHooks:
    """What Nova and Octavia call on the Neutron API (a mixin)."""

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
                    raise not_found('subnet', subnet_id)
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
