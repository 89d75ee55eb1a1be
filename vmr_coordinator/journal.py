"""The recovery journal: one etcd record per recovery (DESIGN §6).

A record moves ``detected → fencing → fenced → acting → done | failed``
(or ``blocked`` when no fence could be proven).  It carries the fencing
evidence, one step per server and a timeline.  Only the leader writes it,
always through a leader-guarded compare-and-swap, so a deposed leader can
never change it and two writers never interleave.

A closed record stays below ``journal/`` for ``[journal] archive_after``
seconds once nothing refers to it any more, then the leader moves it below
``history/`` (:func:`archivable`, :meth:`Journal.archive`): every cycle
reads ``journal/``, so only what is open or recent may live there.  The
history is bounded by count and age (:meth:`Journal.prune`) and purged on
request (:func:`purge_ops`).
"""

import copy
import hashlib
import json
import threading
import time

from vmr_common import exceptions
from vmr_common.models import RecoveryState, StepState  # noqa: F401 (API)
from vmr_common.store import Compare, Op


#: the shape of the records this release writes.  1: ``format`` itself
#: (records without it, written by 0.1.0, have the same shape otherwise).
FORMAT = 1

#: format 2 (``[journal] write_format = 2``): the record keeps
#: ``step_count`` and each step lives in its own key, ``steps/<id>/<index>``
#: (:func:`split`, :func:`assemble`), so a step update writes one small key
#: instead of the whole record.  Readers always see ``steps`` as a list:
#: :func:`read` and the snapshot assemble it.
STEP_KEYS = 2

#: the most keys one journal transaction writes or compares (etcd refuses
#: more than ``--max-txn-ops``, 128 by default); the new steps of a big
#: plan beyond it are written first, in batches, before the record that
#: counts them
MAX_TXN_OPS = 100


def steps_in_keys(record):
    """Whether ``record`` (as stored) keeps its steps in their own keys."""
    fmt = record.get('format')
    return isinstance(fmt, int) and fmt >= STEP_KEYS


def split(record):
    """A format 2 record as stored: ``(the record without its steps, with
    step_count; the list of steps)``."""
    doc = {k: v for k, v in record.items() if k != 'steps'}
    steps = list(record.get('steps') or [])
    doc['step_count'] = len(steps)
    return doc, steps


def assemble(record, steps):
    """The record readers see: a format 2 ``record`` as stored with its
    ``steps`` ({index: step}, from ``steps/<id>/``) put back in order; a
    format 1 record as it is.  A step the record counts but no key holds
    (never written so, but etcd is not ours alone) reads as failed."""
    if not steps_in_keys(record):
        return record
    record = dict(record)
    count = record.get('step_count')
    count = count if isinstance(count, int) and count >= 0 else 0
    record['steps'] = [
        steps[i] if isinstance(steps.get(i), dict) else
        {'state': StepState.FAILED, 'error': 'step %d of %s has no record '
         'below steps/ (deleted by hand?)' % (i, record.get('id'))}
        for i in range(count)]
    return record


def step_index(keys, key):
    """``(recovery id, index)`` of a step key, or None."""
    rid, _, index = keys.name_in(keys.steps, key).rpartition('/')
    return (rid, int(index)) if rid and index.isdigit() else None


def steps_by_recovery(keys, kvs):
    """``{recovery id: ({index: step}, {index: mod_revision})}`` of step
    KeyValues; a step that is not a JSON object is left out."""
    out = {}
    for kv in kvs:
        where = step_index(keys, kv.key)
        if where is None:
            continue
        try:
            step = kv.json()
        except exceptions.CorruptRecord:
            continue
        docs, revs = out.setdefault(where[0], ({}, {}))
        docs[where[1]] = step
        revs[where[1]] = kv.mod_revision
    return out


def read(store, rid, history=False):
    """``(record, mod_revision, {step index: mod_revision})`` of recovery
    ``rid`` as readers see it (steps assembled), read in one transaction;
    None when it is not in the journal (nor, with ``history``, in the
    history: archived records hold their steps)."""
    keys = store.keys
    result = store.txn([], [Op.get(keys.recovery(rid)),
                            Op.get(keys.steps_of(rid), prefix=True)])
    ranges = result.ranges()
    if not ranges[0]:
        if history:
            kv = store.get(keys.archived(rid))
            if kv is not None:
                return kv.json(), kv.mod_revision, {}
        return None
    kv = ranges[0][0]
    record = kv.json()
    steps, revs = steps_by_recovery(keys, ranges[1]).get(rid, ({}, {}))
    return assemble(record, steps), kv.mod_revision, revs


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
        'format': FORMAT,
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
    left alone: there is no one to name as the previous leader.  A record
    without ``format`` (0.1.0's) gets this release's: the shape is the
    same.
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
    migrated = ''
    if record.get('format') is None:
        # 0.1.0's shape is format 1's without the field: resuming says so
        record['format'] = FORMAT
        migrated = '; record migrated to format %d' % FORMAT
    add_event(record, now, 'resumed', 'by %s (leader token %s) from the '
              'journal after %s: %s%s' % (leader, token, previous, progress,
                                          migrated))
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


def incident_digest(incident):
    """The name of the ``incidents/`` key of an alert incident (the tuple a
    trigger's ``incident()`` returns)."""
    text = json.dumps(list(incident), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def referenced(hosts):
    """Recovery ids host records still point at: a host_down recovery until
    its host returned (``recovery``), a drain while the host stays in
    maintenance (``drain``).  ``hosts`` maps names to record dicts."""
    out = set()
    for data in hosts.values():
        for field in ('recovery', 'drain'):
            if isinstance(data.get(field), str):
                out.add(data[field])
    return out


def archivable(journal, hosts, now, linger):
    """``[(id, mod_revision)]`` of the records that may move to the
    history: closed (done or failed), referred to by no host record, and
    unchanged for ``linger`` seconds.  ``journal`` maps ids to ``(record,
    mod_revision)`` as a snapshot holds them."""
    held = referenced(hosts)
    out = []
    for rid, (rec, revision) in sorted(journal.items()):
        if rec.get('state') not in RecoveryState.TERMINAL or rid in held:
            continue
        at = rec.get('updated_at') or rec.get('created_at')
        if not isinstance(at, (int, float)) or now - at < linger:
            continue
        out.append((rid, revision))
    return out


def purge_ops(keys, rid, record):
    """The deletes that forget archived recovery ``rid``: its history key
    and the incident key it holds, if any."""
    ops = [Op.delete(keys.archived(rid))]
    digest = record.get('incident') if isinstance(record, dict) else None
    if isinstance(digest, str) and digest:
        ops.append(Op.delete(keys.incident(digest)))
    return ops


def expired(record, now, max_age):
    """Whether an archived ``record`` closed more than ``max_age`` seconds
    ago (0 = never)."""
    at = record.get('updated_at') or record.get('archived_at') or 0
    return bool(max_age) and isinstance(at, (int, float)) and \
        now - at > max_age


class Journal:
    """Guarded read-modify-write of journal records for the leader."""

    def __init__(self, store, guarded, write_format=FORMAT):
        """``guarded(ops, compare)`` runs a leader-guarded transaction;
        ``write_format`` is ``[journal] write_format``: the format a record
        takes when its first steps are written."""
        self.store = store
        self.guarded = guarded
        self.write_format = write_format
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
        except exceptions.CompareFailed:
            return False
        return True

    def update(self, rid, mutate, attempts=20, extra_ops=()):
        """Apply ``mutate(record)`` with CAS retries; the new record.

        ``mutate`` may return False to skip the write.
        """
        with self._lock_for(rid):
            return self._update(rid, mutate, attempts, extra_ops)

    def read(self, rid):
        """The record as readers see it (:func:`read`), or None."""
        got = read(self.store, rid)
        return got[0] if got is not None else None

    def _update(self, rid, mutate, attempts, extra_ops):
        for _ in range(attempts):
            got = read(self.store, rid)
            if got is None:
                raise exceptions.StoreError('recovery %s vanished' % rid)
            record, revision, step_revisions = got
            before = copy.deepcopy(record)
            if mutate(record) is False or record == before:
                return before
            if self.write_format >= STEP_KEYS and not before.get('steps') \
                    and record.get('steps') and not steps_in_keys(record):
                # its first steps: written in the configured format
                record['format'] = self.write_format
            early, ops, compare = self._writes(rid, before, record, revision,
                                               step_revisions)
            try:
                for batch in early:
                    self.guarded(batch, compare[:1])
                self.guarded(ops + list(extra_ops), compare)
            except exceptions.CompareFailed:
                continue
            return record
        raise exceptions.StoreError('recovery %s: too many concurrent '
                                    'updates' % rid)

    def _writes(self, rid, before, record, revision, step_revisions):
        """``(early batches, ops, compare)`` that store ``record`` (read as
        ``before`` at ``revision``): the whole record in format 1; in
        format 2 the record only when more than its steps changed, and the
        steps that changed.  ``compare[0]`` is the record's revision."""
        key = self.key(rid)
        compare = [Compare.mod_revision(key, revision)]
        if not steps_in_keys(record):
            record['updated_at'] = time.time()
            return [], [Op.put(key, record)], compare
        doc, steps = split(record)
        old_doc, old_steps = split(before)
        ops = []
        if doc != old_doc or not steps_in_keys(before):
            record['updated_at'] = doc['updated_at'] = time.time()
            ops.append(Op.put(key, doc))
        changed, added = [], []
        for i, step in enumerate(steps):
            if i >= len(old_steps):
                added.append(i)
            elif step != old_steps[i]:
                changed.append(i)
        # an update of more steps than one transaction holds (none of
        # the engine's does) writes the excess first, compared with the
        # record's revision only
        overflow = changed[MAX_TXN_OPS - 10:]
        changed = changed[:MAX_TXN_OPS - 10]
        for i in changed:
            step_key = self.store.keys.step(rid, i)
            compare.append(Compare.mod_revision(step_key, step_revisions[i])
                           if i in step_revisions else
                           Compare.absent(step_key))
        ops += [Op.put(self.store.keys.step(rid, i), steps[i])
                for i in changed]
        ops += [Op.delete(self.store.keys.step(rid, i))
                for i in range(len(steps), len(old_steps))]
        room = max(0, MAX_TXN_OPS - max(len(ops), len(compare)))
        # new steps beyond one transaction go first: the record does not
        # count them until its own write, so nobody reads them before
        ops += [Op.put(self.store.keys.step(rid, i), steps[i])
                for i in added[:room]]
        rest = [Op.put(self.store.keys.step(rid, i), steps[i])
                for i in overflow + added[room:]]
        early = [rest[n:n + MAX_TXN_OPS - 10]
                 for n in range(0, len(rest), MAX_TXN_OPS - 10)]
        return early, ops, compare

    def archive(self, rid, record, revision, now):
        """Move closed record ``rid`` (as read at ``revision``) to the
        history in one guarded transaction; False when it changed since
        (it is then looked at again next cycle)."""
        key = self.key(rid)
        with self._lock_for(rid):
            try:
                self.guarded([Op.put(self.store.keys.archived(rid),
                                     dict(record, archived_at=now)),
                              Op.delete(key),
                              Op.delete(self.store.keys.steps_of(rid),
                                        prefix=True)],
                             [Compare.mod_revision(key, revision)])
            except exceptions.CompareFailed:
                return False
        with self._locks_lock:
            self._locks.pop(rid, None)
        return True

    def prune(self, now, max_count, max_age, batch=50):
        """Delete the oldest archived records beyond ``max_count`` (0 = no
        limit) and those closed more than ``max_age`` seconds ago (0 = no
        limit); how many were deleted.

        The history is read oldest-archived first, a batch at a time, and
        the pass stops at the first record it keeps: a record archived
        later closed later.
        """
        history = self.store.keys.history
        excess = self.store.count(history) - max_count if max_count else 0
        deleted = 0
        while True:
            kvs = self.store.get_created(history, batch)
            ops, kept = [], False
            for kv in kvs:
                try:
                    record = kv.json()
                except exceptions.CorruptRecord:
                    record = {}
                if excess <= 0 and not expired(record, now, max_age):
                    kept = True
                    break
                excess -= 1
                deleted += 1
                ops.extend(purge_ops(self.store.keys,
                                     kv.key[len(history):], record))
            if ops:
                self.guarded(ops)
            if kept or len(kvs) < batch:
                return deleted

    def release_lock(self, host, rid):
        lock = self.store.keys.host_lock(host)
        try:
            self.guarded([Op.delete(lock)], [Compare.value(lock, rid)])
        except exceptions.CompareFailed:
            pass
