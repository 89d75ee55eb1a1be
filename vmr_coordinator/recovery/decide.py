"""What a recovery record needs next, and what the engine reads from the
journal and the contracts: pure functions, no I/O."""

from vmr_common.models import RecoveryState
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
