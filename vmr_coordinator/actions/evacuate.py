"""``evacuate``: rebuild a server of a fenced host on another host."""

from vmr_coordinator.actions import base
from vmr_coordinator.actions import evidence


class Evacuate(evidence.RecordedAction):
    """Nova evacuate, then start the server if Nova left it SHUTOFF (>= 2.95).

    Goal: the server is on another host than the failed one and, unless
    ``start_if_shutoff`` is false, ACTIVE.  The fence (and Nova's
    forced_down) come first, from the fencing stage.
    """

    name = 'evacuate'
    needs_fence = True

    def heal(self, ctx):
        compute = ctx.conn.compute
        sid = ctx.server.id
        start = self.params.get('start_if_shutoff', True)
        target = self.params.get('target_host')
        server = base.call(compute.get_server, sid)
        if server.compute_host == ctx.host and not server.task_state:
            if server.status == 'ERROR':
                # Nova marks instances of a dead host ERROR at times; an
                # evacuate is still what brings them back.
                pass
            kwargs = {}
            if target:
                kwargs['host'] = target
            base.call(compute.evacuate_server, server, **kwargs)
        server = self.wait(ctx, lambda: self._moved(compute, sid, ctx.host),
                           'server %s to leave %s' % (sid, ctx.host))
        if server.status == 'ERROR':
            raise base.ActionError('server %s is in ERROR after evacuation '
                                   '(fault: %s)' % (sid, getattr(
                                       server, 'fault', None)))
        if server.status == 'SHUTOFF' and start:
            base.call(compute.start_server, server)
            server = self.wait(
                ctx, lambda: self._status(compute, sid, 'ACTIVE'),
                'server %s to become ACTIVE' % sid)
        return 'evacuated to %s, %s' % (server.compute_host, server.status)

    @staticmethod
    def _moved(compute, sid, host):
        server = base.call(compute.get_server, sid)
        if server.compute_host != host and not server.task_state and \
                server.status in ('ACTIVE', 'SHUTOFF', 'ERROR'):
            return server
        return None

    @staticmethod
    def _status(compute, sid, status):
        server = base.call(compute.get_server, sid)
        if server.status == 'ERROR':
            raise base.ActionError('server %s went to ERROR' % sid)
        return server if server.status == status and \
            not server.task_state else None
