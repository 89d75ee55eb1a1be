"""From "host failed" to "VMs healed": the stages after detection.

Plugged into the healer loop (``Healer.stages``), run by the leader only:

1. a *failed* host gets a journal record and the host lock (one open
   recovery per host incarnation), in one guarded transaction;
2. the record is *fenced* with the host's fence profile (ladder of fencers,
   then ``post`` steps such as ``nova_force_down``) — or *blocked* and
   retried with back-off, or confirmed by an operator;
3. only a verified fence lets it plan: the host's servers are matched with
   the contracts, one step per server, highest priority first;
4. steps run in a bounded pool under per-contract limits, with retries and
   the contract's ``on_failure`` actions; every action is idempotent, so a
   new leader resumes a record without repeating finished work;
5. when the fenced host returns with a new boot id, its Nova service is
   un-forced and enabled once it reports up, and the host is *up* again.

The loop itself never blocks: fencing and actions run in worker threads and
write their outcome through the same leader-guarded journal.
"""

import concurrent.futures
import logging
import threading
import time

from vmr_common import exceptions
from vmr_common.store import Compare, Op
from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator.actions import evidence
from vmr_coordinator.detection import HostState
from vmr_coordinator.journal import Journal, RecoveryState, StepState
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import segment_records
from vmr_coordinator import segments as segments_mod
from vmr_coordinator.segment_records import stored_segments
from vmr_coordinator.triggers.base import (TriggerEventError,
                                           trigger_class)

LOG = logging.getLogger(__name__)

#: seconds between two checks that idle reserved hosts are disabled in Nova
RESERVE_CHECK = 30.0


class Recovery:
    """The recovery stages of one coordinator."""

    def __init__(self, coordinator, max_workers=8):
        self.coordinator = coordinator
        self.conf = coordinator.conf
        self.store = coordinator.store
        self.healer = coordinator.healer
        self.journal = Journal(self.store, self.healer.guarded)
        self.max_workers = max_workers
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix='vmr-recovery')
        self.inflight = set()
        self._reported_instances = set()
        self._queued = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._conn = None
        self._profiles = None
        self._limits = {}
        self._pruned_at = None
        self._reserved_at = None
        self._reserve_lock = threading.Lock()
        self.service_vm_policy = contracts_mod.ServiceVmPolicy.from_conf(
            self.conf)

    # -- resources ----------------------------------------------------------
    @property
    def conn(self):
        if self._conn is None:
            from vmr_coordinator import cloud
            # every worker, plus the loop's own calls (plan, fence posts)
            self._conn = cloud.connect(self.conf,
                                       pool_size=self.max_workers + 2)
        return self._conn

    def profiles(self):
        if self._profiles is None:
            from vmr_coordinator.fencing.profiles import FenceProfiles
            self._profiles = FenceProfiles.load(
                self.conf.fencing.profiles_file)
        return self._profiles

    def _submit(self, key, func, *args):
        with self._lock:
            if key in self.inflight:
                return False
            self.inflight.add(key)

        def job():
            try:
                func(*args)
            except exceptions.LeadershipLost as exc:
                LOG.warning('recovery job %s stopped: %s', key, exc)
            except exceptions.VmrError as exc:
                LOG.error('recovery job %s: %s', key, exc)
            except Exception:
                LOG.exception('recovery job %s failed', key)
            finally:
                with self._lock:
                    self.inflight.discard(key)
        self.pool.submit(job)
        return True

    def _chain(self, key, func, *args):
        """Run the next stage of a recovery at once, in this job, unless a
        job for ``key`` is already at it: no stage waits for the next
        cycle to be noticed (DESIGN §6)."""
        with self._lock:
            if key in self.inflight:
                return False
            self.inflight.add(key)
        try:
            func(*args)
        finally:
            with self._lock:
                self.inflight.discard(key)
        return True

    def _current(self, rid):
        """The record as stored now (a cycle's snapshot may be older than a
        job's own writes); None if it is gone."""
        kv = self.store.get(self.store.keys.recovery(rid))
        return kv.json() if kv is not None else None

    # -- the stage ----------------------------------------------------------
    def stage(self, healer, snap, now):
        """Drive every open recovery one step; a sentence of what changed."""
        said = []
        open_hosts = {rec.get('host') for rec, _ in snap.journal.values()
                      if rec.get('state') in RecoveryState.OPEN}
        for name, record in sorted(snap.hosts.items()):
            if record.state == HostState.FAILED and \
                    not record.data.get('recovery') and name not in open_hosts:
                rid = self._open(snap, record, now)
                if rid:
                    said.append('recovery %s opened for %s' % (rid, name))
                    # fence now, not when the next cycle sees the record
                    self._submit(('fence', rid), self._fence_job, rid, name,
                                 snap)
        self._confirmations(snap, now)
        said.extend(self._intake(snap, now))
        for rid, (rec, _rev) in sorted(snap.journal.items()):
            if rec.get('state') in RecoveryState.OPEN and \
                    self._take_over(rid, rec, now):
                said.append('resumed recovery %s from %s' % (rid, rec.get(
                    'leader')))
            job = next_job(rec, now)
            if job == 'plan':
                if self._submit(('plan', rid), self._plan_job, rid, snap):
                    said.append('planning recovery %s' % rid)
            elif job in ('fence', 'retry fence'):
                if self._submit(('fence', rid), self._fence_job, rid,
                                rec.get('host'), snap):
                    said.append('fencing %s' % rec.get('host') if job == 'fence'
                                else 'retrying the fence of %s' % rec.get('host'))
            elif job == 'act':
                self._drive_steps(rid, rec)
        self._returns(snap)
        self._history(snap, now)
        self._reserve()
        return '; '.join(said)

    # -- the history ----------------------------------------------------------
    def _history(self, snap, now):
        """Move the closed records nothing refers to any more out of the
        journal, and keep the history within ``[journal]``'s bounds; both
        in the background, never holding up the cycle."""
        opts = self.conf.journal
        # The Nova poll's hold-down is read from the journal's failed
        # records: they stay at least that long.
        linger = max(opts.archive_after,
                     self.conf.coordinator.instance_down_hold_down)
        closed = journal_mod.archivable(
            snap.journal, {n: r.data for n, r in snap.hosts.items()}, now,
            linger)
        if closed:
            self._submit(('archive',), self._archive_job, closed,
                         snap.journal)
        clock = time.monotonic()
        if self._pruned_at is None or \
                clock - self._pruned_at >= opts.prune_interval:
            if self._submit(('prune',), self._prune_job):
                self._pruned_at = clock

    def _reserve(self):
        """Every RESERVE_CHECK seconds: keep the segments' idle reserved
        hosts disabled in Nova, so the scheduler keeps them empty."""
        clock = time.monotonic()
        if self._reserved_at is not None and \
                clock - self._reserved_at < RESERVE_CHECK:
            return
        if self._submit(('reserve',), self._reserve_job):
            self._reserved_at = clock

    def _reserve_job(self):
        from vmr_coordinator import cloud
        reserved = sorted({(host, s.name) for s in stored_segments(self.store)
                           if s.enabled for host in s.reserved_hosts})
        for host, segment in reserved:
            try:
                with self._reserve_lock:
                    if host not in segment_records.reserved_in(self.store,
                                                               segment):
                        continue    # used since the list was read
                    changed, said = cloud.keep_reserved(
                        self.conn, host, segments_mod.RESERVED_REASON)
            except Exception as exc:  # tried again at the next check
                LOG.error('reserved host %s of segment %s: %s', host,
                          segment, str(exc).splitlines()[0])
                continue
            if changed:
                LOG.warning('reserved host %s of segment %s: %s', host,
                            segment, said)

    def _archive_job(self, closed, journal):
        moved = [rid for rid, revision in closed
                 if self.journal.archive(rid, journal[rid][0], revision,
                                         time.time())]
        if moved:
            LOG.info('journal: %d closed recover%s moved to the history: %s',
                     len(moved), 'y' if len(moved) == 1 else 'ies',
                     ', '.join(moved))

    def _prune_job(self):
        opts = self.conf.journal
        deleted = self.journal.prune(time.time(), opts.history_max_count,
                                     opts.history_max_age * 86400)
        if deleted:
            LOG.info('history: %d closed recover%s deleted (history_max_count '
                     '%d, history_max_age %g days)', deleted,
                     'y' if deleted == 1 else 'ies', opts.history_max_count,
                     opts.history_max_age)

    def _take_over(self, rid, rec, now):
        """Sign an open record another leader (or an earlier term) drove:
        the timeline then says who resumed it, from which point.  Done in
        the loop, before this cycle drives the record, so the 'resumed'
        line comes before anything this leader does to it."""
        member, token = self.healer.member, self.healer.election.token
        if rec.get('leader') is None or \
                (rec.get('leader'), rec.get('leader_token')) == (member, token):
            return False
        taken = {}

        def mutate(r):
            previous = r.get('leader')
            if not journal_mod.take_over(r, now, member, token):
                return False
            taken['by'] = previous
        self.journal.update(rid, mutate)
        if taken.get('by') is not None:
            LOG.warning('recovery %s: resumed from the journal (previous '
                        'leader %s)', rid, taken['by'])
        return taken.get('by') is not None

    # -- 1. open --------------------------------------------------------------
    def _open(self, snap, record, now):
        boot_id = record.data.get('failed_boot_id') or \
            record.agent.get('boot_id')
        rid = journal_mod.recovery_id(record.name, boot_id, now)
        trigger = {'type': 'host_down', 'host': record.name,
                   'reason': record.data.get('reason', '')}
        rec = journal_mod.new_record(rid, record.name, trigger, now, boot_id,
                                     leader=self.healer.member,
                                     token=self.healer.election.token)
        rec['state'] = RecoveryState.FENCING
        journal_mod.add_event(rec, now, 'fencing', 'fence profile of %s'
                              % record.name)
        host_key = self.store.keys.host(record.name)
        if not self.journal.create(
                rec, host_key, record.mod_revision,
                {'state': HostState.FENCING, 'recovery': rid,
                 'state_since': now, 'updated_by': self.healer.member,
                 'token': self.healer.election.token,
                 'reason': 'fencing (recovery %s)' % rid}, record.data):
            return None
        LOG.warning('recovery %s: opened for failed host %s', rid,
                    record.name)
        return rid

    def _set_host(self, host, fields):
        """CAS-update the leader-owned fields of a host record (nothing if
        the host has no record)."""
        self.store.cas_update(self.store.keys.host(host),
                              lambda data: self.healer.stamped(data, fields),
                              self.healer.guarded)

    # -- 1b. other triggers ---------------------------------------------------
    def _intake(self, snap, now):
        """Turn events, maintenance requests, agent reports and Nova polls
        into recovery records (one each, exactly once)."""
        said = []
        open_keys = {(rec.get('trigger', {}).get('type'),
                      rec.get('trigger', {}).get('host'),
                      rec.get('trigger', {}).get('server_id'))
                     for rec, _ in snap.journal.values()
                     if rec.get('state') in RecoveryState.OPEN}
        # queued events: webhooks (alarms), manual requests
        # An alert is re-sent (Alertmanager: every repeat_interval and with
        # every change of its group): one recovery per incident its trigger
        # recognises.
        incidents = {_trigger_of(rec)().incident(rec.get('trigger') or {})
                     for rec, _ in snap.journal.values()} - {None}
        kvs, _ = self.store.get_prefix(self.store.keys.events)
        for kv in kvs:
            try:
                raw = kv.json()
            except exceptions.CorruptRecord as exc:
                LOG.error('%s; deleting it', exc)
                self.healer.guarded([Op.delete(kv.key)])
                continue
            events = self._expand(raw)
            ops = [Op.delete(kv.key)]
            for event in events:
                incident = trigger_class(event.get('type'))().incident(event)
                digest = None
                if incident is not None:
                    # An incident is known by the journal's records, and
                    # by its key once its recovery moved to the history.
                    digest = journal_mod.incident_digest(incident)
                    if incident in incidents or self.store.get(
                            self.store.keys.incident(digest)) is not None:
                        LOG.info('%s alarm %r (fingerprint %s, firing since '
                                 '%s) already has a recovery: re-sent alert '
                                 'ignored', event.get('source'),
                                 event.get('name'), event.get('id'),
                                 event.get('starts_at'))
                        continue
                    incidents.add(incident)
                rec = self._event_record(event, now)
                if digest is not None:
                    rec['incident'] = digest
                    ops.append(Op.put(self.store.keys.incident(digest),
                                      {'recovery': rec['id'], 'at': now}))
                ops += [Op.put(self.store.keys.recovery(rec['id']), rec)]
                said.append('%s: recovery %s' % (event['type'], rec['id']))
            # one transaction: the event is consumed exactly once
            self.healer.guarded(ops, [Compare.mod_revision(
                kv.key, kv.mod_revision)])
        # maintenance: drain a host the operator put in maintenance
        for name, record in snap.hosts.items():
            if record.data.get('maintenance') and not record.data.get(
                    'drain') and ('maintenance', name, None) not in open_keys:
                rec = self._event_record({'type': 'maintenance', 'host': name,
                                          'reason': record.data.get(
                                              'maintenance_reason', '')}, now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])
                self._set_host(name, {'drain': rec['id']})
                said.append('draining %s: recovery %s' % (name, rec['id']))
            elif not record.data.get('maintenance') and record.data.get(
                    'drain'):
                self._set_host(name, {'drain': None})
            if not record.data.get('maintenance') and record.data.get(
                    'drain_disabled_compute'):
                self._submit(('enable', name), self._enable_after_drain, name,
                             record.data['drain_disabled_compute'])
        # agents reporting dead local processes (e.g. nova-compute)
        for name, member in snap.members.items():
            for process in member.capabilities.get('processes_down') or []:
                if ('process_down', name, None) in open_keys:
                    continue
                reported = (snap.hosts.get(name).data.get('processes_down')
                            if name in snap.hosts else None) or []
                if process in reported:
                    continue
                rec = self._event_record({'type': 'process_down',
                                          'host': name, 'process': process},
                                         now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])
                self._set_host(name, {'processes_down': sorted(
                    set(reported) | {process})})
                said.append('%s on %s: recovery %s' % (process, name,
                                                       rec['id']))
        for name, record in snap.hosts.items():
            reported = record.data.get('processes_down') or []
            member = snap.members.get(name)
            if reported and member is not None:
                now_down = member.capabilities.get('processes_down') or []
                if set(reported) - set(now_down):
                    self._set_host(name, {'processes_down': sorted(
                        set(reported) & set(now_down)) or None})
        # instances the agents saw crash (libvirt events)
        for name, member in snap.members.items():
            for uuid in member.capabilities.get('instances_down') or []:
                if ('instance_down', name, uuid) in open_keys or \
                        uuid in self._reported_instances:
                    continue
                self._reported_instances.add(uuid)
                rec = self._event_record({
                    'type': 'instance_down', 'server_id': uuid,
                    'status': 'ERROR', 'host': name,
                    'reason': 'libvirt: the domain crashed or failed'}, now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])
                said.append('instance %s down on %s: recovery %s'
                            % (uuid, name, rec['id']))
        live_reports = {u for m in snap.members.values()
                        for u in m.capabilities.get('instances_down') or []}
        self._reported_instances &= live_reports
        said.extend(self._poll_instances(snap, now, open_keys))
        return said

    def _expand(self, raw):
        """A queued event (maybe a raw webhook body) as trigger events:
        its trigger says what it holds."""
        if not raw.get('type'):
            return []
        try:
            return trigger_class(raw['type'])().expand(raw)
        except TriggerEventError as exc:
            LOG.error('queued %s event skipped: %s', raw['type'], exc)
            return []

    def _event_record(self, event, now):
        # A manual request carries the id the API already answered with.
        rid = event.get('recovery_id') or \
            journal_mod.event_recovery_id(event, now)
        return journal_mod.new_record(rid, event.get('host'), event, now,
                                      leader=self.healer.member,
                                      token=self.healer.election.token)

    def _poll_instances(self, snap, now, open_keys):
        """Every ``instance_poll_interval``: servers on live hosts in a
        status an instance_down contract accepts, that nobody stopped on
        purpose and that are not held down, become instance_down events."""
        interval = getattr(self.conf.coordinator, 'instance_poll_interval', 0)
        if not interval or now - getattr(self, '_last_poll', 0) < interval:
            return []
        statuses = polled_statuses(snap.contracts.values())
        if not statuses:
            return []
        self._last_poll = now
        held = held_down(snap.journal, now, self.conf.coordinator.
                         instance_down_hold_down)
        self._submit(('poll',), self._poll_job, snap, open_keys, statuses,
                     held)
        return []

    def _poll_job(self, snap, open_keys, statuses=('ERROR', 'SHUTOFF'),
                  held=None):
        conn = self.conn
        now = time.time()
        for status in statuses:
            for server in conn.compute.servers(details=True,
                                               all_projects=True,
                                               status=status):
                host = server.compute_host
                record = snap.hosts.get(host)
                if record is None or record.state != HostState.UP:
                    continue   # a dead host's servers belong to host_down
                if ('instance_down', host, server.id) in open_keys:
                    continue
                if server.id in (held or {}):
                    continue   # its last recovery failed: hold-down
                if status != 'ERROR' and self._stopped_on_purpose(
                        conn, server):
                    continue
                rec = self._event_record({
                    'type': 'instance_down', 'server_id': server.id,
                    'status': status, 'host': host}, now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])

    @staticmethod
    def _stopped_on_purpose(conn, server):
        try:
            actions = list(conn.compute.server_actions(server))
        except Exception:  # no instance-actions API: assume deliberate
            return True
        if not actions:
            return False
        latest = max(actions, key=lambda a: a.start_time or '')
        return latest.action in ('stop', 'suspend', 'pause', 'shelve')

    # -- 2. fence -------------------------------------------------------------
    def _fence_job(self, rid, host, snap):
        """Fence ``host``; once the fence is verified, plan at once."""
        if self._fence(rid, host, snap):
            self._chain(('plan', rid), self._plan_job, rid, snap)

    def _fence(self, rid, host, snap):
        """Run the fence ladder for ``host``; True when verified off."""
        from vmr_coordinator.fencing.base import FenceTarget
        from vmr_coordinator.fencing.ladder import BlockedBackoff, run_ladder
        if not self.healer.election.is_leader():
            return False  # deposed while this job waited: the new leader fences
        current = self._current(rid)
        if current is None or current.get('state') not in (
                RecoveryState.DETECTED, RecoveryState.FENCING,
                RecoveryState.BLOCKED):
            # fenced (or confirmed) since the snapshot that sent us here
            return False
        record = snap.hosts.get(host)
        started = time.time()
        try:
            profile = self.profiles().profile_for(host)
        except Exception as exc:  # a config problem: blocked, with the fix
            profile, error = None, str(exc)
        else:
            error = None if profile is not None else (
                'no fence profile matches host %s in %s; add one (or a '
                '"default" profile)' % (host, self.conf.fencing.profiles_file))
        if profile is None:
            verified, fencing = False, {'verified': False, 'reason': error,
                                        'attempts': []}
        else:
            conn = None
            try:
                conn = self.conn
            except Exception as exc:  # nova_force_down will report it
                LOG.warning('cloud unavailable for fencing %s: %s', host, exc)
            target = FenceTarget(
                host=host, record=record.data if record else {},
                absent_since=(record.data.get('suspect_since')
                              if record else None),
                now=time.time(), cloud=conn)
            result = run_ladder(target, profile, self.conf)
            verified, fencing = result.verified, result.to_dict()
        backoff = BlockedBackoff.from_conf(self.conf)
        done_at = time.time()
        if self.coordinator.metrics:
            self.coordinator.metrics('fence', done_at - started)
            # driver "none": no usable profile (as vmr_fence_path_ok says)
            failed = [a.get('method') or 'unknown'
                      for a in fencing.get('attempts') or ()
                      if not a.get('verified')] or ([] if verified
                                                    else ['none'])
            for driver in failed:
                self.coordinator.metrics('fence_failure', 1, driver=driver)

        def mutate(r):
            attempt = r.get('fencing', {}).get('attempt', 0) + 1
            fencing['attempt'] = attempt
            r['fencing'] = fencing
            if verified:
                r['state'] = RecoveryState.FENCED
                # the force-down/disable calls' request ids, for grep
                ids = [i for p in fencing.get('post', [])
                       for i in p.get('request_ids', [])]
                journal_mod.add_event(r, done_at, 'fenced', evidence.annotate(
                    fencing.get('reason', ''), ids))
            else:
                r['state'] = RecoveryState.BLOCKED
                fencing['next_retry_at'] = backoff.next_retry_at(attempt,
                                                                 done_at)
                journal_mod.add_event(r, done_at, 'blocked',
                                      fencing.get('reason', ''))
        self.journal.update(rid, mutate)
        if verified:
            self._set_host(host, {'state': HostState.FENCED,
                                  'state_since': done_at,
                                  'fenced_at': done_at,
                                  'reason': fencing.get('reason', '')})
            return True
        else:
            LOG.critical('ALARM: recovery %s BLOCKED: %s; nothing will be '
                         'restarted until a fence is proven or an operator '
                         'runs `vmr host confirm-fenced %s`', rid,
                         fencing.get('reason'), host)
            self._set_host(host, {'state': HostState.BLOCKED,
                                  'state_since': done_at,
                                  'reason': fencing.get('reason', '')})
            return False

    def _confirmations(self, snap, now):
        """Apply operators' ``confirm-fenced`` requests to blocked records."""
        prefix = self.store.keys.root + 'requests/confirm-fenced/'
        kvs, _ = self.store.get_prefix(prefix)
        for kv in kvs:
            host = kv.key[len(prefix):]
            try:
                req = kv.json()
            except exceptions.CorruptRecord:
                req = {}
            for rid, (rec, _) in snap.journal.items():
                if rec.get('host') != host or rec.get('state') not in (
                        RecoveryState.BLOCKED, RecoveryState.FENCING):
                    continue

                by = req.get('by') or 'operator'
                said = 'confirmed off by %s%s' % (
                    by, ': %s' % req['reason'] if req.get('reason') else '')

                def mutate(r, by=by, said=said):
                    r['state'] = RecoveryState.FENCED
                    r.setdefault('fencing', {}).update(
                        verified=True, method='operator', confirmed_by=by,
                        confirmed_at=now, reason=said)
                    # the operator's words belong in the timeline too
                    journal_mod.add_event(r, now, 'fenced', said)
                self.journal.update(rid, mutate, extra_ops=[
                    Op.delete(kv.key)])
                self._set_host(host, {'state': HostState.FENCED,
                                      'state_since': now, 'fenced_at': now,
                                      'reason': 'fence %s' % said})
                self._submit(('plan', rid), self._plan_job, rid, snap)

    # -- 3. plan --------------------------------------------------------------
    def _plan_job(self, rid, snap):
        """Plan; once planned, dispatch the steps at once."""
        rec = self._plan(rid, snap)
        if rec is not None and rec.get('state') == RecoveryState.ACTING:
            self._drive_steps(rid, rec)

    def _plan(self, rid, snap):
        """Match the contracts to the servers; the record as written (None
        when it was not waiting for a plan)."""
        from vmr_coordinator import cloud
        rec = self._current(rid)
        if rec is None or rec.get('state') not in (RecoveryState.FENCED,
                                                   RecoveryState.DETECTED):
            return None   # planned since the snapshot that sent us here
        host = rec.get('host')
        event = {k: v for k, v in rec.get('trigger', {}).items()
                 if k != 'reason'}
        trigger = trigger_class(event.get('type'))
        if trigger.drains_host:
            self._disable_for_drain(rid, host,
                                    rec['trigger'].get('reason') or '')
        facts = self._candidates(cloud, event)
        valid = []
        for name, doc in sorted(snap.contracts.items()):
            try:
                valid.append(contracts_mod.parse_contract(doc))
            except contracts_mod.ContractError as exc:
                LOG.error('contract %s skipped: %s', name, exc)
        plan = contracts_mod.match(valid, event, facts,
                                   self.service_vm_policy)
        now = time.time()
        steps = []
        for step in plan.steps:
            steps.append({
                'server_id': step.server.id, 'server_name': step.server.name,
                'contract': step.contract.name,
                'priority': step.contract.priority,
                'action': step.action.type, 'params': dict(step.action.params),
                'on_failure': [a.to_dict() for a in step.on_failure],
                'limits': step.contract.limits.to_dict(),
                'state': StepState.PENDING, 'attempts': 0,
                'server': step.server.to_dict()})

        segment, segment_said = None, None
        if trigger.needs_fence and steps:
            segment, segment_said = self._confine_to_segment(rid, host,
                                                             steps, now)

        def mutate(r):
            if r.get('state') not in (RecoveryState.FENCED,
                                      RecoveryState.DETECTED):
                return False
            r['steps'] = steps
            if segment is not None:
                r['segment'] = segment
                journal_mod.add_event(r, now, 'segment', segment_said)
            r['skipped'] = [s.to_dict() for s in plan.skipped] + [
                {'server_id': s.id, 'server_name': s.name,
                 'reason': 'no contract matches'} for s in plan.unmatched]
            r['state'] = RecoveryState.ACTING if steps else \
                RecoveryState.DONE
            journal_mod.add_event(r, now, 'planned', plan.summary())
            if not steps:
                journal_mod.add_event(r, now, 'done', 'nothing to heal')
        written = self.journal.update(rid, mutate)
        LOG.info('recovery %s: %s', rid, plan.summary())
        if not steps and trigger.needs_fence:
            self._finish_host(host, rid, RecoveryState.DONE)
        return written

    def _confine_to_segment(self, rid, host, steps, now):
        """Keep the servers of failed ``host`` inside its failover segment.

        Each evacuate step gets the segment host it goes to as its
        ``target_host``, chosen for all steps at once in the order of the
        segment's recovery method; a reserved host chosen is enabled in
        Nova first and becomes an ordinary member.  A step with no room in
        the segment fails now, saying why: it is never sent anywhere else.
        Returns ``(segment facts for the record, sentence)``, ``(None,
        None)`` when the host is in no segment.
        """
        from vmr_coordinator import cloud
        from vmr_coordinator import planning
        segments = stored_segments(self.store, lambda key, why: LOG.error(
            'segment %s ignored: %s', key, why))
        if not segments:
            return None, None
        hosts = cloud.host_view(self.conn)
        segment, note = segments_mod.segment_of(host, segments, hosts)
        if segment is None:
            return None, None
        placed = planning.place_in_segment(
            host, [(s['server_id'], s['action'], s['params']) for s in steps],
            cloud.server_loads(self.conn), hosts, segment)
        said = [note] if note else []
        enabled = []
        for name in sorted({dest for dest, kind, _ in placed.values()
                            if kind == 'reserved'}):
            ids = []
            # An ordinary member first, then enabled: the reserve check
            # (same lock) never disables it again in between.
            with self._reserve_lock:
                segment_records.use_reserved_host(
                    self.store, self.healer.guarded, segment.name, name)
                try:
                    with evidence.collect(self.conn, ids):
                        ok, text = cloud.enable_reserved(self.conn, name)
                except Exception as exc:  # its steps fail below, saying why
                    ok, text = False, 'reserved host %s not enabled: %s' % (
                        name, str(exc).splitlines()[0])
            said.append(evidence.annotate(text, ids))
            if ok:
                enabled.append(name)
        failed = 0
        for step in steps:
            if step['server_id'] not in placed:
                continue
            dest, kind, why = placed[step['server_id']]
            if dest is not None and kind == 'reserved' and \
                    dest not in enabled:
                dest, why = None, 'its reserved host %s could not be ' \
                    'enabled' % dest
            if dest is None:
                failed += 1
                step.update(state=StepState.FAILED, finished_at=now,
                            error='no room for it in segment %s: %s'
                            % (segment.name, why))
            elif step['action'] == 'evacuate':
                step['params']['target_host'] = dest
                step['params'].pop('target_aggregate', None)
                step['placement'] = why
            else:
                step['placement'] = ('%s chooses its own host: not confined '
                                     'to segment %s' % (step['action'],
                                                        segment.name))
        said.insert(0, 'segment %s (%s): %d placed, %d without room%s' % (
            segment.name, segment.recovery_method, len(placed) - failed,
            failed, '; reserved host(s) %s now ordinary members'
            % ', '.join(enabled) if enabled else ''))
        sentence = '; '.join(said)
        LOG.warning('recovery %s: %s', rid, sentence)
        return {'name': segment.name,
                'recovery_method': segment.recovery_method,
                'reserved_hosts_used': enabled}, sentence

    def _disable_for_drain(self, rid, host, reason):
        """Before a maintenance drain moves anything: disable the host's
        nova-compute so new servers do not land there, and remember that
        VMR did it (only then is it enabled again when maintenance ends)."""
        from vmr_coordinator import cloud
        ids = []
        try:
            with evidence.collect(self.conn, ids):
                disabled, said = cloud.disable_for_maintenance(
                    self.conn, host, reason)
        except Exception as exc:  # drain anyway; say what is at risk
            disabled, said = False, (
                'could not disable nova-compute@%s: %s; new servers may '
                'still land there' % (host, str(exc).splitlines()[0]))
            LOG.error('recovery %s: %s', rid, said)
        if disabled:
            self._set_host(host, {'drain_disabled_compute': rid})
        now = time.time()

        def mutate(r):
            journal_mod.add_event(r, now, 'nova service disabled' if disabled
                                  else 'nova service not disabled',
                                  evidence.annotate(said, ids))
        self.journal.update(rid, mutate)

    def _enable_after_drain(self, host, rid):
        """Maintenance ended: enable the nova-compute VMR disabled."""
        from vmr_coordinator import cloud
        ids = []
        try:
            with evidence.collect(self.conn, ids):
                done, said = cloud.enable_after_maintenance(self.conn, host)
        except Exception as exc:  # retried at the next cycle
            LOG.warning('maintenance of %s ended; nova-compute not enabled '
                        'yet: %s', host, str(exc).splitlines()[0])
            return
        if not done:
            LOG.info('maintenance of %s ended; %s', host, said)
            return
        self._set_host(host, {'drain_disabled_compute': None})
        LOG.warning('maintenance of %s ended: %s', host, said)
        if rid and self.store.get(self.store.keys.recovery(rid)) is not None:
            now = time.time()

            def mutate(r):
                journal_mod.add_event(r, now, 'nova service enabled',
                                      evidence.annotate(said, ids))
            self.journal.update(rid, mutate)

    def _candidates(self, cloud, event):
        """ServerFacts of every server the event may concern."""
        conn = self.conn
        ids = list(event.get('server_ids') or [])
        if event.get('server_id'):
            ids.append(event['server_id'])
        names = []
        for ref in event.get('servers') or []:
            (ids if _looks_like_id(ref) else names).append(ref)
        found = {}
        for sid in ids:
            try:
                server = conn.compute.get_server(sid)
            except Exception as exc:  # gone or unreachable: nothing to heal
                LOG.warning('server %s: %s', sid, str(exc).splitlines()[0])
                continue
            found[server.id] = server
        for name in names:
            for server in conn.compute.servers(details=True,
                                               all_projects=True, name=name):
                if server.name == name:
                    found[server.id] = server
        host = event.get('host')
        if host and not ids and not names:
            for server in cloud.servers_on_host(conn, host):
                found[server.id] = server
        return cloud.describe_servers(conn, found.values())

    # -- 4. act ---------------------------------------------------------------
    def _drive_steps(self, rid, rec):
        steps = rec.get('steps', [])
        if all(s.get('state') in StepState.TERMINAL for s in steps):
            self._submit(('finish', rid), self._finish, rid)
            return
        order = sorted(range(len(steps)),
                       key=lambda i: (-steps[i].get('priority', 0), i))
        for i in order:
            if steps[i].get('state') in (StepState.PENDING,
                                         StepState.RUNNING):
                with self._lock:
                    if ('step', rid, i) in self.inflight:
                        continue
                    # The bounded pool takes jobs first in, first out: the
                    # submission order is the dispatch order, recorded in
                    # each step to show higher priorities went first.
                    self._seq += 1
                    self._queued[(rid, i)] = self._seq
                self._submit(('step', rid, i), self._run_step, rid, i)

    def _limit(self, contract, concurrency):
        with self._lock:
            sem = self._limits.get(contract)
            if sem is None:
                sem = self._limits[contract] = threading.BoundedSemaphore(
                    max(1, int(concurrency or 1)))
            return sem

    def _run_step(self, rid, index):
        from vmr_coordinator.actions import base as actions
        kv = self.store.get(self.store.keys.recovery(rid))
        rec = kv.json()
        step = rec['steps'][index]
        if step.get('state') in StepState.TERMINAL:
            return
        limits = step.get('limits') or {}
        dispatched = self._queued.get((rid, index))
        with self._limit(step['contract'], limits.get('concurrency', 10)):
            server = contracts_mod.ServerFacts.from_dict(step['server'])
            ladder = [{'type': step['action'], 'params': step['params']}] + \
                list(step.get('on_failure') or [])
            retries = int(limits.get('retries', 3))
            backoff = float(limits.get('backoff', 2.0))
            timeout = float(limits.get('timeout', 600))
            errors = []
            request_ids = []
            result = None
            for rung in ladder:
                action = actions.load_action(rung['type'],
                                             rung.get('params'))
                if action.needs_fence and not rec.get('fencing', {}).get(
                        'verified'):
                    errors.append('%s refused: the host is not verified '
                                  'off' % rung['type'])
                    break
                for attempt in range(retries + 1):
                    started = time.time()
                    self._mark(rid, index, state=StepState.RUNNING,
                               started_at=started, current=rung['type'],
                               dispatched=dispatched, leader=self.healer.member,
                               bump=True)
                    ctx = actions.ActionContext(
                        conn=self.conn, server=server, host=rec['host'],
                        event=rec.get('trigger', {}),
                        deadline=time.monotonic() + timeout)
                    try:
                        result = '%s: %s' % (rung['type'], action.run(ctx))
                        break
                    except actions.RetryableError as exc:
                        errors.append('%s attempt %d: %s' % (
                            rung['type'], attempt + 1, exc))
                        time.sleep(min(30.0, backoff ** attempt))
                    except actions.ActionError as exc:
                        errors.append('%s: %s' % (rung['type'], exc))
                        break
                    finally:
                        request_ids.extend(
                            getattr(action, 'request_ids', None) or [])
                if result is not None:
                    break
            finished = time.time()
            if self.coordinator.metrics:
                self.coordinator.metrics('action', finished - rec.get(
                    'created_at', finished))
            # x-openstack-request-id of every call: operators grep them
            # in Nova's logs (DESIGN §7b).
            ids = list(dict.fromkeys(step.get('request_ids', []) +
                                     request_ids))
            if result is not None:
                rec = self._mark(rid, index, state=StepState.DONE,
                                 result=result, finished_at=finished,
                                 request_ids=ids,
                                 error='; '.join(errors) or None)
            else:
                rec = self._mark(rid, index, state=StepState.FAILED,
                                 finished_at=finished, request_ids=ids,
                                 error='; '.join(errors))
        if all(s.get('state') in StepState.TERMINAL
               for s in rec.get('steps', [])):
            # the last step: close the record now, not next cycle
            self._submit(('finish', rid), self._finish, rid)

    def _mark(self, rid, index, bump=False, **fields):
        def mutate(r):
            step = r['steps'][index]
            if bump:
                step['attempts'] = step.get('attempts', 0) + 1
            step.update({k: v for k, v in fields.items()})
            if fields.get('state') in StepState.TERMINAL:
                journal_mod.add_event(
                    r, fields.get('finished_at', time.time()),
                    'step %s' % fields['state'],
                    '%s (%s): %s' % (step.get('server_name'),
                                     step.get('server_id'),
                                     fields.get('result') or
                                     fields.get('error')))
        return self.journal.update(rid, mutate)

    def _finish(self, rid):
        now = time.time()
        outcome = {}

        def mutate(r):
            if r.get('state') != RecoveryState.ACTING:
                return False
            outcome['fenced_host'] = _trigger_of(r).needs_fence
            failed = [s for s in r['steps']
                      if s.get('state') == StepState.FAILED]
            r['state'] = RecoveryState.FAILED if failed else \
                RecoveryState.DONE
            outcome['state'] = r['state']
            outcome['host'] = r['host']
            journal_mod.add_event(
                r, now, r['state'], '%d of %d servers healed' % (
                    len(r['steps']) - len(failed), len(r['steps'])))
        self.journal.update(rid, mutate)
        if outcome:
            # a healed host is good news; a failed recovery needs a human
            (LOG.error if outcome['state'] == RecoveryState.FAILED
             else LOG.info)('recovery %s: %s', rid, outcome['state'])
            if outcome['fenced_host']:
                self._finish_host(outcome['host'], rid, outcome['state'])

    def _finish_host(self, host, rid, state):
        self._set_host(host, {
            'state': HostState.RECOVERED, 'state_since': time.time(),
            'reason': 'recovery %s %s' % (rid, state)})

    # -- 5. the host returns --------------------------------------------------
    def _returns(self, snap):
        for name, record in snap.hosts.items():
            if record.state == HostState.BLOCKED and name in snap.members:
                # Back before any fence was proven: nothing was restarted
                # elsewhere (planning waits for the fence), so the record
                # can close and the host simply be up again.
                self._submit(('unblock', name), self._close_blocked, name,
                             record.data.get('recovery'))
                continue
            if record.state not in (HostState.RECOVERED,) or \
                    name not in snap.members:
                continue
            boot_id = snap.members[name].capabilities.get('boot_id')
            if boot_id and boot_id == record.data.get('failed_boot_id'):
                continue  # same incarnation: not rebooted, do not trust it
            self._submit(('return', name), self._welcome_back, name,
                         record.data.get('recovery'), dict(record.data))

    def _welcome_back(self, host, rid, record):
        from vmr_coordinator.fencing.base import (FenceTarget, fencer_class,
                                                  load_fencer)
        detail = 'host returned with a new boot id'
        try:
            profile = self.profiles().profile_for(host)
        except Exception:  # no profiles: nothing to undo in Nova
            profile = None
        for rung in (profile.post if profile else []):
            cls = fencer_class(rung.driver)
            if cls is None or not cls.undone_on_return:
                continue
            fencer = load_fencer(rung.driver, rung.options, self.conf,
                                 context=profile.context(rung))
            result = fencer.unfence(FenceTarget(
                host=host, record=record, now=time.time(), cloud=self.conn,
                absent_since=record.get('suspect_since')))
            if rid and (result.verified or result.request_ids):
                # What was changed in Nova, with the request ids, belongs to
                # the recovery's story too, not only to the host record.
                self._journal_unfence(rid, result)
            if not result.verified:
                # Nova has not seen nova-compute up yet: try next cycle.
                LOG.info('host %s returned; waiting for nova-compute: %s',
                         host, result.error or result.evidence)
                return
            detail = result.evidence
        restored = self._restore_standbys(host, rid)
        if restored:
            detail += '; standby restored: %s' % ', '.join(restored)
        self._set_host(host, {'state': HostState.UP,
                              'state_since': time.time(), 'recovery': None,
                              'reason': 'returned: %s' % detail,
                              'suspect_since': None, 'fenced_at': None})
        if rid:
            self.journal.release_lock(host, rid)

    def _journal_unfence(self, rid, result):
        now = time.time()

        def mutate(r):
            r.setdefault('unfence', []).append(dict(result.to_dict(), at=now))
            journal_mod.add_event(r, now, 'nova service restored'
                                  if result.verified else 'nova service',
                                  evidence.annotate(
                                      result.summary(), result.request_ids))
        self.journal.update(rid, mutate)

    def _close_blocked(self, host, rid):
        now = time.time()
        if rid:
            def mutate(r):
                if r.get('state') != RecoveryState.BLOCKED or r.get('steps'):
                    return False
                r['state'] = RecoveryState.FAILED
                journal_mod.add_event(
                    r, now, 'failed', 'the host came back before a fence '
                    'was proven; nothing was restarted elsewhere')
            self.journal.update(rid, mutate)
            self.journal.release_lock(host, rid)
        self._set_host(host, {'state': HostState.UP, 'state_since': now,
                              'recovery': None, 'suspect_since': None,
                              'reason': 'returned while its fence was '
                                        'blocked; recovery %s closed' % rid})
        LOG.warning('host %s returned while blocked: recovery %s closed',
                    host, rid)

    def _restore_standbys(self, host, rid):
        """Start the pair members left on the returned host.

        ``fip_failover`` made them standbys (their partner holds the
        floating IP now); Nova brings them back SHUTOFF after the reboot,
        and a pair without a running standby has no second chance.  A pair
        member is recognised by the metadata keys the contracts configure
        (``pair_metadata_key``, ``role_key``), not by fixed names.
        """
        from vmr_coordinator import cloud
        restored = []
        record = None
        if rid:
            kv = self.store.get(self.store.keys.recovery(rid))
            record = kv.json() if kv is not None else None
        keys = standby_keys(self._stored_contracts(), record)
        if not keys:
            return restored   # no contract makes pairs
        try:
            servers = cloud.servers_on_host(self.conn, host)
        except Exception as exc:  # the host is up again either way
            LOG.warning('standbys of %s not checked: %s', host, exc)
            return restored
        for server in servers:
            meta = server.metadata or {}
            pair = next((meta[p] for p, r in keys
                         if meta.get(p) and meta.get(r) == 'standby'), None)
            if pair is None or server.status != 'SHUTOFF':
                continue
            try:
                self.conn.compute.start_server(server)
            except Exception as exc:  # leave it to the operator, say so
                LOG.warning('standby %s of pair %s not started: %s',
                            server.name, pair, exc)
                continue
            restored.append('%s (pair %s)' % (server.name, pair))
        if restored and rid:
            def mutate(r):
                journal_mod.add_event(r, time.time(), 'standby restored',
                                      ', '.join(restored))
            self.journal.update(rid, mutate)
        return restored

    def _stored_contracts(self):
        """The valid contracts in etcd now (invalid ones are logged by the
        planner already)."""
        kvs, _ = self.store.get_prefix(self.store.keys.contracts)
        out = []
        for kv in kvs:
            try:
                out.append(contracts_mod.parse_contract(kv.json()))
            except (exceptions.CorruptRecord, contracts_mod.ContractError):
                continue
        return out

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)


def attach(coordinator):
    """Plug the recovery stages into ``coordinator``'s healer loop."""
    recovery = Recovery(coordinator, max_workers=getattr(
        coordinator.conf.coordinator, 'engine_workers', 8))
    coordinator.recovery = recovery
    coordinator.healer.stages.append(recovery.stage)
    return recovery


def next_job(rec, now):
    """What a journal record needs next (pure): ``'fence'``, ``'retry
    fence'`` (a blocked fence whose back-off is over), ``'plan'``, ``'act'``
    or None.

    A detected record is fenced first when its trigger declares
    ``needs_fence`` (its host is dead); otherwise its contracts are matched
    at once, and actions that need a fence refuse on their own.
    """
    state = rec.get('state')
    if state == RecoveryState.DETECTED and not _trigger_of(rec).needs_fence:
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
        if 'nova-poll' not in _trigger_of(rec).sources or not sid:
            continue
        at = rec.get('updated_at') or rec.get('created_at') or 0
        if sid not in latest or at >= latest[sid][0]:
            latest[sid] = (at, rec.get('state'))
    return {sid: at + hold for sid, (at, state) in latest.items()
            if state == RecoveryState.FAILED and now < at + hold}


def _trigger_of(rec):
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


def _looks_like_id(ref):
    import uuid
    try:
        uuid.UUID(str(ref))
        return True
    except ValueError:
        return False
