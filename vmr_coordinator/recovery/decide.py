"""What a recovery record needs next, and what the engine reads from the
journal and the contracts: pure functions, no I/O."""

from vmr_common.models import RecoveryState
from vmr_coordinator.triggers.base import trigger_class


def next_job(rec, now):
    """What a journal record needs next (pure): ``'fence'``, ``'retry
    fence'`` (a blocked fence whose back-off is over), ``'plan'``, ``'act'``
    or None.

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
        if now >= rec.get('fencing', {}).get('next_retry_at', 0):
            return 'retry fence'
        return None
    if state == RecoveryState.FENCED:
        return 'plan'
    if state == RecoveryState.ACTING:
        return 'act'
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
