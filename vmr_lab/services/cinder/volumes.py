"""Cinder's volumes: create (also from an image), list, show, update,
delete, metadata, and the volume actions (``os-attach``, ``os-detach``,
reset status, extend...) (a part of the lab's Cinder)."""

import time
import uuid

from vmr_lab.services.base import Fault, after_marker
from vmr_lab.services.cinder.common import (
    _check_volume_body,
    DEFAULT_TYPE_ID,
    DELETABLE,
    _now,
)


class Volumes:
    """Volumes and their actions of :class:`CinderAPI` (a mixin)."""

    # -- volumes ---------------------------------------------------------
    def _visible_volumes(self, req, ctx):
        all_tenants = req.GET.get('all_tenants', '').lower() in (
            '1', 'true', 'yes')
        for volume in self.volumes.values():
            owner = volume['os-vol-tenant-attr:tenant_id']
            if ctx is None:
                yield volume
            elif ctx.is_admin and (all_tenants or 'project_id' in req.GET):
                yield volume
            elif owner == ctx.project_id:
                yield volume

    def _filtered(self, req, ctx):
        with self.lock:
            self._settle()
            volumes = [self._view(req, v)
                       for v in self._visible_volumes(req, ctx)]
        for key, value in req.GET.items():
            if key in ('all_tenants', 'limit', 'marker', 'sort', 'sort_key',
                       'sort_dir', 'with_count', 'offset'):
                continue
            if key == 'metadata':
                try:
                    wanted = self._loose_dict(value)
                except (ValueError, SyntaxError):
                    raise Fault(400, 'Invalid metadata filter: %s' % value)
                volumes = [v for v in volumes if all(
                    v['metadata'].get(k) == str(w) for k, w in wanted.items())]
                continue
            field = {'project_id': 'os-vol-tenant-attr:tenant_id'}.get(key,
                                                                       key)
            volumes = [v for v in volumes
                       if str(v.get(field)).lower() == value.lower()]
        # Newest first; creation order breaks ties within a second.
        volumes.reverse()
        volumes.sort(key=lambda v: v['created_at'], reverse=True)
        volumes = after_marker(volumes, req.GET.get('marker'),
                               'Invalid marker: %s')
        limit = req.GET.get('limit')
        if limit:
            try:
                volumes = volumes[:int(limit)]
            except ValueError:
                raise Fault(400, 'limit param must be an integer')
        return volumes

    @staticmethod
    def _loose_dict(text):
        """Parse the ``metadata`` filter: JSON or a Python dict literal."""
        import ast
        import json
        try:
            value = json.loads(text)
        except ValueError:
            value = ast.literal_eval(text)
        if not isinstance(value, dict):
            raise ValueError(text)
        return value

    def list_volumes(self, req, ctx, project_id):
        """``GET /volumes``: id, name and links only."""
        volumes = self._filtered(req, ctx)
        return 200, {'volumes': [{'id': v['id'], 'name': v['name'],
                                  'links': v['links']} for v in volumes]}

    def list_volumes_detail(self, req, ctx, project_id):
        """``GET /volumes/detail``."""
        return 200, {'volumes': self._filtered(req, ctx)}

    def show_volume(self, req, ctx, project_id, volume_id):
        """``GET /volumes/{id}``."""
        with self.lock:
            self._settle()
            return 200, {'volume': self._view(req, self._get(ctx, volume_id))}

    def create_volume(self, req, ctx, project_id):
        """``POST /volumes``: creating → available after ``create_delay``."""
        self._check_writer(ctx, 'create')
        body = self.json_body(req, 'volume')
        _check_volume_body(body)
        size = body.get('size')
        image_id = body.get('imageRef') or body.get('image_id')
        source = None
        with self.lock:
            if body.get('source_volid'):
                source = self._get(ctx, body['source_volid'])
                size = size or source['size']
            image = None
            if image_id:
                image = self._image(image_id)
                if size is None and image.get('size'):
                    size = max(1, -(-int(image['size']) // 2 ** 30))
            try:
                if isinstance(size, (bool, float)):
                    raise ValueError(size)
                size = int(size)
            except (TypeError, ValueError):
                raise Fault(400, "Invalid input for field/attribute size. "
                                 "Value: %s. %r is not of type 'integer'"
                            % (size, size))
            if size < 1:
                raise Fault(400, 'Invalid input received: Volume size %s must '
                                 'be an integer and greater than 0.' % size)
            if image and int(image.get('min_disk') or 0) > size:
                raise Fault(400, 'Invalid input received: Volume size %sGB '
                                 'cannot be smaller than the image minDisk '
                                 'size %sGB.' % (size, image['min_disk']))
            metadata = body.get('metadata') or {}
            if not isinstance(metadata, dict):
                raise Fault(400, 'Invalid input received: metadata must be a '
                                 'dictionary.')
            now = _now()
            project = ctx.project_id if ctx is not None else 'admin'
            volume = {
                'id': str(uuid.uuid4()), 'name': body.get('name'),
                'description': body.get('description'), 'size': size,
                'status': 'creating', 'attachments': [],
                'availability_zone': body.get('availability_zone', 'nova'),
                'bootable': 'true' if image or (
                    source and source['bootable'] == 'true') else 'false',
                'encrypted': False, 'multiattach': bool(
                    body.get('multiattach', False)),
                'metadata': {k: str(v) for k, v in metadata.items()},
                'volume_type': body.get('volume_type') or '__DEFAULT__',
                'volume_type_id': DEFAULT_TYPE_ID,
                'snapshot_id': body.get('snapshot_id'),
                'source_volid': body.get('source_volid'),
                'consistencygroup_id': None, 'group_id': None,
                'replication_status': None, 'migration_status': None,
                'user_id': ctx.user_id if ctx is not None else None,
                'os-vol-tenant-attr:tenant_id': project,
                'os-vol-host-attr:host': 'lab-storage@lvm#lvm',
                'os-vol-mig-status-attr:migstat': None,
                'os-vol-mig-status-attr:name_id': None,
                'provider_id': None, 'service_uuid': str(uuid.uuid5(
                    uuid.NAMESPACE_URL, 'vmr-lab/cinder-volume')),
                'shared_targets': False, 'cluster_name': None,
                'consumes_quota': True,
                'created_at': now, 'updated_at': now,
            }
            if image:
                volume['volume_image_metadata'] = {
                    key: str(image[key]) for key in (
                        'id', 'name', 'checksum', 'container_format',
                        'disk_format', 'min_disk', 'min_ram', 'size')
                    if image.get(key) is not None}
                volume['volume_image_metadata']['image_id'] = \
                    volume['volume_image_metadata'].pop('id')
                volume['volume_image_metadata']['image_name'] = \
                    volume['volume_image_metadata'].pop('name', '')
            self.volumes[volume['id']] = volume
            self._pend(volume, 'available', self.create_delay)
            return 202, {'volume': self._view(req, volume)}

    def _pend(self, volume, status, delay):
        if delay <= 0:
            volume['status'] = status
            self.pending.pop(volume['id'], None)
        else:
            self.pending[volume['id']] = (time.time() + delay, status)

    def _image(self, image_id):
        glance = getattr(self.lab, 'glance', None)
        image = glance.get_image(image_id) if glance is not None else None
        if image is None or image.get('status') != 'active':
            raise Fault(400, 'Invalid image identifier or unable to access '
                             'requested image.')
        return image

    def update_volume(self, req, ctx, project_id, volume_id):
        """``PUT /volumes/{id}``: name, description, metadata."""
        self._check_writer(ctx, 'update')
        body = self.json_body(req, 'volume')
        _check_volume_body(body)
        with self.lock:
            volume = self._get(ctx, volume_id)
            for key in ('name', 'description'):
                if key in body:
                    volume[key] = body[key]
            if 'metadata' in body:
                volume['metadata'] = {k: str(v)
                                      for k, v in body['metadata'].items()}
            volume['updated_at'] = _now()
            return 200, {'volume': self._view(req, volume)}

    def show_metadata(self, req, ctx, project_id, volume_id):
        """``GET /volumes/{id}/metadata``."""
        with self.lock:
            return 200, {'metadata': dict(self._get(ctx,
                                                    volume_id)['metadata'])}

    def update_metadata(self, req, ctx, project_id, volume_id):
        """``POST /volumes/{id}/metadata``: merge keys."""
        self._check_writer(ctx, 'update_volume_metadata')
        body = self.json_body(req, 'metadata')
        _check_volume_body({'metadata': body})
        with self.lock:
            volume = self._get(ctx, volume_id)
            volume['metadata'].update({k: str(v) for k, v in body.items()})
            return 200, {'metadata': dict(volume['metadata'])}

    def delete_volume(self, req, ctx, project_id, volume_id):
        """``DELETE /volumes/{id}`` (400 unless available)."""
        self._check_writer(ctx, 'delete')
        with self.lock:
            self._settle()
            volume = self._get(ctx, volume_id)
            cascade = req.GET.get('force', '').lower() in ('true', '1')
            if volume['status'] not in DELETABLE and not (
                    cascade and ctx is not None and ctx.is_admin):
                raise Fault(400, 'Invalid volume: Volume status must be '
                                 'available or error or error_restoring or '
                                 'error_extending or error_managing and must '
                                 'not be migrating, attached, belong to a '
                                 'group, have snapshots, awaiting a transfer, '
                                 'or be disassociated from snapshots after '
                                 'volume transfer.')
            del self.volumes[volume_id]
            self.pending.pop(volume_id, None)
            for att_id, att in list(self.attachments.items()):
                if att['volume_id'] == volume_id:
                    del self.attachments[att_id]
        return 202, None

    # -- volume actions ----------------------------------------------------
    def volume_action(self, req, ctx, project_id, volume_id):
        """``POST /volumes/{id}/action``: os-attach, os-detach, ..."""
        body = self.json_body(req)
        if len(body) != 1:
            raise Fault(400, 'There is no such action: %s' % ','.join(body))
        action, args = next(iter(body.items()))
        args = args or {}
        if not isinstance(args, dict):
            raise Fault(400, 'Invalid request body for action %s' % action)
        if action == 'os-attach' and not args.get('host_name') \
                and args.get('instance_uuid'):
            # Looked up before taking the lock (see attach()).
            args = dict(args, host_name=self._server_host(
                args['instance_uuid']))
        self._check_writer(ctx, action.replace('os-', ''))
        admin_only = ('os-reset_status', 'os-force_detach',
                      'os-force_delete')
        if action in admin_only and ctx is not None and not ctx.is_admin:
            raise Fault(403, "Policy doesn't allow volume_extension:"
                             "volume_admin_actions:%s to be performed."
                        % action.replace('os-', ''))
        with self.lock:
            self._settle()
            volume = self._get(ctx, volume_id)
            handler = {
                'os-attach': self._act_attach,
                'os-detach': self._act_detach,
                'os-force_detach': self._act_detach,
                'os-reserve': self._act_reserve,
                'os-unreserve': self._act_unreserve,
                'os-begin_detaching': self._act_begin_detaching,
                'os-roll_detaching': self._act_roll_detaching,
                'os-set_bootable': self._act_set_bootable,
                'os-reset_status': self._act_reset_status,
                'os-extend': self._act_extend,
                'os-update_readonly_flag': lambda v, a: None,
                'os-force_delete': self._act_force_delete,
            }.get(action)
            if handler is None:
                raise Fault(400, 'There is no such action: %s' % action)
            handler(volume, args)
        return 202, None

    def _act_attach(self, volume, args):
        server_id = args.get('instance_uuid')
        if not server_id and not args.get('host_name'):
            raise Fault(400, 'Invalid request to attach volume to an invalid '
                             'target')
        if volume['status'] not in ('available', 'attaching', 'reserved') \
                and not volume['multiattach']:
            raise Fault(400, 'Invalid volume: status must be available')
        self._attach(volume, server_id, args.get('mountpoint'),
                     host=args.get('host_name'), mode=args.get('mode', 'rw'))

    def _act_detach(self, volume, args):
        att_id = args.get('attachment_id')
        if not volume['attachments']:
            raise Fault(400, 'Invalid volume: Volume %s is not attached to '
                             'anything' % volume['id'])
        if att_id is None:
            if len(volume['attachments']) > 1:
                raise Fault(400, 'Invalid volume: Volume %s is attached to '
                                 'more than one instance, an attachment_id '
                                 'is required' % volume['id'])
            att_id = volume['attachments'][0]['attachment_id']
        if not self._detach(volume, attachment_id=att_id):
            raise Fault(404, 'Volume attachment could not be found with '
                             'filter: attachment_id = %s.' % att_id)

    def _act_reserve(self, volume, args):
        self._reserve_check(volume)
        volume['status'] = 'attaching'

    def _act_unreserve(self, volume, args):
        if volume['status'] == 'attaching':
            volume['status'] = 'in-use' if volume['attachments'] \
                else 'available'

    def _act_begin_detaching(self, volume, args):
        if volume['status'] != 'in-use':
            raise Fault(400, 'Invalid volume: Unable to detach volume. Volume '
                             'status must be \'in-use\' and attach_status must'
                             ' be \'attached\' to detach.')
        volume['status'] = 'detaching'

    def _act_roll_detaching(self, volume, args):
        if volume['status'] == 'detaching':
            volume['status'] = 'in-use'

    def _act_set_bootable(self, volume, args):
        value = args.get('bootable')
        if isinstance(value, str):
            if value.lower() not in ('true', 'false', '1', '0'):
                raise Fault(400, 'Invalid value for bootable: %s' % value)
            value = value.lower() in ('true', '1')
        volume['bootable'] = 'true' if value else 'false'

    def _act_reset_status(self, volume, args):
        if 'status' in args:
            volume['status'] = args['status']
            self.pending.pop(volume['id'], None)
        if args.get('attach_status') == 'detached':
            for att in list(volume['attachments']):
                self._detach(volume, attachment_id=att['attachment_id'])
            if 'status' in args:
                volume['status'] = args['status']
        if 'migration_status' in args:
            volume['migration_status'] = args['migration_status']

    def _act_extend(self, volume, args):
        try:
            new_size = int(args.get('new_size'))
        except (TypeError, ValueError):
            raise Fault(400, 'New volume size must be specified as an '
                             'integer.')
        if volume['status'] != 'available':
            raise Fault(400, 'Invalid volume: Volume %s status must be '
                             'available to extend, but current status is: '
                             '%s.' % (volume['id'], volume['status']))
        if new_size <= volume['size']:
            raise Fault(400, 'Invalid input received: New size for extend '
                             'must be greater than current size. (current: '
                             '%s, extended: %s).' % (volume['size'], new_size))
        volume['size'] = new_size

    def _act_force_delete(self, volume, args):
        for att in list(volume['attachments']):
            self._detach(volume, attachment_id=att['attachment_id'])
        del self.volumes[volume['id']]
        self.pending.pop(volume['id'], None)
