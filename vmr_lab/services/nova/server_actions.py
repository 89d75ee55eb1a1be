"""Server actions: the ``POST servers/{server_id}/action`` endpoint.

Stop, start, reboot, suspend, resume, rebuild, evacuate, live-migrate,
migrate with its confirm and revert, createImage, os-resetState, lock
and unlock, each with Nova's checks of policy, vm_state and task_state.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import copy
import uuid

import webob

from vmr_lab.services.base import Fault
from vmr_lab.services.nova.common import RUNNING, SHUTDOWN, SUSPENDED, _iso, _is_uuid, _now


def _settle(server, vm_state, power_state, stopped):
    """A power action's end: the states it leaves and no task."""
    server.update(vm_state=vm_state, power_state=power_state, task_state=None,
                  deliberately_stopped=stopped, updated=_now())


class ServerActions:
    """The ``servers/{id}/action`` endpoint (a mixin)."""

    def server_action(self, req, ctx, server_id):
        body = self.json_body(req)
        if len(body) != 1:
            raise Fault(400, 'There is no such action: %s'
                        % ', '.join(sorted(body)) if body else
                        'Malformed request body')
        action, args = next(iter(body.items()))
        power = {'os-stop': 'stop', 'os-start': 'start',
                 'suspend': 'suspend', 'resume': 'resume'}.get(action)
        handler = {
            'reboot': self._act_reboot, 'rebuild': self._act_rebuild,
            'evacuate': self._act_evacuate,
            'os-migrateLive': self._act_live_migrate,
            'migrate': self._act_migrate,
            'confirmResize': self._act_confirm_resize,
            'revertResize': self._act_revert_resize,
            'createImage': self._act_create_image,
            'os-resetState': self._act_reset_state,
            'lock': self._act_lock, 'unlock': self._act_unlock,
        }.get(action)
        if handler is None and power is None:
            raise Fault(400, 'There is no such action: %s' % action)
        if args is not None and not isinstance(args, dict):
            raise Fault(400, "Invalid input for field/attribute %s. Value: "
                             "%s. %r is not of type 'object'"
                        % (action, args, args))
        if power is not None:
            return self._power(req, ctx, server_id, power)
        return handler(req, ctx, server_id, args or {})

    #: the power actions: (policy rule, vm states allowed, task state,
    #: vm state after, power state after, stopped by its owner, the guest
    #: journal's reason (None: started), Nova's instance action event)
    _POWER = {
        'stop': ('os_compute_api:servers:stop', ('active', 'error'),
                 'powering-off', 'stopped', SHUTDOWN, True, 'os-stop',
                 'compute_stop_instance'),
        'start': ('os_compute_api:servers:start', ('stopped',),
                  'powering-on', 'active', RUNNING, False, None,
                  'compute_start_instance'),
        'suspend': ('os_compute_api:os-suspend-server:suspend', ('active',),
                    'suspending', 'suspended', SUSPENDED, True, 'suspend',
                    'compute_suspend_instance'),
        'resume': ('os_compute_api:os-suspend-server:resume',
                   ('suspended',), 'resuming', 'active', RUNNING, False,
                   None, 'compute_resume_instance'),
    }

    def _power(self, req, ctx, server_id, action):
        (rule, allowed, task, vm_state, power_state, stopped, reason,
         event) = self._POWER[action]

        def work(server, entry):
            _settle(server, vm_state, power_state, stopped)
            host = self._host_of(server)
            if reason is None:
                host.start_server(server['id'])
            else:
                host.stop_server(server['id'], reason=reason)
            self._finish_action(entry)
        self._writer(ctx, rule)
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_vm_state(server, action, allowed)
            self._require_host(server, action)
            op = self._start_task(server, task, action)
            entry = self._record_action(req, ctx, server, action, event)
            self._later(action, server_id, op, work, server['host'], entry)
        return 202, None

    #: task states a hard reboot may interrupt (Nova's ALLOW_REBOOT)
    _HARD_REBOOT_OVER = ('rebooting', 'rebooting_hard', 'resuming',
                         'suspending', 'pausing', 'unpausing')

    def _act_reboot(self, req, ctx, server_id, args):
        kind = str(args.get('type', '')).upper()
        if kind not in ('SOFT', 'HARD'):
            raise Fault(400, "Invalid input for field/attribute type. "
                             "Value: %s. %r is not one of ['HARD', 'Hard', "
                             "'hard', 'SOFT', 'Soft', 'soft']"
                        % (args.get('type'), args.get('type')))
        # Nova: a soft reboot only from ACTIVE with no task; a hard one
        # from any of these states, even over a soft reboot still running.
        allowed = ('active',) if kind == 'SOFT' else (
            'active', 'stopped', 'suspended', 'paused', 'error')

        def work(server, entry):
            host = self._host_of(server)
            host.stop_server(server['id'], reason='reboot')
            _settle(server, 'active', RUNNING, False)
            host.start_server(server['id'])
            self._finish_action(entry)
        self._writer(ctx, 'os_compute_api:servers:reboot')
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_vm_state(server, 'reboot', allowed)
            self._require_host(server, 'reboot')
            if kind == 'HARD' and \
                    server['task_state'] in self._HARD_REBOOT_OVER:
                server['task_state'] = None   # superseded, see _later
            op = self._start_task(server, 'rebooting' if kind == 'SOFT'
                                  else 'rebooting_hard', 'reboot')
            entry = self._record_action(req, ctx, server, 'reboot',
                                        'compute_reboot_instance')
            self.lab.events.add('reboot', server=server_id, kind=kind)
            # A guest may ignore the ACPI signal of a soft reboot: tests
            # model that with a long ``soft_reboot`` delay.
            delay = self.lab.delays.get('soft_reboot') if kind == 'SOFT' \
                else None
            self._later('reboot' if delay is None else delay, server_id, op,
                        work, server['host'], entry)
        return 202, None

    def _act_rebuild(self, req, ctx, server_id, args):
        self._writer(ctx, 'os_compute_api:servers:rebuild')
        image_ref = args.get('imageRef')
        if image_ref is None:
            raise Fault(400, "Invalid input for field/attribute rebuild. "
                             "Value: %s. 'imageRef' is a required property"
                        % args)
        # Nova's schema: rebuild's imageRef is an image id, never a name.
        if not _is_uuid(image_ref):
            raise Fault(400, "Invalid input for field/attribute imageRef. "
                             "Value: %s. %r is not a 'uuid'"
                        % (image_ref, image_ref))
        preserve = args.get('preserve_ephemeral', False)
        if not isinstance(preserve, bool):
            raise Fault(400, "Invalid input for field/attribute "
                             "preserve_ephemeral. Value: %s. %r is not of "
                             "type 'boolean'" % (preserve, preserve))
        if self.lab.glance is not None and \
                self.lab.glance.get_image(image_ref) is None:
            raise Fault(400, 'Image %s could not be found.' % image_ref)
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_host(server, 'rebuild')
            self._require_vm_state(server, 'rebuild',
                                   ('active', 'stopped', 'error'))
            was = server['vm_state']
            op = self._start_task(server, 'rebuilding', 'rebuild')
            entry = self._record_action(req, ctx, server, 'rebuild',
                                        'compute_rebuild_instance')
            server['image_id'] = image_ref
            self.lab.events.add('rebuild', server=server_id, image=image_ref,
                                preserve_ephemeral=preserve)
            for key in ('name', 'description'):
                if key in args:
                    server[key] = args[key]
            if 'metadata' in args:
                server['metadata'] = dict(args['metadata'] or {})

            def work(server, entry):
                if preserve:
                    # Like libvirt and Nova's fake driver: no driver
                    # rebuild, and Nova's default one refuses to keep the
                    # ephemeral disk before touching the guest.
                    server['task_state'] = None
                    server['vm_state'] = 'error'
                    server['updated'] = _now()
                    server['fault'] = {
                        'code': 400, 'created': _iso(_now()),
                        'message': 'The current driver does not support '
                                   'preserving ephemeral partitions.'}
                    self._finish_action(entry, 'Error', 'Error')
                    return
                host = self._host_of(server)
                host.stop_server(server['id'], reason='rebuild')
                server['task_state'] = None
                server['fault'] = None
                server['updated'] = _now()
                if was == 'stopped':
                    server['vm_state'] = 'stopped'
                    server['power_state'] = SHUTDOWN
                else:
                    server['vm_state'] = 'active'
                    server['power_state'] = RUNNING
                    host.start_server(server['id'])
                self._finish_action(entry)
            self._later('rebuild', server_id, op, work, server['host'], entry)
            snapshot = copy.deepcopy(server)
        return 202, {'server': self._render(req, ctx, [snapshot])[0]}

    def _act_evacuate(self, req, ctx, server_id, args):
        self._admin(ctx, 'os_compute_api:os-evacuate')
        target = args.get('host')
        if 'onSharedStorage' in args and self.mv(req, '2.14'):
            raise Fault(400, "Invalid input for field/attribute evacuate. "
                             "Additional properties are not allowed "
                             "('onSharedStorage' was unexpected)")
        # Below 2.14 Nova cannot tell shared storage by itself: the caller
        # must say, and the field is required.
        shared = args.get('onSharedStorage')
        if not self.mv(req, '2.14') and not isinstance(shared, bool):
            if 'onSharedStorage' not in args:
                raise Fault(400, "Invalid input for field/attribute "
                                 "evacuate. Value: %s. 'onSharedStorage' is "
                                 "a required property" % args)
            raise Fault(400, "Invalid input for field/attribute "
                             "onSharedStorage. Value: %s. %r is not of type "
                             "'boolean'" % (shared, shared))
        if 'force' in args and (not self.mv(req, '2.29')
                                or self.mv(req, '2.68')):
            raise Fault(400, "Invalid input for field/attribute evacuate. "
                             "Additional properties are not allowed "
                             "('force' was unexpected)")
        final_shutoff = self.mv(req, '2.95')
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_host(server, 'evacuate')
            self._require_vm_state(server, 'evacuate',
                                   ('active', 'stopped', 'error'))
            if server['task_state'] is not None:
                raise Fault(409, "Cannot 'evacuate' instance %s while it is "
                                 "in task_state %s"
                            % (server_id, server['task_state']))
            source = server['host']
            service = self.compute_service(source)
            if service is not None and self.service_is_up(service):
                raise Fault(400, 'Compute service of %s is still in use.'
                            % source)
            if target:
                if target not in self.lab.hosts:
                    raise Fault(404, 'Compute host %s could not be found.'
                                % target)
                if target == source:
                    raise Fault(400, "The target host can't be the same one.")
                problem = None if args.get('force') else self._host_problem(
                    target, server['flavor'], self._group_of(server_id),
                    server_id)
                if problem:
                    raise Fault(400, 'No valid host was found. %s: %s'
                                % (target, problem))
                dest = target
            else:
                dest = self._schedule(server['flavor'], exclude=(source,),
                                      group=self._group_of(server_id),
                                      server_id=server_id)
                if dest is None:
                    raise Fault(400, 'No valid host was found. There are not '
                                     'enough hosts available.')
            was = server['vm_state']
            op = self._start_task(server, 'rebuilding', 'evacuate')
            server['migration_dest'] = dest
            entry = self._record_action(req, ctx, server, 'evacuate',
                                        'compute_rebuild_instance')
            # Real Nova: the destination nova-compute fills dest_compute
            # in when it takes the rebuild; until then it is empty.
            migration = self._new_migration(server, 'evacuation', source,
                                            None, 'accepted')
            self.lab.monitor.server_moved(server_id, source, dest, 'evacuate')
            self.lab.events.add('evacuate', server=server_id, source=source,
                                dest=dest, microversion='%d.%d' % req.environ[
                                    'nova.api_version'],
                                on_shared_storage=shared, requested=target)
            self._later(self._conductor_delay('evacuate'), server_id, op,
                        self._finish_evacuate,
                        dest, dest, was, final_shutoff, migration, entry)
        if self.mv(req, '2.14'):
            return 200, None
        return 200, {'adminPass': args.get('adminPass') or
                     uuid.uuid4().hex[:12]}

    def _finish_evacuate(self, server, dest, was, final_shutoff, migration,
                         entry):
        server['host'] = dest
        server['migration_dest'] = None
        server['task_state'] = None
        server['updated'] = _now()
        migration['dest_compute'] = migration['dest_node'] = dest
        migration['status'] = 'done'
        migration['updated_at'] = _now()
        if was == 'stopped' or final_shutoff:
            server['vm_state'] = 'stopped'
            server['power_state'] = SHUTDOWN
        else:
            server['vm_state'] = 'active'
            server['power_state'] = RUNNING
            self.lab.hosts[dest].start_server(server['id'])
        self._finish_action(entry)
        return self._moved_hook(server['id'], dest)

    def _moved_hook(self, server_id, host):
        neutron = self.lab.neutron
        if neutron is None:
            return None
        return lambda: neutron.on_server_moved(server_id, host)

    def _act_live_migrate(self, req, ctx, server_id, args):
        self._admin(ctx, 'os_compute_api:os-migrate-server:migrate_live')
        if 'block_migration' not in args:
            raise Fault(400, "Invalid input for field/attribute "
                             "os-migrateLive. Value: %s. 'block_migration' "
                             "is a required property" % args)
        target = args.get('host')
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_vm_state(server, 'os-migrateLive',
                                   ('active', 'paused'))
            source = server['host']
            source_host = self.lab.hosts.get(source)
            if source_host is None or not source_host.compute_alive() or \
                    not self.service_is_up(self.compute_service(source)):
                raise Fault(400, 'Compute service of %s is unavailable at '
                                 'this time.' % source)
            if target:
                if target not in self.lab.hosts:
                    raise Fault(400, 'Compute host %s could not be found.'
                                % target)
                if target == source:
                    raise Fault(400, 'Unable to migrate instance (%s) to '
                                     'current host (%s).' % (server_id,
                                                             source))
                problem = self._host_problem(target, server['flavor'],
                                             self._group_of(server_id),
                                             server_id)
                if problem:
                    raise Fault(400, 'No valid host was found. %s: %s'
                                % (target, problem))
                dest = target
            else:
                dest = self._schedule(server['flavor'], exclude=(source,),
                                      group=self._group_of(server_id),
                                      server_id=server_id)
                if dest is None:
                    raise Fault(400, 'No valid host was found. There are not '
                                     'enough hosts available.')
            op = self._start_task(server, 'migrating', 'os-migrateLive')
            server['migration_dest'] = dest
            entry = self._record_action(req, ctx, server, 'live-migration',
                                        'compute_live_migration')
            migration = self._new_migration(server, 'live-migration', source,
                                            dest, 'running')
            self.lab.events.add('live_migrate', server=server_id,
                                source=source, dest=dest)

            def work(server, entry):
                # libvirt pauses the destination until the source stops:
                # never both running.
                self.lab.hosts[source].stop_server(server_id,
                                                   reason='live-migrated')
                server['host'] = dest
                server['migration_dest'] = None
                server['task_state'] = None
                server['updated'] = _now()
                self.lab.hosts[dest].start_server(server_id)
                migration['status'] = 'completed'
                migration['updated_at'] = _now()
                self._finish_action(entry)
                return self._moved_hook(server_id, dest)
            self._later('live_migrate', server_id, op, work, source, entry)
        return 202, None

    def _act_migrate(self, req, ctx, server_id, args):
        self._admin(ctx, 'os_compute_api:os-migrate-server:migrate')
        target = args.get('host')
        if target and not self.mv(req, '2.56'):
            raise Fault(400, "Invalid input for field/attribute migrate. "
                             "Value: %s. None is not of type 'null'" % args)
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_host(server, 'migrate')
            self._require_vm_state(server, 'migrate', ('active', 'stopped'))
            source = server['host']
            group = self._group_of(server_id)
            if target:
                if target not in self.lab.hosts:
                    raise Fault(404, 'Compute host %s could not be found.'
                                % target)
                problem = self._host_problem(target, server['flavor'], group,
                                             server_id)
                dest = None if problem or target == source else target
            else:
                dest = self._schedule(server['flavor'], exclude=(source,),
                                      group=group, server_id=server_id)
            if dest is None:
                raise Fault(400, 'No valid host was found. There are not '
                                 'enough hosts available.')
            was = server['vm_state']
            op = self._start_task(server, 'resize_prep', 'migrate')
            server['migration_dest'] = dest
            entry = self._record_action(req, ctx, server, 'migrate',
                                        'compute_prep_resize')
            migration = self._new_migration(server, 'migration', source, dest,
                                            'migrating')

            def work(server, entry):
                self.lab.hosts[source].stop_server(server_id,
                                                   reason='cold-migrated')
                server['host'] = dest
                server['migration_dest'] = None
                server['_resize'] = {'source': source, 'was': was,
                                     'migration': migration['id']}
                server['vm_state'] = 'resized'
                server['task_state'] = None
                server['updated'] = _now()
                if was == 'active':
                    self.lab.hosts[dest].start_server(server_id)
                migration['status'] = 'finished'
                migration['updated_at'] = _now()
                self._finish_action(entry)
                return self._moved_hook(server_id, dest)
            self._later('migrate', server_id, op, work, source, entry)
        return 202, None

    def _resize_migration(self, server):
        info = server.get('_resize') or {}
        for migration in self.migrations:
            if migration['id'] == info.get('migration'):
                return info, migration
        return info, None

    def _act_confirm_resize(self, req, ctx, server_id, args):
        self._writer(ctx, 'os_compute_api:servers:confirm_resize')
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_vm_state(server, 'confirmResize', ('resized',))
            info, migration = self._resize_migration(server)
            server['vm_state'] = info.get('was', 'active')
            server['_resize'] = None
            server['updated'] = _now()
            if migration:
                migration['status'] = 'confirmed'
                migration['updated_at'] = _now()
            self._record_action(req, ctx, server, 'confirmResize')
        return 204, None

    def _act_revert_resize(self, req, ctx, server_id, args):
        self._writer(ctx, 'os_compute_api:servers:revert_resize')
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_vm_state(server, 'revertResize', ('resized',))
            info, migration = self._resize_migration(server)
            self.lab.hosts[server['host']].stop_server(server_id,
                                                       reason='revert')
            server['host'] = info['source']
            server['vm_state'] = info.get('was', 'active')
            server['_resize'] = None
            server['updated'] = _now()
            if server['vm_state'] == 'active':
                self.lab.hosts[server['host']].start_server(server_id)
            if migration:
                migration['status'] = 'reverted'
                migration['updated_at'] = _now()
            self._record_action(req, ctx, server, 'revertResize')
        hook = self._moved_hook(server_id, info['source'])
        if hook:
            hook()
        return 202, None

    def _act_create_image(self, req, ctx, server_id, args):
        self._writer(ctx, 'os_compute_api:servers:create_image')
        name = args.get('name')
        if not name:
            raise Fault(400, "Invalid input for field/attribute createImage. "
                             "Value: %s. 'name' is a required property" % args)
        metadata = args.get('metadata') or {}
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_vm_state(server, 'createImage',
                                   ('active', 'stopped', 'suspended',
                                    'paused'))
            op = self._start_task(server, 'image_snapshot', 'createImage')
            entry = self._record_action(req, ctx, server, 'createImage',
                                        'compute_snapshot_instance')
            snapshot = self._public_record(server)
        image_id = None
        glance = self.lab.glance
        try:
            if glance is not None:
                image = glance.create_snapshot_image(snapshot, name, metadata)
                image_id = image['id']
            else:
                image_id = str(uuid.uuid4())
        except Exception:
            with self.state_lock:
                if server.get('_op') == op:
                    server['task_state'] = None
            raise

        def work(server, entry):
            server['task_state'] = None
            server['updated'] = _now()
            self._finish_action(entry)
        self._later('snapshot', server_id, op, work, snapshot['host'], entry)
        self.lab.events.add('snapshot', server=server_id, image=image_id)
        if self.mv(req, '2.45'):
            return 202, {'image_id': image_id}
        resp = webob.Response(status=202)
        resp.content_type = None
        image_base = ''
        for service_type, _, url in self.lab.endpoints(ctx.project_id):
            if service_type == 'image':
                image_base = url
        resp.headers['Location'] = '%s/v2/images/%s' % (image_base, image_id)
        return resp

    def _act_reset_state(self, req, ctx, server_id, args):
        self._admin(ctx, 'os_compute_api:os-admin-actions:reset_state')
        state = args.get('state')
        if state not in ('active', 'error'):
            raise Fault(400, "Invalid input for field/attribute state. "
                             "Value: %s. %r is not one of ['active', 'error']"
                        % (state, state))
        with self.state_lock:
            server = self._server(ctx, server_id)
            server['vm_state'] = state
            server['task_state'] = None
            server['migration_dest'] = None
            server['_op'] = None
            server['updated'] = _now()
            self._record_action(req, ctx, server, 'resetState')
        return 202, None

    def _act_lock(self, req, ctx, server_id, args):
        self._writer(ctx, 'os_compute_api:os-lock-server:lock')
        with self.state_lock:
            server = self._server(ctx, server_id)
            server['locked'] = True
            server['locked_reason'] = args.get('locked_reason')
            self._record_action(req, ctx, server, 'lock')
        return 202, None

    def _act_unlock(self, req, ctx, server_id, args):
        self._writer(ctx, 'os_compute_api:os-lock-server:unlock')
        with self.state_lock:
            server = self._server(ctx, server_id)
            server['locked'] = False
            server['locked_reason'] = None
            self._record_action(req, ctx, server, 'unlock')
        return 202, None
