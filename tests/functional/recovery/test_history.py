"""Closed recoveries leave the journal for the history: the leader's cycle
reads only what is open or recent, a re-sent alert still finds the recovery
it opened, and the history stays within [journal]'s bounds."""

import time

from vmr_coordinator import journal as journal_mod
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.journal import RecoveryState

ALERT = {'type': 'alarm', 'source': 'alertmanager', 'name': 'AppHung',
         'id': 'fp-shop-1', 'starts_at': '2026-12-06T07:00:00Z',
         'servers': ['shop-1']}


def _snap(recovery):
    return snapshot_mod.take(recovery.store, recovery.conf.heartbeat.group)


def _record(recovery, rid, state, updated_at, host=None, **fields):
    rec = journal_mod.new_record(rid, host, {'type': 'host_down'},
                                 updated_at)
    rec.update(state=state, updated_at=updated_at, **fields)
    recovery.store.put(recovery.store.keys.recovery(rid), rec)
    return rec


def _names(store, prefix):
    kvs, _ = store.get_prefix(prefix)
    return sorted(kv.key[len(prefix):] for kv in kvs)


def test_closed_records_move_to_the_history_when_nothing_needs_them(
        recovery):
    store, keys = recovery.store, recovery.store.keys
    now = time.time()
    old = now - 2 * 3600
    _record(recovery, 'done-old', RecoveryState.DONE, old)
    _record(recovery, 'failed-old', RecoveryState.FAILED, old)
    _record(recovery, 'done-recent', RecoveryState.DONE, now - 60)
    _record(recovery, 'acting-old', RecoveryState.ACTING, old)
    # the host has not returned: its recovery stays where _returns finds it
    _record(recovery, 'done-host-down', RecoveryState.DONE, old,
            host='compute-1')
    store.put(keys.host('compute-1'), {'state': 'fenced',
                                       'recovery': 'done-host-down'})
    # a drain stays while its host is in maintenance
    _record(recovery, 'drain', RecoveryState.DONE, old, host='compute-2')
    store.put(keys.host('compute-2'), {'state': 'up', 'maintenance': True,
                                       'drain': 'drain'})

    recovery._history(_snap(recovery), now)
    recovery.drain()   # the archive and prune jobs ran

    assert _names(store, keys.history) == ['done-old', 'failed-old']
    assert _names(store, keys.journal) == [
        'acting-old', 'done-host-down', 'done-recent', 'drain']
    archived = store.get(keys.archived('done-old')).json()
    assert archived['state'] == RecoveryState.DONE
    assert archived['archived_at'] >= now
    # The cycle's snapshot no longer holds them.
    assert sorted(_snap(recovery).journal) == [
        'acting-old', 'done-host-down', 'done-recent', 'drain']


def test_the_hold_down_keeps_failed_records_in_the_journal(recovery):
    """archive_after shorter than the Nova poll's hold-down: the hold-down
    wins, it is read from the journal's failed records."""
    recovery.conf.set_override('archive_after', 0, 'journal')
    recovery.conf.set_override('instance_down_hold_down', 600,
                               'coordinator')
    now = time.time()
    _record(recovery, 'failed-5min', RecoveryState.FAILED, now - 300)
    _record(recovery, 'failed-1h', RecoveryState.FAILED, now - 3600)
    recovery._history(_snap(recovery), now)
    recovery.drain()
    assert _names(recovery.store, recovery.store.keys.history) == [
        'failed-1h']


def test_a_resent_alert_finds_its_recovery_in_the_history(recovery):
    store, keys = recovery.store, recovery.store.keys
    store.put(keys.events + 'e1', ALERT)
    recovery._intake(_snap(recovery), time.time())
    (rid,) = _names(store, keys.journal)
    rec = store.get(keys.recovery(rid)).json()
    assert store.get(keys.incident(rec['incident'])).json()[
        'recovery'] == rid

    # It closes and, an hour on, moves to the history.
    rec.update(state=RecoveryState.DONE, updated_at=time.time() - 7200)
    store.put(keys.recovery(rid), rec)
    snap = _snap(recovery)
    recovery._archive_job(journal_mod.archivable(
        snap.journal, {}, time.time(), 3600), snap.journal)
    assert _names(store, keys.journal) == []

    # Alertmanager sends the same alert again (repeat_interval): nothing.
    store.put(keys.events + 'e2', ALERT)
    recovery._intake(_snap(recovery), time.time())
    assert _names(store, keys.journal) == []
    assert _names(store, keys.events) == []     # consumed all the same
    # The alert resolved and fired again: a new incident, a new recovery.
    store.put(keys.events + 'e3', dict(ALERT,
                                       starts_at='2026-12-06T09:00:00Z'))
    recovery._intake(_snap(recovery), time.time())
    assert len(_names(store, keys.journal)) == 1


def test_the_history_is_pruned_by_count_then_by_age(recovery):
    store, keys = recovery.store, recovery.store.keys
    now = time.time()
    closed = [now - 86400 * days for days in (40, 30, 20, 10, 1)]
    for i, at in enumerate(closed):
        digest = 'incident-%d' % i
        store.put(keys.archived('r%d' % i), {
            'id': 'r%d' % i, 'state': 'done', 'updated_at': at,
            'archived_at': at + 3600, 'incident': digest})
        store.put(keys.incident(digest), {'recovery': 'r%d' % i})
    # Count first: the two archived first go.
    assert recovery.journal.prune(now, 3, 0, batch=2) == 2
    assert _names(store, keys.history) == ['r2', 'r3', 'r4']
    assert _names(store, keys.incidents) == [
        'incident-2', 'incident-3', 'incident-4']
    # Age: closed more than 15 days ago.
    assert recovery.journal.prune(now, 0, 15 * 86400) == 1
    assert _names(store, keys.history) == ['r3', 'r4']
    # Nothing beyond the bounds: nothing deleted.
    assert recovery.journal.prune(now, 10, 15 * 86400) == 0
    assert _names(store, keys.history) == ['r3', 'r4']
