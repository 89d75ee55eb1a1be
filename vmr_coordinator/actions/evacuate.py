"""``evacuate``: rebuild a server of a fenced host on another host."""

import datetime
import time

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
#: seconds between two looks for a lost evacuation while waiting
LOST_CHECK_INTERVAL = 5.0
#: seconds before evacuating again a server Nova put in ERROR (no valid
#: host): the other computes report again within a few heartbeats
EVACUATION_FAILED_RETRY = 10.0
#: Nova's 400 to an evacuation while it believes the source compute up
COMPUTE_IN_USE = 'is still in use'
#: seconds before asking again: Nova sees the compute down once it is
#: forced down or its ``service_down_time`` has passed
COMPUTE_IN_USE_RETRY = 5.0


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

    An evacuation Nova accepted but no nova-conductor ever took (its cast
    lost with a restart of nova-api or RabbitMQ) is found while waiting and
    at the next attempt: after ``lost_after`` seconds, with every conductor
    up, the server's state is reset and it is evacuated again (see
    :meth:`_lost_evacuation`); the result says so.

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
        self._lost_checked = 0.0
        self._lost_why = {}     # migration id -> why it is lost
        self._sent = False
        server = base.call(compute.get_server, sid)
        lost = self._lost_evacuation(ctx, compute, server)
        if lost is not None:
            server = self._reset_lost(compute, server, lost, notes)
        elif server.compute_host == ctx.host and \
                server.task_state == 'rebuilding':
            # An evacuation asked before (an earlier attempt of this step,
            # or the leader before a take-over) is under way: it is ours,
            # and if Nova gives up on it that is said as for one sent now
            # (seen on the real tier: the attempt that sent it ended on a
            # 500, the next one waited its whole timeout for a server Nova
            # had put in ERROR on the dead host).
            self._sent = True
        if server.compute_host == ctx.host and not server.task_state:
            # Nova marks instances of a dead host ERROR at times; an
            # evacuate is still what brings them back.
            if server.status == 'ERROR':
                self._earlier_failures(ctx, compute, server, notes)
            self._evacuate(ctx, compute, server, start, notes)
        what = 'server %s to leave %s' % (sid, ctx.host)
        try:
            server = self.wait(ctx, lambda: self._moved(ctx, compute, sid),
                               what)
        except LostEvacuation as exc:
            server = self._reset_lost(compute, exc.server, exc.migration,
                                      notes)
            self._evacuate(ctx, compute, server, start, notes)
            server = self.wait(ctx, lambda: self._moved(ctx, compute, sid,
                                                        check_lost=False),
                               what)
        if server.status == 'ERROR':
            raise base.ActionError('server %s is in ERROR after evacuation '
                                   '(fault: %s)' % (sid, getattr(
                                       server, 'fault', None)))
        if server.status == 'SHUTOFF' and start:
            base.call(compute.start_server, server)
            server = self.wait(
                ctx, lambda: self._status(ctx, compute, sid, 'ACTIVE'),
                'server %s to become ACTIVE' % sid)
        text = 'evacuated to %s, %s' % (server.compute_host, server.status)
        return '%s (%s)' % (text, '; '.join(notes)) if notes else text

    def _evacuate(self, ctx, compute, server, start, notes):
        version = self._evacuate_microversion(compute, start)
        kwargs = self._shared_storage(version, notes)
        target = self.params.get('target_host')
        aggregate = self.params.get('target_aggregate')
        if target:
            kwargs['host'] = target
        elif aggregate:
            kwargs['host'] = self._in_aggregate(ctx, server, aggregate, notes)
        try:
            base.call(server.evacuate,
                      ComputeAtMicroversion(compute, version), **kwargs)
        except base.ActionError as exc:
            if isinstance(exc, base.RetryableError) or \
                    COMPUTE_IN_USE not in str(exc):
                raise
            # The host is verified off (this action needs the fence), but
            # Nova still believes its compute up: the fence's force-down
            # did not reach it (nova-api away longer than the post step's
            # time).  Nova gets it right by itself within service_down_time:
            # the same attempt again, not a failed step.
            raise base.NotNow(
                'Nova still believes nova-compute of %s up (%s); the '
                "fence's force-down has not reached Nova: asking again "
                'until Nova sees it down (forced down, or after its '
                'service_down_time)' % (ctx.host, exc),
                retry_in=COMPUTE_IN_USE_RETRY)
        self._sent = True

    @staticmethod
    def _earlier_failures(ctx, compute, server, notes):
        """Name the evacuations of ``server`` off ``ctx.host`` that Nova
        gave up on (status ``error``, no destination): one may be ours
        whose answer never came (nova-api restarted under the request,
        seen on the real tier), and the step says what happened to it."""
        failed = [m for m in _evacuations(compute, server, ctx.host)
                  if m.status in ('error', 'failed') and not m.dest_compute]
        if failed:
            fault = (getattr(server, 'fault', None) or {}).get('message')
            notes.append('evacuation failed in Nova: migration %s %s%s; '
                         'evacuated again' % (
                             ', '.join(str(m.id) for m in failed),
                             failed[-1].status,
                             ' (%s)' % fault if fault else ''))

    # -- an evacuation Nova accepted and nobody carried out -----------------
    def _lost_evacuation(self, ctx, compute, server):
        """The evacuation migration of ``server`` that is lost, or None.

        nova-api marks the server ``rebuilding`` and writes an ``accepted``
        evacuation migration, then casts to nova-conductor; a restart of
        nova-api or RabbitMQ at that moment loses the cast, and the server
        stays REBUILD on the dead host for ever.  Lost means: the server is
        still on the failed host (fenced before any step runs) with task
        ``rebuilding``; its latest evacuation from there is still
        ``accepted`` with no destination, older than ``lost_after``;
        every nova-conductor is up now -- a conductor that was away takes
        a queued cast as soon as it is back, long before ``lost_after``;
        and no service is on it (:meth:`_fate`): a cast that reached a
        conductor may wait, unconsumed, in a nova-compute's queue, and
        would rebuild the server again once taken -- unless the conductor
        itself failed on it (its event ended in ``Error``) and no compute
        ever started: nova-conductor then leaves the server ``rebuilding``
        for ever, as a lost cast does (seen on the real tier: Keystone
        restarting while the conductor asked Neutron for the ports).
        """
        if server.compute_host != ctx.host or \
                server.task_state != 'rebuilding':
            return None
        migrations = _evacuations(compute, server, ctx.host)
        if not migrations:
            return None
        latest = max(migrations, key=lambda m: int(m.id or 0))
        if latest.status != 'accepted' or latest.dest_compute:
            return None
        if _age(latest.created_at) < int(self.params.get('lost_after', 300)):
            return None
        conductors = base.call(lambda: list(compute.services(
            binary='nova-conductor')))
        if not conductors or any(c.state != 'up' for c in conductors):
            return None
        why = self._fate(compute, server, latest)
        if why is None:
            return None
        self._lost_why[latest.id] = why
        return latest

    @staticmethod
    def _fate(compute, server, migration):
        """Why evacuation ``migration`` is lost, or None while a Nova
        service is (or may be) on it.

        nova-conductor records a ``rebuild_server`` event in the request's
        instance action when it takes the cast, nova-compute its own
        ``compute_rebuild_instance``.  No event: taken by no conductor.
        Every event over, one ended in ``Error`` and none is a compute's:
        the conductor failed on it and cast to no compute.  Anything else
        (an event still running, a conductor that succeeded, any compute
        event) is a service on it.  The action is the server's
        ``evacuate`` action written with the migration (same request, same
        second); when it cannot be found, a service is on it (never
        evacuate twice on a guess)."""
        created = _age(migration.created_at)
        actions = [a for a in base.call(lambda: list(
            compute.server_actions(server))) if a.action == 'evacuate'
            and abs(_age(a.start_time) - created) <= MATCH_SECONDS]
        if not actions:
            return None
        action = max(actions, key=lambda a: str(a.start_time))
        detail = base.call(compute.get_server_action, action.request_id,
                           server)
        if detail is None:
            return None
        events = [e if isinstance(e, dict) else dict(e)
                  for e in detail.events or []]
        if not events:
            return 'taken by no nova-conductor'
        failed = [e['event'] for e in events if e.get('result') == 'Error']
        if failed and all(e.get('finish_time') for e in events) and \
                not any(str(e.get('event')).startswith('compute')
                        for e in events):
            return 'dropped by nova-conductor (%s: Error), sent to no ' \
                   'nova-compute' % ', '.join(failed)
        return None

    def _reset_lost(self, compute, server, migration, notes):
        """Reset a server whose evacuation was lost, so it can be evacuated
        again: to ``active`` (its vm_state during the lost rebuild), or
        ``error`` (the only other state Nova resets to)."""
        state = 'active' if server.vm_state == 'active' else 'error'
        base.call(compute.reset_server_state, server, state)
        notes.append('evacuation %s lost (accepted %.0f s ago, %s): state '
                     'reset to %s, evacuated again'
                     % (migration.id, _age(migration.created_at),
                        self._lost_why.get(migration.id,
                                           'taken by no nova-conductor'),
                        state))
        return base.call(compute.get_server, server.id)

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

    def _moved(self, ctx, compute, sid, check_lost=True):
        server = ctx.read_server(compute, sid)
        if server.compute_host != ctx.host and not server.task_state and \
                server.status in ('ACTIVE', 'SHUTOFF', 'ERROR'):
            return server
        if self._sent and server.compute_host == ctx.host and \
                not server.task_state and server.status == 'ERROR':
            # Nova took our evacuation and gave up: no valid host, most
            # often because the other computes have not reported since
            # RabbitMQ or nova-conductor came back.  The cloud cannot do
            # it now: the same attempt again in a while, as for an API
            # away (spending no retry until the step's timeout), not a
            # wait of the whole timeout for a server that will not move.
            raise base.NotNow('evacuation failed in Nova: %s' % (
                (getattr(server, 'fault', None) or {}).get('message') or
                'the server is in ERROR on %s' % ctx.host),
                retry_in=EVACUATION_FAILED_RETRY)
        if check_lost and time.monotonic() - self._lost_checked >= \
                LOST_CHECK_INTERVAL:
            self._lost_checked = time.monotonic()
            lost = self._lost_evacuation(ctx, compute, server)
            if lost is not None:
                raise LostEvacuation(server, lost)
        return None

    @staticmethod
    def _status(ctx, compute, sid, status):
        server = ctx.read_server(compute, sid)
        if server.status == 'ERROR':
            raise base.ActionError('server %s went to ERROR' % sid)
        return server if server.status == status and \
            not server.task_state else None


class LostEvacuation(Exception):
    """Raised out of a wait: ``migration`` of ``server`` is lost."""

    def __init__(self, server, migration):
        super().__init__('evacuation %s lost' % migration.id)
        self.server, self.migration = server, migration


#: seconds between an evacuation's migration record and its instance
#: action, both written by the one API request
MATCH_SECONDS = 10


def _evacuations(compute, server, host):
    """Nova's evacuation migrations of ``server`` off ``host`` (filtered
    again here: not every Nova applies every query filter)."""
    return [m for m in base.call(lambda: list(compute.migrations(
        server_id=server.id, migration_type='evacuation',
        source_compute=host)))
        if m.server_id == server.id and m.source_compute == host
        and m.migration_type == 'evacuation']


def _age(stamp):
    """Seconds since Nova's UTC timestamp ``stamp`` (0 when unreadable)."""
    try:
        then = datetime.datetime.fromisoformat(str(stamp).rstrip('Z'))
    except ValueError:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=datetime.timezone.utc)
    return time.time() - then.timestamp()


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
