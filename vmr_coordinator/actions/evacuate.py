"""``evacuate``: rebuild a server of a fenced host on another host."""

from vmr_coordinator.actions import base
from vmr_coordinator.actions import evidence


#: from this compute microversion Nova detects shared storage itself and
#: refuses ``onSharedStorage``; below it the field is required
SHARED_STORAGE_DETECTED = (2, 14)
#: from this compute microversion an evacuated server ends SHUTOFF
EVACUATE_STOPS = (2, 95)
#: the last microversion at which an evacuated server comes back in the
#: state it had (ACTIVE stays ACTIVE, SHUTOFF stays SHUTOFF)
EVACUATE_KEEPS_STATE = (2, 94)


class Evacuate(evidence.RecordedAction):
    """Nova evacuate, then start the server if Nova left it SHUTOFF.

    Goal: the server is on another host than the failed one and, unless
    ``start_if_shutoff`` is false, ACTIVE.  The fence (and Nova's
    forced_down) come first, from the fencing stage.

    With ``start_if_shutoff`` (the default) and a connection pinned at
    2.95 or later, the evacuate alone is sent at 2.94: Nova then brings an
    ACTIVE server back ACTIVE, with no separate start (at 2.95+ it ends
    SHUTOFF and the start waits for the whole rebuild).  A server that was
    SHUTOFF comes back SHUTOFF and is started as before.  Without
    ``start_if_shutoff`` the pinned microversion is kept: at 2.95+ the
    server stays SHUTOFF.

    ``target_host`` names the destination; ``target_aggregate`` makes VMR
    choose it among the aggregate's enabled, up hosts with room (the result
    says which and why); neither lets Nova's scheduler choose.
    ``on_shared_storage`` is sent only below microversion 2.14, where Nova
    needs it; from 2.14 Nova detects shared storage itself and refuses the
    field, so an explicit value is left out and the result says so.
    """

    name = 'evacuate'
    needs_fence = True

    def heal(self, ctx):
        compute = ctx.conn.compute
        sid = ctx.server.id
        start = self.params.get('start_if_shutoff', True)
        notes = []
        server = base.call(compute.get_server, sid)
        if server.compute_host == ctx.host and not server.task_state:
            # Nova marks instances of a dead host ERROR at times; an
            # evacuate is still what brings them back.
            version = self._evacuate_microversion(compute, start)
            kwargs = self._shared_storage(version, notes)
            target = self.params.get('target_host')
            aggregate = self.params.get('target_aggregate')
            if target:
                kwargs['host'] = target
            elif aggregate:
                kwargs['host'] = self._in_aggregate(ctx, server, aggregate,
                                                    notes)
            base.call(server.evacuate, ComputeAtMicroversion(compute, version),
                      **kwargs)
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
        text = 'evacuated to %s, %s' % (server.compute_host, server.status)
        return '%s (%s)' % (text, '; '.join(notes)) if notes else text

    @staticmethod
    def _evacuate_microversion(compute, start):
        """The microversion to evacuate at, as a tuple (see the class)."""
        version = compute_microversion(compute)
        if start and version >= EVACUATE_STOPS:
            return EVACUATE_KEEPS_STATE
        return version

    def _shared_storage(self, version, notes):
        """The ``on_shared_storage`` argument for ``version``."""
        wanted = self.params.get('on_shared_storage', 'auto')
        if version >= SHARED_STORAGE_DETECTED:
            if wanted != 'auto':
                notes.append('on_shared_storage %s not sent: Nova detects '
                             'shared storage itself at microversion %d.%d'
                             % (str(wanted).lower(), *version))
            return {}
        if wanted == 'auto':
            raise base.ActionError(
                'on_shared_storage: auto needs compute microversion 2.14 or '
                'later (Nova detects shared storage from there) and this '
                'connection uses %d.%d; set on_shared_storage to true or '
                'false in the contract, or raise [cloud] '
                'compute_microversion' % version)
        return {'on_shared_storage': bool(wanted)}

    @staticmethod
    def _in_aggregate(ctx, server, aggregate, notes):
        """The destination inside ``aggregate``, or ActionError saying why
        there is none."""
        from vmr_coordinator import cloud
        from vmr_coordinator import planning
        hosts = base.call(cloud.host_view, ctx.conn)
        dest = planning.choose_in_aggregate(cloud.server_load(server),
                                            aggregate, ctx.host, hosts)
        if dest.host is None:
            raise base.ActionError('target_aggregate: %s' % dest.reason)
        notes.append('target_aggregate %s' % dest.reason)
        return dest.host

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


class ComputeAtMicroversion:
    """``compute`` for one resource action sent at ``version`` instead of
    the pinned microversion.

    openstacksdk takes a resource action's microversion from the session it
    is given (``default_microversion``) and has no per-call argument for
    evacuate; everything else is the proxy's own.
    """

    def __init__(self, compute, version):
        self._compute = compute
        self.default_microversion = '%d.%d' % tuple(version)

    def __getattr__(self, name):
        return getattr(self._compute, name)


def compute_microversion(compute):
    """The compute microversion server actions are sent with, as a tuple.

    openstacksdk sends the pinned one (``[cloud] compute_microversion``),
    else the highest both sides support, else none (2.1).
    """
    from openstack.compute.v2 import server as server_mod
    version = server_mod.Server._get_microversion(compute)
    if not version:
        return (2, 1)
    major, minor = str(version).split('.')
    return (int(major), int(minor))
