"""Glance v2 simulator: images, uploads, tags, snapshots from Nova.

What openstacksdk's ``conn.image`` proxy and VMR's ``boot_from_snapshot``
action need: image create/list/show/update (JSON patch)/delete, a minimal
data upload, tags, arbitrary properties (``instance_uuid``, ``image_type``,
...) that are also list filters, sorting by ``created_at``, and the snapshot
images Nova's ``createImage`` produces through :meth:`GlanceAPI.
create_snapshot_image`.

Errors use the body webob gives Glance's exceptions for a JSON client:
``{"message": ..., "code": "404 Not Found", "title": "Not Found"}``.

Tunable: ``lab.delays['image_snapshot']`` (seconds a snapshot stays
``saving``, default 0.2) or the ``snapshot_delay`` attribute.
"""

import copy
import hashlib
import json
import time
import urllib.parse
import uuid

import webob
import webob.exc

from vmr_lab.services.base import Fault, Service, after_marker, utc_timestamp

DISK_FORMATS = ('ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2',
                'vdi', 'iso', 'ploop')
CONTAINER_FORMATS = ('ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker',
                     'compressed')
VISIBILITIES = ('public', 'private', 'shared', 'community')
#: Attributes Glance owns; a client may not set them.
#: The one store (a multi-store Glance names it in each active image's
#: ``stores``).
STORE_ID = 'file'
READ_ONLY = ('id', 'status', 'created_at', 'updated_at', 'checksum', 'size',
             'virtual_size', 'file', 'schema', 'self', 'os_hash_algo',
             'os_hash_value', 'direct_url', 'locations')
#: Core attributes that are not free-form properties.
CORE = READ_ONLY + ('name', 'visibility', 'protected', 'os_hidden', 'owner',
                    'min_disk', 'min_ram', 'disk_format', 'container_format',
                    'tags')
#: Base image properties a snapshot does not inherit (Nova's list).
NOT_INHERITED = ('image_type', 'instance_uuid', 'base_image_ref',
                 'image_location', 'owner_id', 'user_id', 'boot_roles',
                 'owner_project_name', 'owner_user_name', 'block_device_mapping',
                 'bdm_v2', 'root_device_name', 'img_signature',
                 'img_signature_hash_method', 'img_signature_key_type',
                 'img_signature_certificate_uuid')
#: The CirrOS image every lab starts with; a fixed id so seeds can name it.
CIRROS_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, 'vmr-lab/images/cirros'))
CIRROS_NAME = 'cirros-0.6.2-x86_64-disk'

_TITLES = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
           404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
           413: 'Request Entity Too Large', 415: 'Unsupported Media Type',
           500: 'Internal Server Error'}


class GlanceAPI(Service):
    """The Glance v2 API of the lab, served on its own port."""

    service_type = 'image'
    name = 'glance'
    endpoint_path = ''

    def __init__(self, lab):
        self.images = {}
        # image id -> (time it becomes active, status meanwhile)
        self.pending = {}
        # Uploaded bytes stay in memory only; snapshots keep the metadata.
        self.data = {}
        self.snapshot_delay = float(
            getattr(lab, 'delays', {}).get('image_snapshot', 0.2))
        super().__init__(lab)
        self.seed()

    # -- seed and state --------------------------------------------------
    def _admin_project(self):
        try:
            return self.lab.keystone.project_id('admin')
        except (AttributeError, KeyError):
            return 'admin'

    def seed(self):
        """Create the public CirrOS image."""
        with self.lock:
            image = self._new_image(self._admin_project(), {
                'id': CIRROS_ID, 'name': CIRROS_NAME, 'disk_format': 'qcow2',
                'container_format': 'bare', 'visibility': 'public',
                'os_distro': 'cirros', 'os_type': 'linux',
                'hw_disk_bus': 'virtio'})
            image.update({'status': 'active', 'size': 21430272,
                          'stores': STORE_ID,
                          'virtual_size': 117440512,
                          'checksum': 'c8fc807773e5354afe61636071771906',
                          'os_hash_algo': 'sha512',
                          'os_hash_value': hashlib.sha512(
                              b'vmr-lab cirros').hexdigest()})

    def snapshot(self):
        """Image metadata as a JSON-serialisable dict (no image data)."""
        with self.lock:
            return copy.deepcopy({'images': self.images,
                                  'pending': self.pending})

    def restore(self, state):
        """Replace the state with one returned by :meth:`snapshot`."""
        state = copy.deepcopy(state)
        with self.lock:
            self.images = state['images']
            self.pending = {k: tuple(v) for k, v in state['pending'].items()}
            self.data = {}

    def _settle(self):
        """Finish the snapshots whose upload time has passed."""
        now = time.time()
        for image_id, (ready_at, _) in list(self.pending.items()):
            image = self.images.get(image_id)
            if image is None:
                del self.pending[image_id]
            elif now >= ready_at:
                del self.pending[image_id]
                image['status'] = 'active'
                image['stores'] = STORE_ID
                image['size'] = image['size'] or 12716032
                image['virtual_size'] = image['virtual_size'] or 117440512
                image['checksum'] = hashlib.md5(  # noqa: S324 - as Glance
                    image_id.encode(), usedforsecurity=False).hexdigest()
                image['os_hash_algo'] = 'sha512'
                image['os_hash_value'] = hashlib.sha512(
                    image_id.encode()).hexdigest()
                image['updated_at'] = utc_timestamp()

    # -- WSGI plumbing ---------------------------------------------------
    def malformed_input(self, exc):
        # Malformed input the schema checks missed: 400, never a 500.
        return Fault(400, 'Invalid request: %s' % exc)

    def _fault_response(self, fault, req=None):
        """Glance raises webob's HTTP errors: webob picks the body from the
        Accept header -- JSON (``message``, ``code``, ``title``) only for
        ``application/json``; HTML for ``*/*`` or ``text/html``, plain text
        otherwise (openstacksdk sends an empty Accept on PATCH)."""
        exc_class = webob.exc.status_map.get(fault.status)
        if req is None or exc_class is None:
            return super()._fault_response(fault, req)
        resp = req.get_response(exc_class(explanation=fault.message))
        for key, value in fault.headers.items():
            resp.headers[key] = value
        return resp

    def fault_body(self, fault):
        title = _TITLES.get(fault.status, 'Error')
        return {'message': fault.message,
                'code': '%d %s' % (fault.status, title), 'title': title}

    def setup_routes(self):
        self.route('GET', '/', self.versions, public=True)
        self.route('GET', '/versions', self.versions, public=True)
        self.route('GET', '/v2', self.versions, public=True)
        self.route('GET', '/v2/images', self.list_images)
        self.route('POST', '/v2/images', self.create_image)
        self.route('GET', '/v2/images/{image_id}', self.show_image)
        self.route('PATCH', '/v2/images/{image_id}', self.update_image)
        self.route('DELETE', '/v2/images/{image_id}', self.delete_image)
        self.route('PUT', '/v2/images/{image_id}/file', self.upload)
        self.route('GET', '/v2/images/{image_id}/file', self.download)
        self.route('PUT', '/v2/images/{image_id}/tags/{tag}', self.add_tag)
        self.route('DELETE', '/v2/images/{image_id}/tags/{tag}',
                   self.remove_tag)
        self.route('POST', '/v2/images/{image_id}/actions/{action}',
                   self.image_action)
        self.route('GET', '/v2/info/import', self.import_info)
        self.route('GET', '/v2/info/stores', self.stores_info)
        self.route('GET', '/v2/schemas/image', self.image_schema)
        self.route('GET', '/v2/schemas/images', self.images_schema)

    def versions(self, req, ctx):
        """Version discovery: Glance answers 300 Multiple Choices."""
        href = req.host_url + '/v2/'
        versions = [{'id': 'v2.%d' % minor,
                     'status': 'CURRENT' if minor == 16 else 'SUPPORTED',
                     'links': [{'rel': 'self', 'href': href}]}
                    for minor in range(16, -1, -1)]
        root = req.path_info.rstrip('/') in ('', '/versions')
        return (300 if root else 200), {'versions': versions}

    def import_info(self, req, ctx):
        """``GET /v2/info/import``: the import methods."""
        return 200, {'import-methods': {
            'description': 'Import methods available.', 'type': 'array',
            'value': ['glance-direct', 'web-download']}}

    def stores_info(self, req, ctx):
        """``GET /v2/info/stores``: one in-memory store."""
        return 200, {'stores': [{'id': STORE_ID, 'description': 'lab memory',
                                 'default': True}]}

    def image_schema(self, req, ctx):
        """``GET /v2/schemas/image`` (minimal)."""
        return 200, {'name': 'image', 'additionalProperties': {
            'type': 'string'}, 'properties': {
            key: {'type': 'string'} for key in CORE}}

    def images_schema(self, req, ctx):
        """``GET /v2/schemas/images`` (minimal)."""
        return 200, {'name': 'images', 'properties': {
            'images': {'type': 'array', 'items': self.image_schema(
                req, ctx)[1]}}}

    # -- helpers ---------------------------------------------------------
    def _new_image(self, owner, body):
        image_id = body.get('id') or str(uuid.uuid4())
        now = utc_timestamp()
        image = {
            'id': image_id, 'name': body.get('name'), 'status': 'queued',
            'visibility': body.get('visibility', 'shared'),
            'protected': body.get('protected', False),
            'os_hidden': body.get('os_hidden', False),
            'owner': body.get('owner') or owner,
            'min_disk': body.get('min_disk', 0),
            'min_ram': body.get('min_ram', 0),
            'disk_format': body.get('disk_format'),
            'container_format': body.get('container_format'),
            'tags': copy.copy(body.get('tags', [])),
            'checksum': None, 'os_hash_algo': None, 'os_hash_value': None,
            'size': None, 'virtual_size': None,
            'created_at': now, 'updated_at': now,
            'self': '/v2/images/%s' % image_id,
            'file': '/v2/images/%s/file' % image_id,
            'schema': '/v2/schemas/image',
        }
        for key, value in body.items():
            if key not in CORE:
                image[key] = value
        self.images[image_id] = image
        return image

    def _visible(self, ctx, image):
        if ctx is None or ctx.is_admin:
            return True
        return image['visibility'] in ('public', 'community') \
            or image['owner'] == ctx.project_id

    def _get(self, ctx, image_id):
        image = self.images.get(image_id)
        if image is None or not self._visible(ctx, image):
            raise Fault(404, 'No image found with ID %s' % image_id)
        return image

    def _owned(self, ctx, image_id):
        image = self._get(ctx, image_id)
        if ctx is not None and not ctx.is_admin:
            if image['owner'] != ctx.project_id or not ctx.can_write:
                raise Fault(403, 'You are not permitted to modify this image.')
        return image

    @staticmethod
    def _validate(image):
        def schema_error(key, expected):
            return Fault(400, "Provided object does not match schema 'image':"
                         " %r is not of type %s (property %s)"
                         % (image[key], expected, key))
        for key in ('name', 'owner'):
            if image[key] is not None and not isinstance(image[key], str):
                raise schema_error(key, "'null', 'string'")
        for key in ('protected', 'os_hidden'):
            if not isinstance(image[key], bool):
                raise schema_error(key, "'boolean'")
        for key in ('min_disk', 'min_ram'):
            # Glance 33's texts (then "Failed validating ..." lines).
            if isinstance(image[key], bool) \
                    or not isinstance(image[key], int):
                raise Fault(400, "Provided object does not match schema "
                                 "'image': %r is not of type 'integer'\n\n"
                                 "Failed validating 'type' in schema"
                                 "['properties'][%r]" % (image[key], key))
            if image[key] < 0:
                raise Fault(400, "Provided object does not match schema "
                                 "'image': %r is less than the minimum of 0"
                                 "\n\nFailed validating 'minimum' in schema"
                                 "['properties'][%r]" % (image[key], key))
        if not isinstance(image['tags'], list) or not all(
                isinstance(t, str) and len(t) <= 255 for t in image['tags']):
            raise schema_error('tags', "'array' of 'string'")
        if image['disk_format'] is not None \
                and image['disk_format'] not in DISK_FORMATS:
            raise Fault(400, "Provided object does not match schema 'image':"
                        " '%s' is not one of %s" % (image['disk_format'],
                                                    list(DISK_FORMATS)))
        if image['container_format'] is not None \
                and image['container_format'] not in CONTAINER_FORMATS:
            raise Fault(400, "Provided object does not match schema 'image':"
                        " '%s' is not one of %s"
                        % (image['container_format'],
                           list(CONTAINER_FORMATS)))
        if image['visibility'] not in VISIBILITIES:
            raise Fault(400, "Invalid visibility value: %s"
                        % image['visibility'])
        for key, value in image.items():
            if key not in CORE and key not in ('schema',) \
                    and value is not None and not isinstance(value, str):
                raise Fault(400, "Provided object does not match schema "
                            "'image': %r is not of type 'string' (property "
                            "%s)" % (value, key))

    # -- images ----------------------------------------------------------
    def list_images(self, req, ctx):
        """``GET /v2/images`` with Glance's filters, sort and paging."""
        params = req.GET
        with self.lock:
            self._settle()
            images = [copy.deepcopy(i) for i in self.images.values()
                      if self._visible(ctx, i)]
        if 'visibility' in params:
            if params['visibility'] != 'all':
                images = [i for i in images
                          if i['visibility'] == params['visibility']]
        elif ctx is not None:
            images = [i for i in images if i['visibility'] != 'community'
                      or i['owner'] == ctx.project_id]
        if params.get('os_hidden', 'false').lower() != 'true':
            images = [i for i in images if not i['os_hidden']]
        for tag in params.getall('tag'):
            images = [i for i in images if tag in i['tags']]
        for key, value in params.items():
            if key in ('visibility', 'os_hidden', 'tag', 'limit', 'marker',
                       'sort', 'sort_key', 'sort_dir', 'member_status'):
                continue
            if key in ('size_min', 'size_max'):
                try:
                    bound = int(value)
                except ValueError:
                    raise Fault(400, 'Invalid %s: %s' % (key, value))
                images = [i for i in images if i['size'] is not None and (
                    i['size'] >= bound if key == 'size_min'
                    else i['size'] <= bound)]
                continue
            wanted = value
            if value.startswith('in:'):
                wanted = value[3:].split(',')
            images = [i for i in images if self._match(i.get(key), wanted)]
        images = self._sort(images, params)
        images = after_marker(images, params.get('marker'),
                              'marker not found: %s')
        body = {'first': '/v2/images', 'schema': '/v2/schemas/images'}
        limit = params.get('limit')
        if limit:
            try:
                limit = int(limit)
            except ValueError:
                raise Fault(400, 'limit param must be an integer')
            if limit < 0:
                raise Fault(400, 'limit param must be positive')
            if len(images) > limit:
                images = images[:limit]
                query = dict(params.items())
                query.update(marker=images[-1]['id'], limit=str(limit))
                body['next'] = '/v2/images?' + urllib.parse.urlencode(query)
        body['images'] = images
        return 200, body

    @staticmethod
    def _match(value, wanted):
        if isinstance(wanted, list):
            return str(value) in wanted
        if isinstance(value, bool):
            return str(value).lower() == wanted.lower()
        return value is not None and str(value) == wanted

    @staticmethod
    def _sort(images, params):
        keys = []
        if params.get('sort'):
            for part in params['sort'].split(','):
                key, _, direction = part.strip().partition(':')
                keys.append((key, direction or 'desc'))
        else:
            sort_keys = params.getall('sort_key') or ['created_at']
            sort_dirs = params.getall('sort_dir') or ['desc']
            for i, key in enumerate(sort_keys):
                keys.append((key, sort_dirs[min(i, len(sort_dirs) - 1)]))
        for _key, direction in keys:
            if direction not in ('asc', 'desc'):
                raise Fault(400, 'Invalid sort direction: %s' % direction)
        # Ties (created_at has one-second resolution) go by creation order,
        # so "the newest snapshot" is deterministic; stable sorts are
        # applied last key first.
        if keys[0][1] == 'desc':
            images.reverse()
        for key, direction in reversed(keys):
            images.sort(key=lambda i, k=key: (i.get(k) is None,
                                              str(i.get(k) or '')),
                        reverse=direction == 'desc')
        return images

    def show_image(self, req, ctx, image_id):
        """``GET /v2/images/{id}``."""
        with self.lock:
            self._settle()
            return 200, copy.deepcopy(self._get(ctx, image_id))

    def create_image(self, req, ctx):
        """``POST /v2/images``: a queued image record."""
        if ctx is not None and not ctx.can_write:
            raise Fault(403, 'You are not authorized to complete add_image '
                             'action.')
        body = self.json_body(req)
        for key in READ_ONLY:
            if key in body and key != 'id':
                raise Fault(403, "Attribute '%s' is read-only." % key)
        if body.get('visibility') == 'public' and ctx is not None \
                and not ctx.is_admin:
            raise Fault(403, 'You are not authorized to complete '
                             'publicize_image action.')
        owner = ctx.project_id if ctx is not None else 'admin'
        if body.get('owner') and ctx is not None and not ctx.is_admin \
                and body['owner'] != owner:
            raise Fault(403, "You are not permitted to create images owned "
                             "by '%s'." % body['owner'])
        if body.get('id') is not None:
            try:
                body['id'] = str(uuid.UUID(str(body['id'])))
            except ValueError:
                raise Fault(400, "Provided object does not match schema "
                                 "'image': %r is not a 'uuid'" % body['id'])
        with self.lock:
            if body.get('id') and body['id'] in self.images:
                raise Fault(409, 'An image with identifier %s already '
                                 'exists' % body['id'])
            image = self._new_image(owner, body)
            try:
                self._validate(image)
            except Fault:
                del self.images[image['id']]
                raise
            resp = self._json_response(201, image)
            resp.location = req.host_url + image['self']
            return resp

    @staticmethod
    def _json_response(status, body):
        resp = webob.Response(status=status, content_type='application/json',
                              charset='UTF-8')
        resp.text = json.dumps(body)
        return resp

    def update_image(self, req, ctx, image_id):
        """``PATCH /v2/images/{id}`` with a JSON patch (add/replace/remove)."""
        ctype = (req.content_type or '').lower()
        if ctype not in ('application/openstack-images-v2.1-json-patch',
                         'application/openstack-images-v2.0-json-patch'):
            raise Fault(415, 'Unsupported Content-Type', headers={
                'Accept-Patch':
                    'application/openstack-images-v2.1-json-patch'})
        try:
            ops = json.loads(req.body or b'null')
        except ValueError as exc:
            raise Fault(400, 'Malformed JSON in request body: %s' % exc)
        if not isinstance(ops, list):
            raise Fault(400, 'Request body must be a JSON array of '
                             'operation objects.')
        with self.lock:
            self._settle()
            image = self._owned(ctx, image_id)
            new = copy.deepcopy(image)
            for op in ops:
                self._apply_patch(new, op, ctx)
            self._validate(new)
            new['updated_at'] = utc_timestamp()
            image.clear()
            image.update(new)
            return 200, copy.deepcopy(image)

    @staticmethod
    def _apply_patch(image, op, ctx):
        if not isinstance(op, dict) or 'op' not in op or 'path' not in op:
            raise Fault(400, 'Operation objects must contain exactly one '
                             'member named "op" and "path".')
        path = op['path']
        if not isinstance(path, str) or not path.startswith('/') \
                or path.count('/') != 1:
            raise Fault(400, "Invalid JSON pointer for this resource: '%s'"
                        % path)
        key = path[1:]
        if key == 'stores':
            # Computed by a multi-store Glance (like /v2/info/stores), not
            # a property: removing it is 409, setting it does nothing.
            if op['op'] == 'remove':
                raise Fault(409, 'Property stores does not exist.')
            return
        if key in READ_ONLY:
            raise Fault(403, "Attribute '%s' is read-only." % key)
        if key == 'visibility' and op.get('value') == 'public' \
                and ctx is not None and not ctx.is_admin:
            raise Fault(403, 'You are not authorized to complete '
                             'publicize_image action.')
        if op['op'] in ('add', 'replace'):
            if 'value' not in op:
                raise Fault(400, 'Operation "%s" requires a member named '
                                 '"value".' % op['op'])
            if op['op'] == 'replace' and key not in image:
                raise Fault(409, 'Property %s does not exist.' % key)
            # JSON patch "add" on an existing property replaces it (200).
            image[key] = op['value']
        elif op['op'] == 'remove':
            if key in CORE:
                raise Fault(403, "Attribute '%s' is reserved." % key)
            if key not in image:
                raise Fault(409, 'Property %s does not exist.' % key)
            del image[key]
        else:
            raise Fault(400, 'Invalid operation: "%s"' % op['op'])

    def delete_image(self, req, ctx, image_id):
        """``DELETE /v2/images/{id}`` (403 when protected)."""
        with self.lock:
            image = self._owned(ctx, image_id)
            if image['protected']:
                raise Fault(403, 'Image %s is protected and cannot be '
                                 'deleted.' % image_id)
            del self.images[image_id]
            self.pending.pop(image_id, None)
            self.data.pop(image_id, None)
        return 204, None

    def upload(self, req, ctx, image_id):
        """``PUT /v2/images/{id}/file``: the image data, kept in memory."""
        data = req.body
        with self.lock:
            image = self._owned(ctx, image_id)
            if not image['disk_format'] or not image['container_format']:
                raise Fault(400, 'Properties disk_format, container_format '
                                 'must be set prior to saving data.')
            if image['status'] != 'queued':
                raise Fault(409, 'Image status transition from %s to saving '
                                 'is not allowed' % image['status'])
            self.data[image_id] = data
            image.update({
                'status': 'active', 'stores': STORE_ID, 'size': len(data),
                'virtual_size': len(data),
                'checksum': hashlib.md5(  # noqa: S324 - Glance's checksum
                    data, usedforsecurity=False).hexdigest(),
                'os_hash_algo': 'sha512',
                'os_hash_value': hashlib.sha512(data).hexdigest(),
                'updated_at': utc_timestamp()})
        return 204, None

    def download(self, req, ctx, image_id):
        """``GET /v2/images/{id}/file``: the uploaded bytes."""
        with self.lock:
            self._settle()
            image = self._get(ctx, image_id)
            if image['status'] != 'active':
                raise Fault(403, 'The requested image has been deactivated. '
                                 'Image data download is forbidden.'
                            if image['status'] == 'deactivated' else
                            'Image %s has no data.' % image_id)
            data = self.data.get(image_id, b'')
            resp = webob.Response(status=200,
                                  content_type='application/octet-stream')
            resp.body = data
            if image['checksum'] and image_id in self.data:
                resp.headers['Content-MD5'] = image['checksum']
            return resp

    def add_tag(self, req, ctx, image_id, tag):
        """``PUT /v2/images/{id}/tags/{tag}``."""
        with self.lock:
            image = self._owned(ctx, image_id)
            if tag not in image['tags']:
                image['tags'].append(tag)
                image['updated_at'] = utc_timestamp()
        return 204, None

    def remove_tag(self, req, ctx, image_id, tag):
        """``DELETE /v2/images/{id}/tags/{tag}``."""
        with self.lock:
            image = self._owned(ctx, image_id)
            if tag not in image['tags']:
                raise Fault(404, 'Tag %s not found' % tag)
            image['tags'].remove(tag)
            image['updated_at'] = utc_timestamp()
        return 204, None

    def image_action(self, req, ctx, image_id, action):
        """``deactivate`` / ``reactivate`` (admin only, as in Glance)."""
        if action not in ('deactivate', 'reactivate'):
            raise Fault(404, 'The resource could not be found.')
        with self.lock:
            self._settle()
            image = self._get(ctx, image_id)
            if ctx is not None and not ctx.is_admin:
                raise Fault(403, 'You are not authorized to complete %s '
                                 'action.' % action)
            if image['status'] not in ('active', 'deactivated'):
                raise Fault(403, 'Not allowed to %s image in status %r'
                            % (action, image['status']))
            image['status'] = 'deactivated' if action == 'deactivate' \
                else 'active'
            image['updated_at'] = utc_timestamp()
        return 204, None

    # -- hooks for Nova --------------------------------------------------
    def get_image(self, image_id):
        """The image dict (a copy) or None."""
        with self.lock:
            self._settle()
            image = self.images.get(image_id)
            return copy.deepcopy(image) if image else None

    def create_snapshot_image(self, server, name, metadata=None):
        """Record the image Nova's ``createImage`` makes of ``server``.

        The image inherits the base image's properties (except the
        snapshot bookkeeping ones), gets ``image_type: snapshot`` and
        ``instance_uuid``, and goes queued → active after
        ``snapshot_delay`` seconds (0 makes it active at once).
        """
        image_ref = server.get('image') or {}
        base_id = image_ref.get('id') if isinstance(image_ref, dict) \
            else image_ref
        project = server.get('tenant_id') or server.get('project_id') \
            or 'admin'
        with self.lock:
            base = self.images.get(base_id) if base_id else None
            body = {'name': name, 'visibility': 'private',
                    'disk_format': base['disk_format'] if base else 'qcow2',
                    'container_format': (base['container_format'] if base
                                         else 'bare'),
                    'min_disk': int((server.get('flavor') or {}).get(
                        'disk', base['min_disk'] if base else 0) or 0),
                    'min_ram': base['min_ram'] if base else 0}
            if base:
                for key, value in base.items():
                    if key not in CORE and key not in NOT_INHERITED:
                        body[key] = value
            for key, value in (metadata or {}).items():
                body[key] = str(value)
            body.update({
                'image_type': 'snapshot', 'instance_uuid': server['id'],
                'base_image_ref': base_id or '', 'image_location': 'snapshot',
                'owner_id': project, 'user_id': server.get('user_id', ''),
                'boot_roles': 'admin,member,reader'})
            image = self._new_image(project, body)
            image['size'] = base['size'] if base else None
            image['virtual_size'] = base['virtual_size'] if base else None
            if self.snapshot_delay <= 0:
                self.pending[image['id']] = (0, 'saving')
            else:
                image['status'] = 'saving'
                self.pending[image['id']] = (time.time() + self.snapshot_delay,
                                             'saving')
            self._settle()
            return copy.deepcopy(image)
