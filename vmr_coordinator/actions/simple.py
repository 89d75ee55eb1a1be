"""Actions that act on the server in place: rebuild, reboot, suspend,
resume, and ``noop`` (record only)."""

import time

from vmr_common import models
from vmr_coordinator.actions import base
from vmr_coordinator.actions import evidence


class _InPlace(evidence.RecordedAction):
    needs_fence = False
    goal_status = 'ACTIVE'

    def act(self, ctx, server):
        """Ask Nova for the change; may return a note for the result."""
        raise NotImplementedError

    def already_done(self, server):
        return server.status == self.goal_status and not server.task_state

    def heal(self, ctx):
        compute = ctx.conn.compute
        server = base.call(compute.get_server, ctx.server.id)
        note = None
        if not self.already_done(server) or self.force:
            if server.task_state:
                self.wait(ctx, lambda: not ctx.read_server(
                    compute, ctx.server.id).task_state,
                    'the running task of %s' % ctx.server.id)
                server = base.call(compute.get_server, ctx.server.id)
            note = self.act(ctx, server)

        was_error = server.status == 'ERROR'
        seen = {'task': False}

        def done():
            s = ctx.read_server(compute, ctx.server.id)
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
        if note:
            return '%s: %s' % (note, server.status)
        return '%s: %s' % (self.name, server.status)

    force = False


def resolve_image(conn, ref):
    """The id of the Glance image (or snapshot) ``ref`` names.

    Nova's rebuild takes only an image id (a name gets 400 "is not a
    'uuid'"), while contracts name images the way operators do.  An id is
    taken as is when Glance has it; a name must match exactly one image,
    preferring the one that is active.
    """
    images = conn.image
    if models.looks_like_id(ref):
        image = base.call(images.find_image, ref, ignore_missing=True)
        if image is not None and image.id == ref:
            return image.id
    named = [i for i in base.call(lambda: list(images.images(name=ref)))
             if i.name == ref]
    active = [i for i in named if i.status == 'active']
    if len(active) == 1:
        return active[0].id
    if not named:
        raise base.ActionError(
            'no image named (or with id) %r in Glance; set the contract\'s '
            'action params.image to an existing image name or id '
            '(openstack image list)' % ref)
    if not active:
        raise base.ActionError(
            'image %r is not active (%s); upload it again or name another '
            'image in params.image' % (ref, ', '.join(
                '%s: %s' % (i.id, i.status) for i in named)))
    raise base.ActionError(
        '%d active images are named %r (%s); set params.image to the id of '
        'the one to use, or rename the others' % (
            len(active), ref, ', '.join(sorted(i.id for i in active))))


class Rebuild(_InPlace):
    """Rebuild the server from an image (guest OS healing).

    ``image`` may name an image or a snapshot, or give its id; absent, the
    server's current image.  ``preserve_ephemeral`` goes to Nova as is.
    """

    name = 'rebuild'
    force = True

    def act(self, ctx, server):
        wanted = self.params.get('image')
        if wanted:
            image = resolve_image(ctx.conn, wanted)
        else:
            image = (server.image or {}).get('id')
            if not image:
                raise base.ActionError(
                    'server %s was booted from a volume (no image); set '
                    'params.image to the image to rebuild it with' % server.id)
        base.call(ctx.conn.compute.rebuild_server, server, image=image,
                  preserve_ephemeral=bool(self.params.get(
                      'preserve_ephemeral', False)))
        if wanted and wanted != image:
            return 'rebuild from %s (%s)' % (wanted, image)
        return None


class Reboot(_InPlace):
    """Reboot: ``soft``, ``hard``, or ``soft_then_hard`` (the default).

    ``soft_then_hard`` sends a soft reboot, waits up to ``soft_timeout``
    for the server to be ACTIVE again, then sends a hard one.  Nova accepts
    a soft reboot only from ACTIVE (from ERROR or SHUTOFF it answers 409),
    so from any other state it goes hard at once.
    """

    name = 'reboot'
    force = True

    def act(self, ctx, server):
        compute = ctx.conn.compute
        kind = self.params.get('type', 'soft_then_hard')
        if kind == 'hard':
            base.call(compute.reboot_server, server, 'HARD')
            return 'hard reboot'
        if server.status != 'ACTIVE':
            if kind == 'soft':
                raise base.ActionError(
                    'server %s is %s and Nova accepts a soft reboot only from '
                    'ACTIVE; use reboot type hard or soft_then_hard'
                    % (server.id, server.status))
            base.call(compute.reboot_server, server, 'HARD')
            return 'hard reboot (a soft one is refused from %s)' % (
                server.status)
        base.call(compute.reboot_server, server, 'SOFT')
        if kind == 'soft':
            return 'soft reboot'
        timeout = float(self.params.get('soft_timeout', 120))
        if self._back(ctx, min(time.monotonic() + timeout, ctx.deadline)):
            return 'soft reboot'
        if ctx.remaining() <= 0:
            raise base.RetryableError(
                'timed out waiting for the soft reboot of %s' % server.id)
        # Nova takes a hard reboot while the soft one still runs.
        base.call(compute.reboot_server, server, 'HARD')
        return 'hard reboot (no ACTIVE within the %gs soft_timeout)' % timeout

    @staticmethod
    def _back(ctx, until):
        """Poll until ``until`` for the soft reboot to finish ACTIVE."""
        while True:
            server = base.call(ctx.conn.compute.get_server, ctx.server.id)
            if server.status == 'ACTIVE' and not server.task_state:
                return True
            if server.status == 'ERROR' and not server.task_state:
                return False   # the soft reboot failed: hard is next
            left = until - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(ctx.poll, left))


class Suspend(_InPlace):
    """Suspend the server to free capacity."""

    name = 'suspend'
    goal_status = 'SUSPENDED'

    def act(self, ctx, server):
        base.call(ctx.conn.compute.suspend_server, server)


class Resume(_InPlace):
    """Resume a suspended server."""

    name = 'resume'

    def act(self, ctx, server):
        compute = ctx.conn.compute
        if server.status == 'SUSPENDED':
            base.call(compute.resume_server, server)
        elif server.status == 'SHUTOFF':
            base.call(compute.start_server, server)


class Noop(base.Action):
    """Do nothing but record the match (dry runs, tests)."""

    name = 'noop'
    needs_fence = False

    def run(self, ctx):
        return 'noop: nothing done'
