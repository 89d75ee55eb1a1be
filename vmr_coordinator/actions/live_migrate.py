"""``live_migrate``: move a running server off a host that is still alive.

Used to drain a host for maintenance: the source runs, so Nova coordinates
the move and nothing can run twice; no fence is needed (DESIGN §5).
"""

from vmr_coordinator.actions import base, evidence

#: states Nova can live-migrate from
MIGRATABLE = ('ACTIVE', 'PAUSED')


class LiveMigrate(evidence.RecordedAction):
    """Live-migrate the server away from ``ctx.host``.

    Goal: the server is on another host than ``ctx.host`` (on
    ``target_host`` if given), ACTIVE, with no task running.  A migration
    already under way (a new leader resuming) is waited for, not repeated.
    ``block_migration`` is ``auto`` (Nova decides, >= 2.25), true or false.
    """

    name = 'live_migrate'
    needs_fence = False

    def heal(self, ctx):
        compute = ctx.conn.compute
        sid = ctx.server.id
        target = self.params.get('target_host')
        server = base.call(compute.get_server, sid)
        if self._arrived(server, ctx.host, target):
            return 'already on %s, %s' % (server.compute_host, server.status)
        if server.task_state != 'migrating':
            if server.task_state:
                # Another task (a snapshot, a reboot) holds the server:
                # Nova would answer 409 now; let it finish first.
                self.wait(ctx, lambda: not ctx.read_server(
                    compute, sid).task_state,
                    'the running task of %s' % sid)
                server = base.call(compute.get_server, sid)
                if self._arrived(server, ctx.host, target):
                    return 'already on %s, %s' % (server.compute_host,
                                                  server.status)
            if server.status not in MIGRATABLE:
                raise base.ActionError(
                    'server %s is %s: only %s servers can be live-migrated '
                    '(on_failure can cold-migrate or suspend it)'
                    % (sid, server.status, ' or '.join(MIGRATABLE)))
            block = self.params.get('block_migration', 'auto')
            base.call(compute.live_migrate_server, server, host=target,
                      block_migration=block)
        source = server.compute_host
        server = self.wait(ctx, lambda: self._settled(ctx, compute, sid),
                           'live migration of %s off %s' % (sid, source))
        if server.compute_host == source:
            raise base.RetryableError(
                'live migration of %s failed: Nova left it on %s (%s); see '
                '`openstack server migration list --server %s`'
                % (sid, source, server.status, sid))
        if target and server.compute_host != target:
            raise base.ActionError('server %s went to %s, not to target_host '
                                   '%s' % (sid, server.compute_host, target))
        return 'live-migrated from %s to %s, %s' % (
            source, server.compute_host, server.status)

    @staticmethod
    def _arrived(server, source, target):
        if server.task_state or server.status != 'ACTIVE':
            return False
        if target:
            return server.compute_host == target
        return server.compute_host != source

    @staticmethod
    def _settled(ctx, compute, sid):
        server = ctx.read_server(compute, sid)
        if server.status == 'ERROR':
            raise base.ActionError('server %s went to ERROR during live '
                                   'migration (fault: %s)'
                                   % (sid, getattr(server, 'fault', None)))
        if server.task_state:
            return None
        return server
