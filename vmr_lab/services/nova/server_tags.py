"""Server tags (2.26): ``servers/{server_id}/tags``, within Nova's limits.

A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

from vmr_lab.services.base import Fault


class ServerTags:
    """Server tags, from 2.26 (a mixin)."""

    #: Nova's limits: 50 tags a server, 60 characters, no '/' or ','
    MAX_TAGS = 50

    def _tags_api(self, req):
        if not self.mv(req, '2.26'):
            raise Fault(404, 'The resource could not be found.')

    def _check_tags(self, tags):
        if not isinstance(tags, list) or not all(
                isinstance(t, str) and 0 < len(t) <= 60 and '/' not in t
                and ',' not in t for t in tags):
            raise Fault(400, 'Invalid input for field/attribute tags. Tags '
                             'are strings of 1-60 characters without "/" '
                             'or ",".')
        if len(set(tags)) > self.MAX_TAGS:
            raise Fault(400, 'The number of tags exceeded the per-server '
                             'limit %d' % self.MAX_TAGS)

    def list_tags(self, req, ctx, server_id):
        self._tags_api(req)
        with self.state_lock:
            return 200, {'tags': list(self._server(ctx, server_id)['tags'])}

    def replace_tags(self, req, ctx, server_id):
        self._tags_api(req)
        self._writer(ctx, 'os_compute_api:os-server-tags:update_all')
        tags = self.json_body(req).get('tags')
        self._check_tags(tags)
        with self.state_lock:
            server = self._server(ctx, server_id)
            server['tags'] = list(dict.fromkeys(tags))
            return 200, {'tags': list(server['tags'])}

    def delete_tags(self, req, ctx, server_id):
        self._tags_api(req)
        self._writer(ctx, 'os_compute_api:os-server-tags:delete_all')
        with self.state_lock:
            self._server(ctx, server_id)['tags'] = []
        return 204, None

    def check_tag(self, req, ctx, server_id, tag):
        self._tags_api(req)
        with self.state_lock:
            if tag not in self._server(ctx, server_id)['tags']:
                raise Fault(404, 'Tag %s could not be found.' % tag)
        return 204, None

    def add_tag(self, req, ctx, server_id, tag):
        self._tags_api(req)
        self._writer(ctx, 'os_compute_api:os-server-tags:update')
        self._check_tags([tag])
        with self.state_lock:
            server = self._server(ctx, server_id)
            if tag in server['tags']:
                return 204, None
            self._check_tags(server['tags'] + [tag])
            server['tags'].append(tag)
        return 201, None

    def delete_tag(self, req, ctx, server_id, tag):
        self._tags_api(req)
        self._writer(ctx, 'os_compute_api:os-server-tags:delete')
        with self.state_lock:
            server = self._server(ctx, server_id)
            if tag not in server['tags']:
                raise Fault(404, 'Tag %s could not be found.' % tag)
            server['tags'].remove(tag)
        return 204, None
