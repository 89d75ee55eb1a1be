"""What the recovery engine does next, and what it reads from the journal
and the contracts: pure functions, no I/O.

:func:`intents` is the engine's whole decision for one cycle: from a
snapshot (host records, live agents, open journal records) and the time,
the list of :class:`Intent` the executor (``engine.Recovery.stage``)
carries out.  :func:`step_intents` is the part for one acting record,
also used when a contract's slot frees.
"""

import collections

from vmr_common.models import HostState, RecoveryState, StepState
from vmr_coordinator.triggers.base import trigger_class


#: the longest back-off of a step's retry (seconds): a retry is never
#: further away than this when it is written
STEP_BACKOFF_MAX = 30.0


#: seconds between two tries of a step whose API is away (connection
#: refused, 502/503/504): a restarting service is back within seconds
SERVICE_AWAY_RETRY = 2.0


def within(since, now, limit):
    """Whether less than ``limit`` seconds passed from the wall time
    ``since`` to ``now``.  A clock stepped back past ``since`` counts as
    time passed, no less than the limit: a step back never stretches a
    wait (see :func:`due`)."""
    return since <= now < since + limit


def due(at, now, longest):
    """Whether a wait until the wall time ``at`` is over at ``now``.

    ``at`` was written as ``then + back-off`` with a back-off of at most
    ``longest`` seconds; a wait still longer than that means the wall clock
    stepped back since (NTP, a VM resumed): it is over too, so a clock
    stepped back an hour never holds a retry for an hour.  A clock
    stepped forward can only make a retry early.
    """
    return now >= at or at - now > longest


#: one thing the engine is to do: ``kind`` (see :func:`intents`), the
#: recovery id and host it concerns (None where none), and ``step``: the
#: index of a step to run (``'step'`` only)
Intent = collections.namedtuple('Intent', 'kind rid host step')
Intent.__new__.__defaults__ = (None, None, None)


def intents(snap, now, me, token, fence_backoff_max=float('inf')):
    """The engine's decision for one cycle, in the order to carry it out.

    ``snap`` is the cycle's snapshot, ``me``/``token`` this leader's member
    id and leadership token.  Kinds:

    * ``open``: a host detection declared failed has no recovery yet;
    * ``take over``: an open record another leader (or term) drove is
      signed before anything else is done to it;
    * ``fence`` / ``retry fence``: a detected record, or a blocked one
      whose back-off is over (:func:`next_job`) -- never the retry of a
      host whose agent is live again: the host runs, and a fence through a
      BMC reachable again would only power off a healthy host;
    * ``plan``: a fenced record; then the record's steps
      (:func:`step_intents`): ``step`` for each one due, highest priority
      first, or ``finish`` once all are over;
    * ``unblock``: a host blocked before any fence was proven whose agent
      is back: its record closes, nothing was restarted elsewhere;
    * ``return``: a recovered host back with a new boot id (the same boot
      id is the same incarnation: not trusted).
    """
    out = []
    open_hosts = {rec.get('host') for rec, _ in snap.journal.values()
                  if rec.get('state') in RecoveryState.OPEN}
    for name, record in sorted(snap.hosts.items()):
        if record.state == HostState.FAILED and \
                not record.data.get('recovery') and name not in open_hosts:
            out.append(Intent('open', host=name))
    for rid, (rec, _rev) in sorted(snap.journal.items()):
        host = rec.get('host')
        if rec.get('state') in RecoveryState.OPEN and \
                rec.get('leader') is not None and \
                (rec.get('leader'), rec.get('leader_token')) != (me, token):
            out.append(Intent('take over', rid, host))
        job = next_job(rec, now, fence_backoff_max)
        if job == 'retry fence' and host in snap.members:
            job = None
        if job == 'act':
            out.extend(step_intents(rid, rec, now))
        elif job is not None:
            out.append(Intent(job, rid, host))
    for name, record in sorted(snap.hosts.items()):
        if name not in snap.members:
            continue
        if record.state == HostState.BLOCKED:
            out.append(Intent('unblock', record.data.get('recovery'), name))
        elif record.state == HostState.RECOVERED:
            boot_id = snap.members[name].capabilities.get('boot_id')
            if not boot_id or boot_id != record.data.get('failed_boot_id'):
                out.append(Intent('return', record.data.get('recovery'),
                                  name))
    return out


def step_intents(rid, rec, now):
    """What an acting record needs: ``finish`` once every step is over,
    else a ``step`` intent for each pending or running step not waiting
    out a back-off (:func:`due`), highest priority first, then in plan
    order.  Which of them run now is the executor's (slots, jobs already
    running)."""
    steps = rec.get('steps') or []
    if all(s.get('state') in StepState.TERMINAL for s in steps):
        return [Intent('finish', rid, rec.get('host'))]
    order = sorted(range(len(steps)),
                   key=lambda i: (-steps[i].get('priority', 0), i))
    return [Intent('step', rid, rec.get('host'), i) for i in order
            if steps[i].get('state') in (StepState.PENDING,
                                         StepState.RUNNING)
            and due(steps[i].get('retry_at') or 0, now, STEP_BACKOFF_MAX)]


def next_job(rec, now, fence_backoff_max=float('inf')):
    """What a journal record needs next (pure): ``'fence'``, ``'retry
    fence'`` (a blocked fence whose back-off is over, see :func:`due`;
    ``fence_backoff_max`` is ``[fencing] blocked_retry_max``), ``'plan'``,
    ``'act'`` or None.

    A detected record is fenced first when its trigger declares
    ``needs_fence`` (its host is dead); otherwise its contracts are matched
    at once, and actions that need a fence refuse on their own.
    """
    state = rec.get('state')
    if state == RecoveryState.DETECTED and not trigger_of(rec).needs_fence:
        return 'plan'
    if state in (RecoveryState.DETECTED, RecoveryState.FENCING):
        return 'fence'
    if state == RecoveryState.BLOCKED:
        if due(rec.get('fencing', {}).get('next_retry_at', 0), now,
               fence_backoff_max):
            return 'retry fence'
        return None
    if state == RecoveryState.FENCED:
        return 'plan'
    if state == RecoveryState.ACTING:
        return 'act'
    return None


def hand_over_to(tried, live, me, after):
    """Whom a leader whose fence just failed hands leadership to, or None.

    ``tried`` maps each coordinator that ran this record's fence ladder to
    how many times it failed (``me`` included, this failure counted);
    ``live`` names the live coordinators (``coordinators/``); ``after`` is
    ``[fencing] handover_after`` (0: never).  Once ``me`` failed ``after``
    times, the first live coordinator that has not tried gets it: a BMC
    network that reaches another controller is worth a leader change.
    Each tries in turn; when every live one has, nobody gets it.
    """
    if after <= 0 or tried.get(me, 0) < after:
        return None
    for name in sorted(live):
        if name != me and name not in tried:
            return name
    return None


def polled_statuses(contract_docs):
    """The Nova statuses the enabled contracts whose trigger is fed by the
    Nova poll accept, in a stable order: the statuses the poll must ask
    Nova for."""
    wanted = set()
    for doc in contract_docs:
        spec = (doc or {}).get('trigger') or {}
        trigger = trigger_class(spec.get('type'))
        if 'nova-poll' in trigger.sources and \
                doc.get('enabled', True) is not False:
            wanted.update(trigger().polled_statuses(spec))
    order = ('ERROR', 'SHUTOFF', 'SUSPENDED', 'PAUSED')
    return tuple(s for s in order if s in wanted) + tuple(
        sorted(wanted - set(order)))


def held_down(journal, now, hold):
    """``{server id: until}`` of servers whose latest recovery of a
    trigger the Nova poll feeds (instance_down) failed less than ``hold``
    seconds ago."""
    latest = {}
    for rec, _rev in journal.values():
        sid = (rec.get('trigger') or {}).get('server_id')
        if 'nova-poll' not in trigger_of(rec).sources or not sid:
            continue
        at = rec.get('updated_at') or rec.get('created_at') or 0
        if sid not in latest or at >= latest[sid][0]:
            latest[sid] = (at, rec.get('state'))
    return {sid: at + hold for sid, (at, state) in latest.items()
            if state == RecoveryState.FAILED and now < at + hold}


def trigger_of(rec):
    """The trigger class of a journal record, to read what it declares."""
    return trigger_class((rec.get('trigger') or {}).get('type'))


def standby_keys(contracts, record=None):
    """``(pair key, role key)`` of every ``fip_failover`` that may have made
    a standby: the rungs of ``record``'s steps (what this recovery ran) and
    of ``contracts`` (parsed), in that order, without repeats."""
    keys = []

    def add(params):
        pair = (params.get('pair_metadata_key', 'vmr_pair'),
                params.get('role_key', 'vmr_role'))
        if pair not in keys:
            keys.append(pair)
    for step in (record or {}).get('steps') or []:
        rungs = [{'type': step.get('action'), 'params': step.get('params')}]
        for rung in rungs + list(step.get('on_failure') or []):
            if rung.get('type') == 'fip_failover':
                add(rung.get('params') or {})
    for contract in contracts:
        for spec in (contract.action,) + tuple(contract.on_failure):
            if spec.type == 'fip_failover':
                add(spec.params)
    return keys
