"""Migrations: ``os-migrations`` and ``servers/{server_id}/migrations``.

The records themselves are written by :mod:`vmr_lab.services.nova.tasks`.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

from vmr_lab.services.nova.common import _iso_us


class Migrations:
    """Migrations, of the cloud and of a server (a mixin)."""

    def _migration_view(self, req, migration):
        view = {k: migration[k] for k in (
            'id', 'source_compute', 'dest_compute', 'source_node',
            'dest_node', 'dest_host', 'status', 'instance_uuid',
            'old_instance_type_id', 'new_instance_type_id')}
        view['source_region'] = view['dest_region'] = 'RegionOne'
        view['created_at'] = _iso_us(migration['created_at'])
        view['updated_at'] = _iso_us(migration['updated_at'])
        if self.mv(req, '2.23'):
            view['migration_type'] = migration['migration_type']
            view['links'] = []
        if self.mv(req, '2.59'):
            view['uuid'] = migration['uuid']
        if self.mv(req, '2.80'):
            view['project_id'] = migration['project_id']
            view['user_id'] = migration['user_id']
        return view

    def list_migrations(self, req, ctx):
        self._admin(ctx, 'os_compute_api:os-migrations:index')
        params = req.GET
        with self.state_lock:
            rows = []
            for migration in reversed(self.migrations):
                host = params.get('host')
                if host and host not in (migration['source_compute'],
                                         migration['dest_compute']):
                    continue
                if params.get('status') and \
                        migration['status'] != params['status']:
                    continue
                if params.get('migration_type') and \
                        migration['migration_type'] != \
                        params['migration_type']:
                    continue
                if params.get('instance_uuid') and \
                        migration['instance_uuid'] != params['instance_uuid']:
                    continue
                rows.append(self._migration_view(req, migration))
        return 200, {'migrations': rows}

    def list_server_migrations(self, req, ctx, server_id):
        self._admin(ctx, 'os_compute_api:servers:migrations:index')
        with self.state_lock:
            self._server(ctx, server_id)
            rows = [self._migration_view(req, m) for m in self.migrations
                    if m['instance_uuid'] == server_id and
                    m['migration_type'] == 'live-migration' and
                    m['status'] in ('queued', 'preparing', 'running')]
        return 200, {'migrations': rows}
