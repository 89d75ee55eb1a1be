"""Server metadata: ``servers/{server_id}/metadata`` and its items.

A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

from vmr_lab.services.base import Fault
from vmr_lab.services.nova.common import _now


class ServerMetadata:
    """Server metadata (a mixin)."""

    @staticmethod
    def _check_metadata(metadata):
        if not isinstance(metadata, dict):
            raise Fault(400, 'Malformed request body: metadata must be an '
                             'object.')
        for key, value in metadata.items():
            if not isinstance(key, str) or not 0 < len(key) <= 255 or \
                    not isinstance(value, str) or len(value) > 255:
                raise Fault(400, 'Invalid input for field/attribute metadata.'
                                 ' Value: %s.' % {key: value})

    def get_metadata(self, req, ctx, server_id):
        with self.state_lock:
            return 200, {'metadata': dict(self._server(ctx, server_id)[
                'metadata'])}

    def merge_metadata(self, req, ctx, server_id):
        self._writer(ctx, 'os_compute_api:server-metadata:create')
        metadata = self.json_body(req).get('metadata')
        self._check_metadata(metadata)
        with self.state_lock:
            server = self._server(ctx, server_id)
            server['metadata'].update(metadata)
            server['updated'] = _now()
            return 200, {'metadata': dict(server['metadata'])}

    def replace_metadata(self, req, ctx, server_id):
        self._writer(ctx, 'os_compute_api:server-metadata:update_all')
        metadata = self.json_body(req).get('metadata')
        self._check_metadata(metadata)
        with self.state_lock:
            server = self._server(ctx, server_id)
            server['metadata'] = dict(metadata)
            server['updated'] = _now()
            return 200, {'metadata': dict(server['metadata'])}

    def get_meta_item(self, req, ctx, server_id, key):
        with self.state_lock:
            metadata = self._server(ctx, server_id)['metadata']
            if key not in metadata:
                raise Fault(404, 'Metadata item was not found')
            return 200, {'meta': {key: metadata[key]}}

    def set_meta_item(self, req, ctx, server_id, key):
        self._writer(ctx, 'os_compute_api:server-metadata:update')
        meta = self.json_body(req).get('meta')
        self._check_metadata(meta)
        if list(meta) != [key]:
            raise Fault(400, 'Request body and URI mismatch')
        with self.state_lock:
            server = self._server(ctx, server_id)
            server['metadata'][key] = meta[key]
            server['updated'] = _now()
        return 200, {'meta': meta}

    def delete_meta_item(self, req, ctx, server_id, key):
        self._writer(ctx, 'os_compute_api:server-metadata:delete')
        with self.state_lock:
            metadata = self._server(ctx, server_id)['metadata']
            if key not in metadata:
                raise Fault(404, 'Metadata item was not found')
            del metadata[key]
        return 204, None
