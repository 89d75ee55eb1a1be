"""Server views: a server record as the API shows it at each microversion.

Addresses and security groups come from the server's Neutron ports.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import hashlib

from vmr_lab.services.nova.common import LOG, _iso, _iso_us, status_of


class ServerViews:
    """How the Nova API shows a server (a mixin)."""

    def _flavor_view_in_server(self, req, flavor):
        if self.mv(req, '2.47'):
            return {'vcpus': flavor['vcpus'], 'ram': flavor['ram'],
                    'disk': flavor['disk'], 'ephemeral': flavor['ephemeral'],
                    'swap': flavor['swap'], 'original_name': flavor['name'],
                    'extra_specs': dict(flavor['extra_specs'])}
        return {'id': flavor['id'], 'links': [{
            'rel': 'bookmark',
            'href': req.host_url + '/flavors/' + flavor['id']}]}

    def _host_status(self, server):
        if not server['host']:
            return ''
        service = self.compute_service(server['host'])
        if service is None:
            return 'UNKNOWN'
        if not self.service_is_up(service):
            return 'DOWN'
        if service['status'] == 'disabled':
            return 'MAINTENANCE'
        return 'UP'

    def _server_view(self, req, ctx, server, addresses, groups):
        base = req.host_url + '/v2.1/servers/' + server['id']
        host_id = ''
        if server['host']:
            host_id = hashlib.sha224(
                (server['project_id'] + server['host']).encode()).hexdigest()
        view = {
            'id': server['id'], 'name': server['name'],
            'status': status_of(server),
            'tenant_id': server['project_id'], 'user_id': server['user_id'],
            'metadata': dict(server['metadata']), 'hostId': host_id,
            'image': ({'id': server['image_id'], 'links': []}
                      if server['image_id'] else ''),
            'flavor': self._flavor_view_in_server(req, server['flavor']),
            'created': _iso(server['created']),
            'updated': _iso(server['updated']),
            'addresses': addresses, 'accessIPv4': '', 'accessIPv6': '',
            'links': [{'rel': 'self', 'href': base},
                      {'rel': 'bookmark', 'href': base}],
            'OS-DCF:diskConfig': 'MANUAL',
            'OS-EXT-AZ:availability_zone': (
                self._host_zone(server['host']) if server['host'] else ''),
            'config_drive': '', 'key_name': server['key_name'],
            'OS-SRV-USG:launched_at': _iso_us(server['launched_at']),
            'OS-SRV-USG:terminated_at': None,
            'OS-EXT-STS:task_state': server['task_state'],
            'OS-EXT-STS:vm_state': server['vm_state'],
            'OS-EXT-STS:power_state': server['power_state'],
            'os-extended-volumes:volumes_attached': [
                ({'id': v['volume_id'],
                  'delete_on_termination': v['delete_on_termination']}
                 if self.mv(req, '2.3') else {'id': v['volume_id']})
                for v in server['volumes']],
        }
        if groups:
            # Nova reads them from the server's Neutron ports and leaves
            # the key out when there are none.
            view['security_groups'] = [{'name': name} for name in groups]
        if server['vm_state'] in ('building', 'resized') or \
                server['task_state']:
            view['progress'] = 0
        if ctx.is_admin:
            view['OS-EXT-SRV-ATTR:host'] = server['host']
            view['OS-EXT-SRV-ATTR:hypervisor_hostname'] = server['host']
            view['OS-EXT-SRV-ATTR:instance_name'] = server['instance_name']
            if self.mv(req, '2.3'):
                view.update({
                    'OS-EXT-SRV-ATTR:reservation_id': server['reservation_id'],
                    'OS-EXT-SRV-ATTR:launch_index': 0,
                    'OS-EXT-SRV-ATTR:kernel_id': '',
                    'OS-EXT-SRV-ATTR:ramdisk_id': '',
                    'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
                    'OS-EXT-SRV-ATTR:user_data': server.get('user_data')})
            if self.mv(req, '2.16'):
                view['host_status'] = self._host_status(server)
        if self.mv(req, '2.3') and (ctx.is_admin or self.mv(req, '2.90')):
            view['OS-EXT-SRV-ATTR:hostname'] = server['hostname']
        if self.mv(req, '2.9'):
            view['locked'] = server['locked']
        if self.mv(req, '2.73'):
            view['locked_reason'] = server['locked_reason']
        if self.mv(req, '2.19'):
            view['description'] = server['description']
        if self.mv(req, '2.26'):
            view['tags'] = list(server['tags'])
        if self.mv(req, '2.63'):
            view['trusted_image_certificates'] = None
        if self.mv(req, '2.71'):
            group = self._group_of(server['id'])
            view['server_groups'] = [group['id']] if group else []
        if self.mv(req, '2.96'):
            view['pinned_availability_zone'] = server['pinned_az']
        if server['fault'] and server['vm_state'] == 'error':
            fault = dict(server['fault'])
            if not ctx.is_admin:
                fault.pop('details', None)
            view['fault'] = fault
        return view

    def _addresses(self, server_id):
        neutron = self.lab.neutron
        if neutron is None:
            return {}
        try:
            return neutron.server_addresses(server_id) or {}
        except Exception:  # another service's bug must not break Nova views
            LOG.exception('neutron.server_addresses(%s) failed', server_id)
            return {}

    def _security_group_names(self, server_id):
        """Names of the security groups on the server's ports, as Nova
        shows them: each once, in the order the ports list them."""
        neutron = self.lab.neutron
        if neutron is None:
            return []
        with neutron.lock:
            names = []
            for port in sorted(neutron.ports.values(),
                               key=lambda p: p['created_at']):
                if port['device_id'] != server_id:
                    continue
                for sg_id in port.get('security_groups') or ():
                    sg = neutron.security_groups.get(sg_id)
                    name = sg['name'] if sg else sg_id
                    if name not in names:
                        names.append(name)
            return names

    def _render(self, req, ctx, servers):
        """Views of ``servers`` (records copied under the lock)."""
        addresses = {s['id']: self._addresses(s['id']) for s in servers}
        groups = {s['id']: self._security_group_names(s['id'])
                  for s in servers}
        with self.state_lock:
            return [self._server_view(req, ctx, s, addresses[s['id']],
                                      groups[s['id']])
                    for s in servers]
