"""Cinder v3 simulator: volumes, attachments, volume actions, microversions.

What openstacksdk's ``conn.block_storage`` proxy, Nova's volume attach and
VMR's ``boot_from_snapshot`` (re-attach the data volumes to the replacement
server) need: volumes that go ``creating`` → ``available``, ``in-use`` while
attached, the ``attachments`` field, bootable volumes from images, the
attachments API (3.27+), the classic ``os-attach``/``os-detach`` actions, and
``OpenStack-API-Version: volume 3.x`` negotiation up to 3.71.

Nova attaches and detaches through :meth:`CinderAPI.attach` and
:meth:`CinderAPI.detach`; errors use Cinder's body
``{"badRequest": {"code": 400, "message": ...}}`` (the base format).

Tunable: ``lab.delays['volume_create']`` (seconds a volume stays
``creating``, default 0.2) or the ``create_delay`` attribute.
"""

import copy
import time
import uuid

from vmr_lab.services.base import Fault, Service

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 71)
DEFAULT_TYPE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, 'vmr-lab/volume-type'))
DELETABLE = ('available', 'error', 'error_restoring', 'error_extending',
             'error_managing')


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%S.000000', time.gmtime())


def _check_volume_body(body):
    """Type checks of a volume create/update body (Cinder's JSON schema)."""
    for key in ('name', 'description', 'availability_zone', 'imageRef',
                'image_id', 'snapshot_id', 'source_volid', 'volume_type',
                'consistencygroup_id', 'group_id', 'backup_id'):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise Fault(400, "Invalid input for field/attribute %s. Value: "
                             "%s. %r is not of type 'string', 'null'"
                        % (key, value, value))
    if 'multiattach' in body and not isinstance(body['multiattach'], bool):
        raise Fault(400, "Invalid input for field/attribute multiattach. "
                         "Value: %s. %r is not of type 'boolean'"
                    % (body['multiattach'], body['multiattach']))
    if 'metadata' in body:
        metadata = body['metadata']
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 255
                and len(v) <= 255 for k, v in metadata.items()):
            raise Fault(400, "Invalid input for field/attribute metadata. "
                             "Value: %s. metadata keys and values must be "
                             "strings of at most 255 characters" % metadata)


def _version_str(version):
    return '%d.%d' % version


def _parse_version(text):
    text = text.strip().lower()
    if text == 'latest':
        return MAX_VERSION
    try:
        major, minor = text.split('.')
        return int(major), int(minor)
    except ValueError:
        raise Fault(400, 'API Version String %s is of invalid format. Must be '
                         'of format MajorNum.MinorNum.' % text)


class CinderAPI(Service):
    """The Cinder v3 API of the lab, served on its own port."""

    service_type = 'block-storage'
    name = 'cinder'
    endpoint_path = '/v3/%(project_id)s'

    def __init__(self, lab):
        self.volumes = {}
        self.attachments = {}
        # volume id -> (time it leaves the transient status, next status)
        self.pending = {}
        delays = getattr(lab, 'delays', {})
        self.create_delay = float(delays.get('volume_create', 0.2))
        super().__init__(lab)

    # -- state -----------------------------------------------------------
    def snapshot(self):
        """Volumes and attachments as a JSON-serialisable dict."""
        with self.lock:
            return copy.deepcopy({'volumes': self.volumes,
                                  'attachments': self.attachments,
                                  'pending': self.pending})

    def restore(self, state):
        """Replace the state with one returned by :meth:`snapshot`."""
        state = copy.deepcopy(state)
        with self.lock:
            self.volumes = state['volumes']
            self.attachments = state['attachments']
            self.pending = {k: tuple(v) for k, v in state['pending'].items()}

    def _settle(self):
        now = time.time()
        for volume_id, (ready_at, status) in list(self.pending.items()):
            volume = self.volumes.get(volume_id)
            if volume is None:
                del self.pending[volume_id]
            elif now >= ready_at:
                del self.pending[volume_id]
                volume['status'] = status
                volume['updated_at'] = _now()

    # -- WSGI plumbing ---------------------------------------------------
    def malformed_input(self, exc):
        # Malformed input the schema checks missed: 400, never a 500.
        return Fault(400, 'Invalid input received: %s' % exc)

    def _requested_version(self, req):
        header = req.headers.get('OpenStack-API-Version', '')
        for part in header.split(','):
            service, _, version = part.strip().partition(' ')
            if service.lower() == 'volume' and version:
                return _parse_version(version)
        return MIN_VERSION

    def check_request(self, req):
        """Refuse microversions outside 3.0-3.71 with 406, as Cinder does."""
        if not req.path_info.startswith('/v3/'):
            return
        version = self._requested_version(req)
        if not MIN_VERSION <= version <= MAX_VERSION:
            raise Fault(406, 'Version %s is not supported by the API. Minimum '
                             'is %s and maximum is %s.'
                        % (_version_str(version), _version_str(MIN_VERSION),
                           _version_str(MAX_VERSION)))

    def extra_headers(self, req):
        if not req.path_info.startswith('/v3/'):
            return {}
        try:
            version = self._requested_version(req)
        except Fault:
            return {}
        if not MIN_VERSION <= version <= MAX_VERSION:
            return {}
        return {'OpenStack-API-Version': 'volume ' + _version_str(version),
                'Vary': 'OpenStack-API-Version'}

    def setup_routes(self):
        self.route('GET', '/', self.versions, public=True)
        self.route('GET', '/v3', self.versions, public=True)
        prefix = '/v3/{project_id}'
        self.route('GET', prefix + '/volumes', self.list_volumes)
        self.route('GET', prefix + '/volumes/detail', self.list_volumes_detail)
        self.route('POST', prefix + '/volumes', self.create_volume)
        self.route('GET', prefix + '/volumes/{volume_id}', self.show_volume)
        self.route('PUT', prefix + '/volumes/{volume_id}', self.update_volume)
        self.route('DELETE', prefix + '/volumes/{volume_id}',
                   self.delete_volume)
        self.route('POST', prefix + '/volumes/{volume_id}/action',
                   self.volume_action)
        self.route('GET', prefix + '/volumes/{volume_id}/metadata',
                   self.show_metadata)
        self.route('POST', prefix + '/volumes/{volume_id}/metadata',
                   self.update_metadata)
        self.route('GET', prefix + '/attachments', self.list_attachments)
        self.route('GET', prefix + '/attachments/detail',
                   self.list_attachments)
        self.route('POST', prefix + '/attachments', self.create_attachment)
        self.route('GET', prefix + '/attachments/{attachment_id}',
                   self.show_attachment)
        self.route('PUT', prefix + '/attachments/{attachment_id}',
                   self.update_attachment)
        self.route('DELETE', prefix + '/attachments/{attachment_id}',
                   self.delete_attachment)
        self.route('POST', prefix + '/attachments/{attachment_id}/action',
                   self.attachment_action)
        self.route('GET', prefix + '/types', self.list_types)
        self.route('GET', prefix + '/types/default', self.default_type)
        self.route('GET', prefix + '/types/{type_id}', self.show_type)

    def versions(self, req, ctx):
        """Version discovery: 300 Multiple Choices at '/', as Cinder."""
        version = {
            'id': 'v3.0', 'status': 'CURRENT',
            'version': _version_str(MAX_VERSION),
            'min_version': _version_str(MIN_VERSION),
            'updated': '2023-08-31T00:00:00Z',
            'links': [{'rel': 'describedby', 'type': 'text/html',
                       'href': 'https://docs.openstack.org/'},
                      {'rel': 'self', 'href': req.host_url + '/v3/'}],
            'media-types': [{
                'base': 'application/json',
                'type': 'application/vnd.openstack.volume+json;version=3'}],
        }
        root = req.path_info.rstrip('/') == ''
        return (300 if root else 200), {'versions': [version]}

    # -- helpers ---------------------------------------------------------
    def _get(self, ctx, volume_id):
        volume = self.volumes.get(volume_id)
        if volume is None or (ctx is not None and not ctx.is_admin and
                              volume['os-vol-tenant-attr:tenant_id']
                              != ctx.project_id):
            raise Fault(404, 'Volume %s could not be found.' % volume_id)
        return volume

    @staticmethod
    def _check_writer(ctx, action):
        if ctx is not None and not ctx.can_write:
            raise Fault(403, 'Policy doesn\'t allow volume:%s to be '
                             'performed.' % action)

    def _view(self, req, volume):
        volume = copy.deepcopy(volume)
        volume['links'] = [
            {'rel': 'self', 'href': '%s/v3/%s/volumes/%s'
             % (req.host_url, volume['os-vol-tenant-attr:tenant_id'],
                volume['id'])}]
        return volume

    def _server_host(self, server_id):
        nova = getattr(self.lab, 'nova', None)
        get_server = getattr(nova, 'get_server', None)
        if get_server is None:
            return None
        try:
            server = get_server(server_id)
        except Exception:  # a missing server has no host; no need to fail
            return None
        if not server:
            return None
        return server.get('OS-EXT-SRV-ATTR:host') or server.get('host')

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
        marker = req.GET.get('marker')
        if marker:
            ids = [v['id'] for v in volumes]
            if marker not in ids:
                raise Fault(400, 'Invalid marker: %s' % marker)
            volumes = volumes[ids.index(marker) + 1:]
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

    # -- attach / detach core ----------------------------------------------
    def _reserve_check(self, volume):
        attached = volume['attachments']
        if volume['status'] == 'available':
            return
        if volume['status'] in ('in-use', 'reserved') \
                and volume['multiattach']:
            return
        raise Fault(400, 'Invalid volume: Volume %s status must be available '
                         'or downloading to reserve, but the current status '
                         'is %s.%s' % (volume['id'], volume['status'],
                                       ' It is attached to %s.'
                                       % attached[0]['server_id']
                                       if attached else ''))

    def _attach(self, volume, server_id, device, host=None, attachment=None,
                mode='rw'):
        """Record an attachment of ``volume`` to ``server_id``."""
        for att in volume['attachments']:
            if att['server_id'] == server_id:
                raise Fault(400, 'Invalid volume: volume %s is already '
                                 'attached to instance %s.'
                            % (volume['id'], server_id))
        now = _now()
        att_id = attachment['id'] if attachment else str(uuid.uuid4())
        entry = {'id': volume['id'], 'attachment_id': att_id,
                 'volume_id': volume['id'], 'server_id': server_id,
                 'host_name': host, 'device': device, 'attached_at': now}
        volume['attachments'].append(entry)
        volume['status'] = 'in-use'
        volume['updated_at'] = now
        self.pending.pop(volume['id'], None)
        record = attachment or {'id': att_id}
        record.update({'volume_id': volume['id'], 'instance': server_id,
                       'status': 'attached', 'attach_mode': mode,
                       'attached_at': now, 'detached_at': None,
                       'connection_info': {'driver_volume_type': 'iscsi',
                                           'attachment_id': att_id,
                                           'mountpoint': device},
                       'connector': {'host': host}})
        self.attachments[att_id] = record
        return entry

    def _detach(self, volume, attachment_id=None, server_id=None):
        keep = []
        removed = []
        for att in volume['attachments']:
            if (attachment_id and att['attachment_id'] == attachment_id) or (
                    server_id and att['server_id'] == server_id):
                removed.append(att)
            else:
                keep.append(att)
        for att in removed:
            self.attachments.pop(att['attachment_id'], None)
        # Reserved (not yet completed) attachments of the server go too.
        for att_id, record in list(self.attachments.items()):
            if record['volume_id'] == volume['id'] and (
                    att_id == attachment_id or
                    (server_id and record['instance'] == server_id)):
                del self.attachments[att_id]
                removed.append(record)
        volume['attachments'] = keep
        if not keep:
            reserved = [a for a in self.attachments.values()
                        if a['volume_id'] == volume['id']]
            volume['status'] = 'reserved' if reserved else 'available'
        volume['updated_at'] = _now()
        return removed

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

    # -- attachments API (3.27+) -------------------------------------------
    def _require(self, req, version):
        if self._requested_version(req) < version:
            raise Fault(404, 'The resource could not be found.')

    def _attachment(self, ctx, attachment_id):
        record = self.attachments.get(attachment_id)
        if record is None:
            raise Fault(404, 'Volume attachment could not be found with '
                             'filter: attachment_id = %s.' % attachment_id)
        self._get(ctx, record['volume_id'])
        return record

    def list_attachments(self, req, ctx, project_id):
        """``GET /attachments`` (3.27+)."""
        self._require(req, (3, 27))
        with self.lock:
            records = []
            for record in self.attachments.values():
                try:
                    self._get(ctx, record['volume_id'])
                except Fault:
                    continue
                if all(str(record.get(k)) == v for k, v in req.GET.items()
                       if k in ('volume_id', 'instance', 'status')):
                    records.append(copy.deepcopy(record))
            return 200, {'attachments': records}

    def show_attachment(self, req, ctx, project_id, attachment_id):
        """``GET /attachments/{id}`` (3.27+)."""
        self._require(req, (3, 27))
        with self.lock:
            return 200, {'attachment': copy.deepcopy(
                self._attachment(ctx, attachment_id))}

    def create_attachment(self, req, ctx, project_id):
        """``POST /attachments``: reserve, or attach when a connector is given."""
        self._require(req, (3, 27))
        self._check_writer(ctx, 'attachment_create')
        body = self.json_body(req, 'attachment')
        volume_id = body.get('volume_uuid')
        if not volume_id:
            raise Fault(400, 'Invalid input received: volume_uuid is '
                             'required.')
        with self.lock:
            self._settle()
            volume = self._get(ctx, volume_id)
            self._reserve_check(volume)
            record = {'id': str(uuid.uuid4()), 'volume_id': volume_id,
                      'instance': body.get('instance_uuid'),
                      'status': 'reserved', 'attach_mode': body.get(
                          'mode', 'rw'), 'attached_at': None,
                      'detached_at': None, 'connection_info': {},
                      'connector': body.get('connector')}
            self.attachments[record['id']] = record
            if body.get('connector'):
                self._attach(volume, record['instance'],
                             body['connector'].get('mountpoint'),
                             host=body['connector'].get('host'),
                             attachment=record, mode=record['attach_mode'])
                record['status'] = 'attaching'
                volume['status'] = 'attaching'
            elif not volume['attachments']:
                volume['status'] = 'reserved'
            return 200, {'attachment': copy.deepcopy(record)}

    def update_attachment(self, req, ctx, project_id, attachment_id):
        """``PUT /attachments/{id}``: connect a reserved one."""
        self._require(req, (3, 27))
        body = self.json_body(req, 'attachment')
        with self.lock:
            record = self._attachment(ctx, attachment_id)
            volume = self.volumes[record['volume_id']]
            connector = body.get('connector') or {}
            if record['status'] == 'reserved':
                self._attach(volume, record['instance'],
                             connector.get('mountpoint'),
                             host=connector.get('host'), attachment=record,
                             mode=record['attach_mode'])
                record['status'] = 'attaching'
                volume['status'] = 'attaching'
            return 200, {'attachment': copy.deepcopy(record)}

    def attachment_action(self, req, ctx, project_id, attachment_id):
        """``POST /attachments/{id}/action``: os-complete."""
        self._require(req, (3, 44))
        body = self.json_body(req)
        if 'os-complete' not in body:
            raise Fault(400, 'There is no such action: %s' % ','.join(body))
        with self.lock:
            record = self._attachment(ctx, attachment_id)
            volume = self.volumes[record['volume_id']]
            record['status'] = 'attached'
            if volume['attachments']:
                volume['status'] = 'in-use'
        return 204, None

    def delete_attachment(self, req, ctx, project_id, attachment_id):
        """``DELETE /attachments/{id}``: detach."""
        self._require(req, (3, 27))
        with self.lock:
            record = self._attachment(ctx, attachment_id)
            volume = self.volumes[record['volume_id']]
            self._detach(volume, attachment_id=attachment_id)
            return 200, {'attachments': []}

    # -- volume types --------------------------------------------------------
    @staticmethod
    def _type():
        return {'id': DEFAULT_TYPE_ID, 'name': '__DEFAULT__',
                'description': 'Default Volume Type', 'is_public': True,
                'extra_specs': {}, 'os-volume-type-access:is_public': True,
                'qos_specs_id': None}

    def list_types(self, req, ctx, project_id):
        """``GET /types``: the default type only."""
        return 200, {'volume_types': [self._type()]}

    def default_type(self, req, ctx, project_id):
        """``GET /types/default``."""
        return 200, {'volume_type': self._type()}

    def show_type(self, req, ctx, project_id, type_id):
        """``GET /types/{id}``."""
        if type_id not in (DEFAULT_TYPE_ID, '__DEFAULT__'):
            raise Fault(404, 'Volume type %s could not be found.' % type_id)
        return 200, {'volume_type': self._type()}

    # -- hooks for Nova ------------------------------------------------------
    def get_volume(self, volume_id):
        """The volume dict (a copy) or None."""
        with self.lock:
            self._settle()
            volume = self.volumes.get(volume_id)
            return copy.deepcopy(volume) if volume else None

    def attach(self, volume_id, server_id, device, attachment_id=None):
        """Attach for Nova's ``os-volume_attachments``; return the entry.

        ``attachment_id`` lets Nova reuse the id it shows in its own
        ``volumeAttachment`` (a new one is made otherwise).

        Raises ``Fault(404)`` for an unknown volume and ``Fault(400)`` when
        the volume is not available (already in use and not multiattach),
        the answers Nova relays to its caller.
        """
        # Ask Nova before taking our lock: Nova may hold its own while
        # calling us, and the two locks must never be taken in both orders.
        host = self._server_host(server_id)
        with self.lock:
            self._settle()
            volume = self.volumes.get(volume_id)
            if volume is None:
                raise Fault(404, 'Volume %s could not be found.' % volume_id)
            self._reserve_check(volume)
            record = {'id': attachment_id} if attachment_id else None
            return copy.deepcopy(self._attach(volume, server_id, device,
                                              host=host, attachment=record))

    def detach(self, volume_id, server_id):
        """Detach ``volume_id`` from ``server_id``; False if not attached."""
        with self.lock:
            volume = self.volumes.get(volume_id)
            if volume is None:
                return False
            return bool(self._detach(volume, server_id=server_id))

    def delete_volume_of_server(self, volume_id):
        """Delete a volume Nova deletes with its server
        (``delete_on_termination``); False when it is not there."""
        with self.lock:
            volume = self.volumes.get(volume_id)
            if volume is None:
                return False
            self._act_force_delete(volume, {})
            return True

    def on_server_deleted(self, server_id):
        """Detach every volume of a deleted server (they stay available)."""
        with self.lock:
            for volume in self.volumes.values():
                if any(a['server_id'] == server_id
                       for a in volume['attachments']):
                    self._detach(volume, server_id=server_id)

    def on_server_moved(self, server_id, host):
        """Follow an evacuated/migrated server: update ``host_name``."""
        with self.lock:
            for volume in self.volumes.values():
                for att in volume['attachments']:
                    if att['server_id'] == server_id:
                        att['host_name'] = host

    def server_volumes(self, server_id):
        """Attachment entries of ``server_id`` (Nova's volume list)."""
        with self.lock:
            return [copy.deepcopy(att) for volume in self.volumes.values()
                    for att in volume['attachments']
                    if att['server_id'] == server_id]
