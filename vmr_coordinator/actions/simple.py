"""Actions that act on the server in place: rebuild, reboot, suspend,
resume, and ``noop`` (record only)."""

from vmr_coordinator.actions import base
from vmr_coordinator.actions import evidence


class _InPlace(evidence.RecordedAction):
    needs_fence = False
    goal_status = 'ACTIVE'

    def act(self, compute, server):
        raise NotImplementedError

    def already_done(self, server):
        return server.status == self.goal_status and not server.task_state

    def heal(self, ctx):
        compute = ctx.conn.compute
        server = base.call(compute.get_server, ctx.server.id)
        if not self.already_done(server) or self.force:
            if server.task_state:
                self.wait(ctx, lambda: not base.call(
                    compute.get_server, ctx.server.id).task_state,
                    'the running task of %s' % ctx.server.id)
                server = base.call(compute.get_server, ctx.server.id)
            base.call(self.act, compute, server)

        was_error = server.status == 'ERROR'
        seen = {'task': False}

        def done():
            s = base.call(compute.get_server, ctx.server.id)
            if s.task_state:
                seen['task'] = True
            # A server that was ERROR before we acted stays ERROR until Nova
            # picks the task up: only an ERROR after the task counts.
            if s.status == 'ERROR' and not s.task_state and (
                    seen['task'] or not was_error):
                raise base.ActionError('server %s went to ERROR'
                                       % ctx.server.id)
            return s if self.already_done(s) else None
        server = self.wait(ctx, done, '%s of %s' % (self.name, ctx.server.id))
        return '%s: %s' % (self.name, server.status)

    force = False


class Rebuild(_InPlace):
    """Rebuild the server from its image (guest OS healing)."""

    name = 'rebuild'
    force = True

    def act(self, compute, server):
        image = self.params.get('image') or (server.image or {}).get('id')
        compute.rebuild_server(server, image=image)


class Reboot(_InPlace):
    """Reboot: soft, hard, or soft then hard (``type`` param)."""

    name = 'reboot'
    force = True

    def act(self, compute, server):
        kind = self.params.get('type', 'soft_then_hard')
        compute.reboot_server(server, 'HARD' if kind == 'hard' else 'SOFT')


class Suspend(_InPlace):
    """Suspend the server to free capacity."""

    name = 'suspend'
    goal_status = 'SUSPENDED'

    def act(self, compute, server):
        compute.suspend_server(server)


class Resume(_InPlace):
    """Resume a suspended server."""

    name = 'resume'

    def act(self, compute, server):
        if server.status == 'SUSPENDED':
            compute.resume_server(server)
        elif server.status == 'SHUTOFF':
            compute.start_server(server)


class Noop(base.Action):
    """Do nothing but record the match (dry runs, tests)."""

    name = 'noop'
    needs_fence = False

    def run(self, ctx):
        return 'noop: nothing done'
