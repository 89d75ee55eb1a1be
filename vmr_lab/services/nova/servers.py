"""Servers: list (with filters and paging), show, update, create, delete.

A boot checks its flavor, image, volumes, key pair, security groups,
server group and requested host, schedules, binds its Neutron ports and
goes ACTIVE through nova-conductor's queue; a delete is local while the
server's compute is down.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import base64
import binascii
import copy
import re
import uuid

from vmr_lab.services.base import Fault, after_marker
from vmr_lab.services.nova.common import LOG, NOSTATE, RUNNING, _iso, _now, status_of

#: the servers schema's maxLength of ``user_data`` (base64 text)
MAX_USER_DATA = 65535


class Servers:
    """Servers of the Nova API: list, show, update, create, delete (a mixin)."""

    def _filtered(self, req, ctx):
        params = req.GET
        all_tenants = params.get('all_tenants')
        admin_only = [k for k in ('host', 'node', 'all_tenants')
                      if k in params]
        if admin_only and not ctx.is_admin:
            raise Fault(403, "Policy doesn't allow "
                             "os_compute_api:servers:index:get_all_tenants "
                             "to be performed." if 'all_tenants' in params
                        else "Policy doesn't allow os_compute_api:servers:"
                             "allow_all_filters to be performed.")
        everyone = all_tenants is not None and \
            str(all_tenants).lower() not in ('0', 'false', 'off', 'no')
        project = params.get('project_id') or params.get('tenant_id')
        name = params.get('name')
        status = params.get('status')
        host = params.get('host') or params.get('node')
        image = params.get('image')
        flavor = params.get('flavor')
        changes_since = params.get('changes-since') or \
            params.get('changes_since')
        rows = []
        for server in sorted(self.servers.values(),
                             key=lambda s: s['created_seq'], reverse=True):
            if everyone:
                if project and server['project_id'] != project:
                    continue
            elif server['project_id'] != ctx.project_id:
                continue
            if name:
                try:
                    if not re.search(name, server['name']):
                        continue
                except re.error:
                    if name != server['name']:
                        continue
            if status and status_of(server) != status.upper():
                continue
            if host and server['host'] != host:
                continue
            if image and server['image_id'] != image:
                continue
            if flavor and server['flavor']['id'] != flavor:
                continue
            if changes_since and _iso(server['updated']) < changes_since:
                continue
            rows.append(copy.deepcopy(server))
        rows = after_marker(rows, params.get('marker'),
                            'marker [%s] not found')
        limit = params.get('limit')
        more = False
        if limit is not None:
            try:
                limit = int(limit)
            except ValueError:
                raise Fault(400, "Invalid input for query parameters limit. "
                                 "Value: %s." % limit)
            more = len(rows) > limit
            rows = rows[:limit]
        return rows, more

    def _list(self, req, ctx, detail):
        with self.state_lock:
            rows, more = self._filtered(req, ctx)
        if detail:
            servers = self._render(req, ctx, rows)
        else:
            servers = [{'id': s['id'], 'name': s['name'], 'links': [
                {'rel': 'self',
                 'href': req.host_url + '/v2.1/servers/' + s['id']}]}
                for s in rows]
        body = {'servers': servers}
        if more and rows:
            query = dict(req.GET)
            query['marker'] = rows[-1]['id']
            href = req.path_url + '?' + '&'.join(
                '%s=%s' % (k, v) for k, v in sorted(query.items()))
            body['servers_links'] = [{'rel': 'next', 'href': href}]
        return 200, body

    def list_servers(self, req, ctx):
        return self._list(req, ctx, detail=False)

    def list_servers_detail(self, req, ctx):
        return self._list(req, ctx, detail=True)

    def show_server(self, req, ctx, server_id):
        with self.state_lock:
            server = copy.deepcopy(self._server(ctx, server_id))
        return 200, {'server': self._render(req, ctx, [server])[0]}

    def update_server(self, req, ctx, server_id):
        self._writer(ctx, 'os_compute_api:servers:update')
        body = self.json_body(req, 'server')
        unknown = set(body) - {'name', 'description', 'hostname'}
        if unknown:
            raise Fault(400, "Invalid input for field/attribute server. "
                             "Additional properties are not allowed (%s "
                             "were unexpected)" % ', '.join(sorted(unknown)))
        with self.state_lock:
            server = self._server(ctx, server_id)
            for key in ('name', 'description', 'hostname'):
                if key in body:
                    server[key] = body[key]
            server['updated'] = _now()
            server = copy.deepcopy(server)
        return 200, {'server': self._render(req, ctx, [server])[0]}

    # -- servers: create ------------------------------------------------------
    def _new_record(self, name, project_id, user_id, flavor, image_id,
                    metadata, host):
        server_id = str(uuid.uuid4())
        seq = next(self._counter)
        now = _now()
        return {
            'id': server_id, 'name': name, 'project_id': project_id,
            'user_id': user_id, 'flavor': dict(flavor), 'image_id': image_id,
            'metadata': dict(metadata), 'vm_state': 'building',
            'task_state': 'scheduling', 'power_state': NOSTATE,
            'host': host, 'created': now, 'updated': now,
            'launched_at': None, 'key_name': None, 'description': None,
            'user_data': None,
            'hostname': re.sub(r'[^a-z0-9-]', '-', name.lower())[:63] or
            'server',
            'instance_name': 'instance-%08x' % seq, 'created_seq': seq,
            'reservation_id': 'r-' + uuid.uuid4().hex[:8], 'locked': False,
            'locked_reason': None, 'tags': [], 'fault': None,
            'volumes': [], 'deliberately_stopped': False,
            'pinned_az': None, 'migration_dest': None, '_op': None,
        }

    def create_server(self, req, ctx):
        self._writer(ctx, 'os_compute_api:servers:create')
        body = self.json_body(req, 'server')
        name = body.get('name')
        if not isinstance(name, str) or not name.strip():
            raise Fault(400, "Invalid input for field/attribute server. "
                             "Value: %s. 'name' is a required property"
                        % body)
        flavor_ref = str(body.get('flavorRef') or '').rstrip('/')
        flavor_ref = flavor_ref.rsplit('/', 1)[-1]
        networks = body.get('networks')
        if networks is None and self.mv(req, '2.37'):
            raise Fault(400, "Invalid input for field/attribute server. "
                             "Value: %s. 'networks' is a required property"
                        % body)
        metadata = body.get('metadata') or {}
        if not isinstance(metadata, dict) or not all(
                isinstance(v, str) for v in metadata.values()):
            raise Fault(400, 'Invalid input for field/attribute metadata: '
                             'values must be strings.')
        user_data = self._check_user_data(body)
        sg_names = self._requested_security_groups(body)
        # Only 'default' is what Neutron gives a new port anyway (and Nova
        # does not insist on it where port security is off).
        sg_ids = self._resolve_security_groups(ctx, sg_names) \
            if sg_names and sg_names != ['default'] else None
        bdms = body.get('block_device_mapping_v2') or []
        boot_volume = None
        for bdm in bdms:
            if bdm.get('source_type') == 'volume' and \
                    str(bdm.get('boot_index', '')) == '0':
                boot_volume = bdm.get('uuid')
        image_ref = str(body.get('imageRef') or '').rsplit('/', 1)[-1]
        if not image_ref and boot_volume is None:
            raise Fault(400, 'Block Device Mapping is Invalid: Boot sequence '
                             'for the instance and image/block device '
                             'mapping combination is not valid.')
        image = None
        if image_ref and self.lab.glance is not None:
            image = self.lab.glance.get_image(image_ref)
            if image is None:
                raise Fault(400, 'Image %s could not be found.' % image_ref)
        volume_ids = [b['uuid'] for b in bdms
                      if b.get('source_type') == 'volume' and b.get('uuid')]
        for volume_id in volume_ids:
            if self.lab.cinder is not None and \
                    self.lab.cinder.get_volume(volume_id) is None:
                raise Fault(400, 'Invalid volume: Volume %s could not be '
                                 'found.' % volume_id)
        requested_host = body.get('host') or body.get('hypervisor_hostname')
        if requested_host and not self.mv(req, '2.74'):
            raise Fault(400, "Invalid input for field/attribute server. "
                             "Additional properties are not allowed ('host' "
                             "was unexpected)")
        zone = body.get('availability_zone')
        if zone and ':' in zone:
            zone, _, zone_host = zone.partition(':')
            requested_host = requested_host or zone_host
            zone = zone or None
        if requested_host:
            self._admin(ctx, 'compute:servers:create:requested_destination')
            if requested_host not in self.lab.hosts:
                raise Fault(400, 'Compute host %s could not be found.'
                            % requested_host)
        outer = self.json_body(req)
        hints = (outer.get('os:scheduler_hints') or
                 outer.get('OS-SCH-HNT:scheduler_hints') or
                 body.get('os:scheduler_hints') or {})
        group_id = hints.get('group')
        # VMR's boot_from_snapshot names the server it replaces.
        replaces = (metadata.get('vmr_replaces') or
                    metadata.get('vmr_lab:replaces') or
                    self._replaced_by_snapshot(image))

        with self.state_lock:
            flavor = self.flavors.get(flavor_ref)
            if flavor is None:
                raise Fault(400, 'Flavor %s could not be found.' % flavor_ref)
            key_name = body.get('key_name')
            # Nova looks the name up among the *caller's* key pairs only,
            # whoever owns the project or the server being replaced.
            if key_name is not None and \
                    key_name not in self.keypairs.get(ctx.user_id, {}):
                raise Fault(400, 'Invalid key_name provided.')
            group = None
            if group_id:
                group = self.server_groups.get(group_id)
                if group is None:
                    raise Fault(400, 'Invalid input: server group %s not '
                                     'found.' % group_id)
            server = self._new_record(name, ctx.project_id, ctx.user_id,
                                      flavor, image_ref or '', metadata, None)
            server['key_name'] = key_name
            server['user_data'] = user_data
            server['description'] = body.get('description')
            server['pinned_az'] = zone
            if body.get('tags') is not None and self.mv(req, '2.52'):
                self._check_tags(body['tags'])
                server['tags'] = list(dict.fromkeys(body['tags']))
            if group is not None:
                group['members'].append(server['id'])
            if requested_host:
                problem = self._host_problem(requested_host, flavor, group,
                                             server['id'])
                host = None if problem else requested_host
            else:
                host = self._schedule(flavor, group=group,
                                      server_id=server['id'], zone=zone)
            server['host'] = host
            self.servers[server['id']] = server
            entry = self._record_action(req, ctx, server, 'create',
                                        'compute__do_build_and_run_instance')
            op = server['_op'] = uuid.uuid4().hex
            if host is None:
                server['vm_state'] = 'error'
                server['task_state'] = None
                server['fault'] = {
                    'code': 500, 'created': _iso(_now()),
                    'message': 'No valid host was found. There are not '
                               'enough hosts available.',
                    'details': 'scheduler: no host with room'}
                self._finish_action(entry, 'Error')
        if host is not None:
            try:
                self._create_ports(server, networks, sg_ids)
            except Fault:
                # Nova refuses the boot (bad network or port): no server.
                self._remove_server(server['id'])
                raise
            for volume_id in volume_ids:
                self._cinder('attach', volume_id, server['id'],
                             '/dev/vda' if volume_id == boot_volume
                             else '/dev/vdb')
            with self.state_lock:
                for bdm in bdms:
                    if bdm.get('source_type') == 'volume' and bdm.get('uuid'):
                        server['volumes'].append({
                            'volume_id': bdm['uuid'],
                            'attachment_id': str(uuid.uuid4()),
                            'device': ('/dev/vda' if bdm['uuid'] == boot_volume
                                       else '/dev/vdb'),
                            'delete_on_termination': bool(
                                bdm.get('delete_on_termination'))})
            if replaces:
                self.lab.monitor.server_replaced(replaces, server['id'])
            with self.state_lock:
                delay = self._conductor_delay('boot')
            self._later(delay, server['id'], op, self._finish_boot, host,
                        entry)
        self.lab.events.add('server_created', server=server['id'],
                            host=host, name=name)
        base = req.host_url + '/v2.1/servers/' + server['id']
        return 202, {'server': {
            'id': server['id'], 'OS-DCF:diskConfig': 'MANUAL',
            'security_groups': [{'name': name}
                                for name in sg_names or ['default']],
            'adminPass': uuid.uuid4().hex[:12],
            'links': [{'rel': 'self', 'href': base},
                      {'rel': 'bookmark', 'href': base}]}}

    @staticmethod
    def _check_user_data(body):
        """The request's ``user_data`` (base64 text, as Nova keeps it)."""
        if 'user_data' not in body:
            return None
        value = body['user_data']
        prefix = 'Invalid input for field/attribute user_data. Value: %s. ' \
            % (value,)
        if not isinstance(value, str):
            raise Fault(400, prefix + '%r is not of type \'string\'' % value)
        if len(value) > MAX_USER_DATA:
            raise Fault(400, prefix + '%r is too long' % value)
        try:
            base64.decodebytes(value.encode('utf-8'))
        except binascii.Error:
            raise Fault(400, prefix + "%r is not a 'base64'" % value)
        return value

    @staticmethod
    def _requested_security_groups(body):
        """Names (or ids) of ``security_groups: [{name: ...}]``, each once."""
        groups = body.get('security_groups')
        if groups is None:
            return []
        if not isinstance(groups, list) or not all(
                isinstance(g, dict) and set(g) <= {'name'} and
                isinstance(g.get('name'), str) and g['name'].strip()
                for g in groups):
            raise Fault(400, "Invalid input for field/attribute "
                             "security_groups. Value: %s. Each item must be "
                             "{'name': <security group name or id>}"
                        % (groups,))
        names = []
        for group in groups:
            if group['name'] not in names:
                names.append(group['name'])
        return names

    def _resolve_security_groups(self, ctx, names):
        """Neutron ids of the requested groups, the way Nova resolves them:
        among the project's own and shared groups, a name match wins over
        an id match; a name two groups share is a conflict."""
        neutron = self.lab.neutron
        if neutron is None:
            return None
        with neutron.lock:
            visible = [sg for sg in neutron.security_groups.values()
                       if sg['project_id'] == ctx.project_id
                       or sg.get('shared')]
        ids = []
        for wanted in names:
            by_name = [sg['id'] for sg in visible if sg['name'] == wanted]
            if len(by_name) > 1:
                raise Fault(409, "Multiple security groups found matching "
                                 "'%s'. Use an ID to be more specific."
                            % wanted)
            by_id = [sg['id'] for sg in visible if sg['id'] == wanted]
            found = by_name or by_id
            if not found:
                raise Fault(400, 'Security group %s not found.' % wanted)
            if found[0] not in ids:
                ids.append(found[0])
        return ids

    def _replaced_by_snapshot(self, image):
        """The server a boot from ``image`` replaces, if it is a recovery.

        Booting from a snapshot of server X while X's compute service is
        down is a replacement (VMR's boot_from_snapshot); with the service
        up it is an ordinary clone.
        """
        old_id = (image or {}).get('instance_uuid')
        if not old_id:
            return None
        with self.state_lock:
            old = self.servers.get(old_id)
            if old is None or not old['host']:
                return None
            service = self.compute_service(old['host'])
            if service is None or self.service_is_up(service):
                return None
            return old_id

    def _create_ports(self, server, networks, security_group_ids=None):
        """Bind or create the server's ports; the ports Nova creates get
        the requested security groups (a user's own port keeps its own)."""
        neutron = self.lab.neutron
        if neutron is None or networks in ('none', []):
            return
        requests = networks if isinstance(networks, list) else [{}]
        for request in requests:
            try:
                port = neutron.create_server_port(
                    server['id'], server['project_id'], server['host'],
                    network_id=request.get('uuid'),
                    port_id=request.get('port'))
                if security_group_ids and not request.get('port'):
                    self._set_port_security_groups(port['id'],
                                                   security_group_ids)
            except Fault as fault:
                # Nova answers a missing network or port with 400.
                raise Fault(400 if fault.status == 404 else fault.status,
                            fault.message)
            except Exception:
                LOG.exception('neutron.create_server_port failed for %s',
                              server['id'])

    def _set_port_security_groups(self, port_id, group_ids):
        neutron = self.lab.neutron
        with neutron.lock:
            port = neutron.ports[port_id]
            if not port['port_security_enabled']:
                raise Fault(400, 'Network requires port_security_enabled and '
                                 'subnet associated in order to apply '
                                 'security groups.')
            port['security_groups'] = list(group_ids)

    def _cinder(self, method, *args):
        cinder = self.lab.cinder
        if cinder is None:
            return None
        return getattr(cinder, method)(*args)

    def _finish_boot(self, server, entry):
        server['vm_state'] = 'active'
        server['task_state'] = None
        server['power_state'] = RUNNING
        server['launched_at'] = server['updated'] = _now()
        self.lab.hosts[server['host']].start_server(server['id'])
        self._finish_action(entry)

    # -- servers: delete ------------------------------------------------------
    def delete_server(self, req, ctx, server_id):
        self._writer(ctx, 'os_compute_api:servers:delete')
        with self.state_lock:
            server = self._server(ctx, server_id)
            if server['locked'] and not ctx.is_admin:
                raise Fault(409, 'Instance %s is locked' % server_id)
            host = self._host_of(server)
            server['task_state'] = 'deleting'
            op = server['_op'] = uuid.uuid4().hex
            self._record_action(req, ctx, server, 'delete')
            local = host is None or not host.compute_alive()
        if local:
            # Nova deletes locally when the compute is down; a partitioned
            # host may keep running the VM until it restarts.
            self._remove_server(server_id)
        else:
            self._later('delete', server_id, op, self._finish_delete, None)
        return 204, None

    def _finish_delete(self, server):
        host = self._host_of(server)
        if host is not None:
            host.stop_server(server['id'], reason='deleted')
        return lambda: self._remove_server(server['id'])

    def _remove_server(self, server_id):
        with self.state_lock:
            server = self.servers.pop(server_id, None)
            if server is None:
                return
            for group in self.server_groups.values():
                if server_id in group['members']:
                    group['members'].remove(server_id)
            host = self._host_of(server)
            if host is not None and host.compute_alive():
                host.stop_server(server_id, reason='deleted')
        for volume in server['volumes']:
            self._cinder('detach', volume['volume_id'], server_id)
            if volume.get('delete_on_termination'):
                # As Nova: the volume goes with the server.
                self._cinder('delete_volume_of_server', volume['volume_id'])
        self._cinder('on_server_deleted', server_id)
        if self.lab.neutron is not None:
            self.lab.neutron.on_server_deleted(server_id)
        self.lab.events.add('server_deleted', server=server_id,
                            host=server['host'])
