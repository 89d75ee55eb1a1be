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

from vmr_lab.services.base import Fault, Service
from vmr_lab.services.cinder.common import (
    DEFAULT_TYPE_ID,
    MAX_VERSION,
    MIN_VERSION,
    _now,
    _parse_version,
    _version_str,
)
from vmr_lab.services.cinder.attachments import Attachments
from vmr_lab.services.cinder.volumes import Volumes


class CinderAPI(Volumes, Attachments, Service):
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
