"""The recovery journal: one etcd record per recovery (DESIGN §6).

A record moves ``detected → fencing → fenced → acting → done | failed``
(or ``blocked`` when no fence could be proven).  It carries the fencing
evidence, one step per server and a timeline.  Only the leader writes it,
always through a leader-guarded compare-and-swap, so a deposed leader can
never change it and two writers never interleave.
"""

import copy
import threading
import time

from vmr_common import exceptions
from vmr_common.models import RecoveryState, StepState  # noqa: F401 (API)
from vmr_common.store import Compare, Op


def recovery_id(host, boot_id, now):
    """A readable, unique id: host, boot incarnation and time."""
    return '%s-%s-%s' % (host, (boot_id or 'unknown')[:8],
                         time.strftime('%Y%m%dT%H%M%S', time.gmtime(now)))


def event_recovery_id(event, now):
    """A readable, unique id for a recovery opened by an event (alarm,
    manual request, maintenance, instance or process down): type, subject,
    time and a random suffix."""
    import uuid
    subject = event.get('host') or event.get('server_id') or \
        (event.get('servers') or [None])[0] or event.get('name') or 'event'
    return '%s-%s-%s-%s' % (event['type'], subject, time.strftime(
        '%Y%m%dT%H%M%S', time.gmtime(now)), uuid.uuid4().hex[:4])


def new_record(rid, host, trigger, now, boot_id=None, leader=None,
               token=None):
    """A fresh record; ``leader``/``token`` name the leader that opens it
    (a later leader with another token signs it when it resumes it)."""
    return {
        'id': rid,
        'host': host,
        'boot_id': boot_id,
        'trigger': dict(trigger),
        'state': RecoveryState.DETECTED,
        'created_at': now,
        'updated_at': now,
        'fencing': {},
        'steps': [],
        'skipped': [],
        'timeline': [{'at': now, 'event': 'detected',
                      'detail': trigger.get('reason', '')}],
        'leader': leader,
        'leader_token': token,
    }


def take_over(record, now, leader, token):
    """Sign ``record`` for a leader of a new term and say so in the
    timeline; False when it is already this term's (nothing to write).

    Records without a leader (written before leaders signed them) are
    left alone: there is no one to name as the previous leader.
    """
    before, before_token = record.get('leader'), record.get('leader_token')
    if before is None or (before, before_token) == (leader, token):
        return False
    steps = record.get('steps') or []
    finished = sum(1 for s in steps if s.get('state') in StepState.TERMINAL)
    if steps:
        progress = '%d of %d steps finished, %d to go' % (
            finished, len(steps), len(steps) - finished)
    else:
        progress = 'at state %s' % record.get('state')
    previous = before if before != leader else '%s (an earlier term)' % before
    add_event(record, now, 'resumed', 'by %s (leader token %s) from the '
              'journal after %s: %s' % (leader, token, previous, progress))
    record['leader'] = leader
    record['leader_token'] = token
    return True


def add_event(record, now, event, detail=''):
    # Timelines print "event detail": a detail that starts with the event's
    # own word ("fenced compute-2 via ipmi") would read "fenced fenced".
    if isinstance(detail, str) and detail.startswith(event + ' '):
        detail = detail[len(event) + 1:]
    record.setdefault('timeline', []).append(
        {'at': now, 'event': event, 'detail': detail})
    record['updated_at'] = now


class Journal:
    """Guarded read-modify-write of journal records for the leader."""

    def __init__(self, store, guarded):
        """``guarded(ops, compare)`` runs a leader-guarded transaction."""
        self.store = store
        self.guarded = guarded
        self._locks = {}
        self._locks_lock = threading.Lock()

    def _lock_for(self, rid):
        # The engine's workers all update the same record: serialising them
        # here keeps compare-and-swap for what it is for (another process),
        # instead of making the workers collide with each other.
        with self._locks_lock:
            return self._locks.setdefault(rid, threading.Lock())

    def key(self, rid):
        return self.store.keys.recovery(rid)

    def create(self, record, host_key=None, host_revision=None,
               host_fields=None, host_data=None):
        """Create the record, take the host lock and update the host record,
        all in one guarded transaction; False if the lock was taken."""
        rid = record['id']
        lock = self.store.keys.host_lock(record['host'])
        compare = [Compare.absent(self.key(rid)), Compare.absent(lock)]
        ops = [Op.put(self.key(rid), record), Op.put(lock, rid)]
        if host_key is not None:
            compare.append(Compare.mod_revision(host_key, host_revision))
            data = dict(host_data)
            data.update(host_fields)
            ops.append(Op.put(host_key, data))
        try:
            self.guarded(ops, compare)
        except exceptions.LeadershipLost:
            raise
        except exceptions.StoreError:
            return False
        return True

    def update(self, rid, mutate, attempts=20, extra_ops=()):
        """Apply ``mutate(record)`` with CAS retries; the new record.

        ``mutate`` may return False to skip the write.
        """
        with self._lock_for(rid):
            return self._update(rid, mutate, attempts, extra_ops)

    def _update(self, rid, mutate, attempts, extra_ops):
        key = self.key(rid)
        for _ in range(attempts):
            kv = self.store.get(key)
            if kv is None:
                raise exceptions.StoreError('recovery %s vanished' % rid)
            record = kv.json()
            before = copy.deepcopy(record)
            if mutate(record) is False or record == before:
                return record
            record['updated_at'] = time.time()
            try:
                self.guarded([Op.put(key, record)] + list(extra_ops),
                             [Compare.mod_revision(key, kv.mod_revision)])
                return record
            except exceptions.LeadershipLost:
                raise
            except exceptions.StoreError:
                continue   # someone else updated the record: retry
        raise exceptions.StoreError('recovery %s: too many concurrent '
                                    'updates' % rid)

    def release_lock(self, host, rid):
        lock = self.store.keys.host_lock(host)
        try:
            self.guarded([Op.delete(lock)], [Compare.value(lock, rid)])
        except exceptions.LeadershipLost:
            raise
        except exceptions.StoreError:
            pass
