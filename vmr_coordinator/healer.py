"""The healer loop: one snapshot, one decision, fenced writes, one sentence.

``Healer.run_cycle()`` is the whole coordinator in one call (Patroni's
``run_cycle``): it keeps or seeks leadership, reads one snapshot, runs the
pure detection, writes the outcome with leader-guarded transactions and
returns a plain sentence of what it did.  The service logs that sentence
whenever it changes; tests assert on it.

Stages beyond detection (fencing, recovery) plug in through
:attr:`Healer.stages`: callables ``stage(healer, snapshot, now) -> str``
run only by the leader, only when not paused.
"""

import concurrent.futures
import logging
import time

from vmr_common.reach import probes as probe_mod
from vmr_common.reach import watch as watch_mod
from vmr_common import exceptions
from vmr_common.models import HostState
from vmr_common.store import Compare, Op
from vmr_coordinator import detection
from vmr_coordinator import election as election_mod
from vmr_coordinator import snapshot as snapshot_mod

LOG = logging.getLogger(__name__)

#: host updates (or probe requests) per etcd transaction; etcd refuses
#: transactions of more than 128 operations by default (--max-txn-ops)
WRITE_BATCH = 50


class Healer:
    """Leader election + detection (+ later stages) for one coordinator."""

    def __init__(self, conf, store, member, clock=time.time,
                 monotonic=time.monotonic, observe=None):
        self.conf = conf
        self.store = store
        self.member = member
        self.clock = clock
        self.monotonic = monotonic
        #: ages of the wall times in host records, on our monotonic clock
        self.ages = detection.Ages()
        self.group = conf.heartbeat.group
        self.policy = detection.Policy.from_conf(conf)
        self.election = election_mod.Election(
            store, member, conf.coordinator.leader_ttl,
            conf.coordinator.leader_margin, clock=monotonic)
        self.stages = []
        #: ``observe(kind, seconds)`` for metrics (None: none kept)
        self.observe = observe
        self.last_snapshot = None
        self.last_detection = None
        #: seconds until the last cycle's first grace ends (None: no
        #: suspect waits on time): the loop runs again then
        self.wake_in = None
        self.cycles = 0
        self.cycle_seconds = 0.0
        self._probe_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix='vmr-probe')
        self._probes_started = set()
        #: the leader's ReachabilityWatch of every monitored host
        self.reach = None
        self._watched = None
        # host records and members decoded by the previous cycle
        self._snapshot_cache = snapshot_mod.SnapshotCache()
        # coordinators/<member>: its lease and when it was last kept alive
        self._presence = None
        self._presence_at = 0.0

    # -- the cycle --------------------------------------------------------
    def run_cycle(self):
        """Do one cycle; return a sentence saying what happened."""
        started = time.monotonic()
        try:
            return self._cycle()
        except exceptions.LeadershipLost as exc:
            self.election.step_down(str(exc))
            return 'stepped down: %s' % exc
        except exceptions.StoreUnavailable as exc:
            return 'etcd unavailable, not acting: %s' % exc
        except exceptions.StoreError as exc:
            return 'etcd error, not acting this cycle: %s' % exc
        finally:
            self.cycles += 1
            self.cycle_seconds = time.monotonic() - started

    def _cycle(self):
        self.wake_in = None
        self._keep_present()
        leader = self.election.step()
        # The election's timer may step us down while this cycle runs (its
        # guarded writes then fail): read the term's token once.
        token = self.election.token
        if not leader:
            self.last_snapshot = None
            self._stop_watch()
            holder = self.election.leader_seen
            return ('standby: %s is the leader' % holder if holder
                    else 'standby: no leader yet')
        snap = snapshot_mod.take(self.store, self.group,
                                 self._snapshot_cache)
        now = self.clock()
        self.last_snapshot = snap
        if token is None or snap.leader is None or \
                snap.leader.value != self.member or \
                snap.leader.create_revision != token:
            raise exceptions.LeadershipLost(
                'the leader key no longer names me with my token')
        if snap.paused is not None:
            return ('paused by %s: observing only, %d hosts, %d live'
                    % (snap.paused.get('by', 'an operator'),
                       len(snap.hosts), len(snap.members)))
        self._watch(snap)
        mono = self.monotonic()
        det = detection.detect(snap, now, self.policy, self.member,
                               age=self.ages.bind(mono))
        self.last_detection = det
        self.wake_in = det.wake_in
        self._write_probe_requests(det.probes)
        written = self._write_transitions(det.transitions)
        for t in det.transitions:
            for field in ('suspect_since', 'probed_at'):
                if t.fields.get(field) is not None:
                    self.ages.wrote(t.host, field, t.fields[field], mono)
            if t.fields.get('flaps'):
                flap = t.fields['flaps'][-1]
                self.ages.wrote(t.host, 'flap@%r' % (flap,), flap, mono)
        if det.brake_changed:
            self._write_brake(det.brake, now)
        extra = []
        for stage in self.stages:
            sentence = stage(self, snap, now)
            if sentence:
                extra.append(sentence)
        self._run_own_probes(snap)
        text = det.sentence()
        if written < len(det.transitions):
            text += ' (%d of %d writes deferred: records changed meanwhile)' \
                % (len(det.transitions) - written, len(det.transitions))
        parts = [p for p in [text] + extra if p]
        if parts:
            return '; '.join(parts)
        up = sum(1 for r in snap.hosts.values()
                 if r.state == detection.HostState.UP)
        return ('no action: I am the leader (token %d); %d hosts, %d up, %d '
                'agents live' % (token, len(snap.hosts), up,
                                 len(snap.members)))

    # -- writes (all leader-guarded) --------------------------------------
    def guarded(self, ops, compare=()):
        """Run ``ops`` only if we still lead (and ``compare`` holds)."""
        guard = self.election.guard
        election = self.election
        if guard is not None and \
                election.clock() - election.last_refresh >= election.ttl / 3:
            # A long cycle (thousands of writes, a starved CPU) must not
            # outlive the term it started in: refresh the lease now, within
            # the same term, instead of stepping down at the deadline
            # (bench_scale saw leaders step down in mass failures).
            election.step()
            if election.token != guard.token:
                raise exceptions.LeadershipLost('my term ended during the '
                                                'cycle')
        if guard is None or not self.election.is_leader():
            raise exceptions.LeadershipLost('not the leader any more')
        return self.store.guarded(guard, ops, compare)

    def _merged(self, name, fields):
        """``(key, new record)`` of ``hosts/<name>`` with ``fields`` merged,
        or None when the host is not in the last snapshot or the move is
        refused (:meth:`stamped`)."""
        record = self.last_snapshot.hosts.get(name) if self.last_snapshot \
            else None
        if record is None:
            return None
        data = self.stamped(record.data, fields)
        return None if data is None else (self.store.keys.host(name), data)

    def stamped(self, data, fields):
        """A copy of the host record ``data`` with ``fields`` merged (None
        removes a field), signed with this leader's name and token: lets
        anyone audit that writes never go back to an older term.  None (and
        an ERROR) when ``fields`` move the host's state outside
        :attr:`HostState.TRANSITIONS`: the one place every leader write of
        a host record passes."""
        new_state = fields.get('state')
        if new_state is not None and \
                not HostState.allowed(data.get('state'), new_state):
            LOG.error('host %s: refusing to move it from %s to %s: not a '
                      'move of the host state machine (HostState.'
                      'TRANSITIONS); nothing written -- a bug, please '
                      'report it with this line', data.get('host', '?'),
                      data.get('state'), new_state)
            return None
        data = dict(data)
        fields = dict(fields, updated_by=self.member,
                      token=self.election.token)
        for key, value in fields.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return data

    def update_host(self, name, revision, fields):
        """Merge ``fields`` into ``hosts/<name>`` if it is still at
        ``revision``; True when written."""
        merged = self._merged(name, fields)
        if merged is None:
            return False
        key, data = merged
        try:
            result = self.guarded([Op.put(key, data)],
                                  [Compare.mod_revision(key, revision)])
        except exceptions.CompareFailed:
            return False  # the agent updated its part; retry next cycle
        self._written(name, data, result)
        return True

    def _written(self, name, data, result):
        """The snapshot's record of ``name`` as just written: the stages of
        this same cycle see the new state *and* its revision, so the
        recovery stage opens a record for a host failed this cycle instead
        of losing its conditional write and waiting a cycle."""
        record = self.last_snapshot.hosts[name]
        record.data = data
        if getattr(result, 'revision', 0):
            record.mod_revision = result.revision

    def _write_batch(self, transitions):
        """Write ``transitions`` in one guarded transaction; the ones
        written, or None when a record changed meanwhile (the caller then
        writes them one by one)."""
        ops, compares, done = [], [], []
        for t in transitions:
            merged = self._merged(t.host, t.fields)
            if merged is None:
                continue
            key, data = merged
            ops.append(Op.put(key, data))
            compares.append(Compare.mod_revision(key, t.revision))
            done.append((t, data))
        if not ops:
            return []
        try:
            result = self.guarded(ops, compares)
        except exceptions.CompareFailed:
            return None
        for t, data in done:
            self._written(t.host, data, result)
        return [t for t, _ in done]

    def _write_transitions(self, transitions):
        # One transaction per WRITE_BATCH transitions instead of one each: a
        # mass failure of 500 hosts took 500 round trips, the cycle outlived
        # the leader's term and the leader stepped down (bench_scale).
        written = 0
        for i in range(0, len(transitions), WRITE_BATCH):
            chunk = transitions[i:i + WRITE_BATCH]
            done = self._write_batch(chunk) if len(chunk) > 1 else None
            if done is None:
                done = [t for t in chunk
                        if self.update_host(t.host, t.revision, t.fields)]
            written += len(done)
            for t in done:
                if t.state == detection.HostState.FAILED and self.observe:
                    record = self.last_snapshot.hosts.get(t.host)
                    since = record.data.get('suspect_since') if record \
                        else None
                    if since:
                        # from leaving the group to declared failed
                        self.observe('detection', max(0.0, self.clock() -
                                                      since))
                if t.old != t.state:
                    log = LOG.warning if t.state in (
                        detection.HostState.FAILED,
                        detection.HostState.PARTITIONED) else LOG.info
                    log('host %s: %s -> %s: %s', t.host, t.old, t.state,
                        t.reason)
        return written

    def _write_probe_requests(self, requests):
        if not requests:
            return
        # One lease and one transaction per WRITE_BATCH requests: they all
        # expire together anyway.  The leader's own answer goes into the
        # same transaction when its watch knows it already.
        lease = self.store.grant(2 * self.policy.probe_timeout + 10)
        for i in range(0, len(requests), WRITE_BATCH):
            ops = []
            for req in requests[i:i + WRITE_BATCH]:
                ops.append(Op.put(self.store.keys.probe_request(
                    req.target, req.request_id), req.body, lease))
                if self.member not in req.body.get('probers', []):
                    continue
                result = self._own_verdict(req.target, req.body)
                if result is not None:
                    ops.append(self._answer_op(req.target, req.request_id,
                                               result, lease))
                    self._probes_started.add((req.target, req.request_id))
            self.guarded(ops)

    def _write_brake(self, brake, now):
        key = self.store.keys.brake
        if brake:
            for zone, entry in brake.items():
                LOG.critical('ALARM: disruption brake engaged in zone %s: %s',
                             zone, entry['reason'])
            self.guarded([Op.put(key, {'zones': brake, 'since': now})])
        else:
            LOG.warning('disruption brake released')
            self.guarded([Op.delete(key)])

    # -- the coordinator's own probes -------------------------------------
    def _watch(self, snap):
        """Keep probing every monitored host (leader only)."""
        interval = self.conf.coordinator.watch_interval
        if interval <= 0:
            return
        if self.reach is None:
            self.reach = watch_mod.ReachabilityWatch(
                interval, retain=max(30.0, 3 * self.policy.ttl),
                name='vmr-leader-reachability')
            self.reach.start()
            self._watched = None
        # Host records change rarely: rebuild the target list only then.
        signature = (len(snap.hosts),
                     sum(r.mod_revision for r in snap.hosts.values()))
        if signature == self._watched:
            return
        self._watched = signature
        watched = (detection.HostState.UP, detection.HostState.SUSPECT,
                   detection.HostState.PARTITIONED)
        self.reach.set_targets({
            name: (record.agent['addresses'],
                   record.agent.get('probe_port', 4747))
            for name, record in snap.hosts.items()
            if record.state in watched and
            isinstance(record.agent.get('addresses'), dict) and
            record.agent['addresses']})

    def _stop_watch(self):
        if self.reach is not None:
            self.reach.stop()
            self.reach = None

    def _own_verdict(self, target, request, wait=False):
        """This member's ``{network: reachable}`` about ``target``."""
        return probe_mod.verdict(self.reach, target, request, wait)

    def _answer_op(self, target, req_id, result, lease):
        """The put of this member's answer from its watch."""
        return Op.put(self.store.keys.probe_answer(target, req_id,
                                                   self.member),
                      probe_mod.answer(self.member, result, 'watch',
                                       self.clock()), lease)

    def _run_own_probes(self, snap):
        """Answer every open request that names this member: at once from
        the watch when it knows, otherwise from a probe in the pool."""
        ops = []
        for (target, req_id), entry in snap.probes.items():
            request = entry['request']
            if request is None or self.member not in request.get(
                    'probers', []):
                continue
            if (target, req_id) in self._probes_started or \
                    self.member in entry['answers']:
                continue
            self._probes_started.add((target, req_id))
            result = self._own_verdict(target, request)
            if result is not None and entry.get('lease'):
                ops.append(self._answer_op(target, req_id, result,
                                           entry['lease']))
            else:
                self._probe_pool.submit(self._probe, target, req_id, request)
        if ops:
            try:
                self.store.txn([], ops)
            except exceptions.StoreError as exc:
                LOG.debug('own probe answers: %s', exc)
        live = set(snap.probes)
        self._probes_started &= live

    def _probe(self, target, req_id, request):
        try:
            result = self._own_verdict(target, request, wait=True)
            kv = self.store.get(self.store.keys.probe_request(target, req_id))
            if kv is None:
                return
            self.store.put(
                self.store.keys.probe_answer(target, req_id, self.member),
                probe_mod.answer(self.member, result, 'probe', self.clock()),
                lease=kv.lease or None)
        except exceptions.StoreError as exc:
            LOG.debug('own probe of %s: %s', target, exc)

    # -- presence and hand-over -------------------------------------------
    def _keep_present(self):
        """Keep ``coordinators/<member>`` alive on a lease of the leader
        TTL, refreshed every third of it: the live coordinators, standbys
        included, that a leader may hand a fence it cannot reach to."""
        now = self.monotonic()
        ttl = self.election.ttl
        if self._presence is not None:
            if now - self._presence_at < ttl / 3:
                return
            if self.store.keepalive(self._presence) > 0:
                self._presence_at = now
                return
        lease = self.store.grant(ttl)
        self.store.put(self.store.keys.coordinator(self.member),
                       {'member': self.member, 'since': self.clock()},
                       lease=lease)
        self._presence, self._presence_at = lease, now

    def hand_over(self, to, reason):
        """Give leadership up so that ``to`` (a live standby) takes it;
        this coordinator does not campaign again for two leader TTLs
        unless nobody took it."""
        LOG.warning('election: %s hands leadership over to %s: %s',
                    self.member, to, reason)
        self.election.resign(hold=2 * self.election.ttl)

    def close(self, resign=True):
        self._probe_pool.shutdown(wait=False, cancel_futures=True)
        self._stop_watch()
        if resign:
            self.election.resign()
        if self._presence is not None:
            try:
                self.store.revoke(self._presence)
            except exceptions.StoreError as exc:
                LOG.debug('presence lease not revoked: %s', exc)
            self._presence = None
