"""The recovery engine: its resources, its loop stage and its records.

Composed of the stage parts of this package; see the package's
docstring for the stages.
"""

import concurrent.futures
import logging
import threading

from keystoneauth1 import exceptions as ksa_exceptions
import openstack

from vmr_common import exceptions
from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import notifications
from vmr_coordinator.actions import reads
from vmr_coordinator.detection import HostState
from vmr_coordinator.journal import Journal, RecoveryState
from vmr_coordinator.recovery import decide
from vmr_coordinator.recovery.fence import Fence
from vmr_coordinator.recovery.intake import Intake
from vmr_coordinator.recovery.plan import Plan
from vmr_coordinator.recovery.returns import Returns
from vmr_coordinator.recovery.steps import Steps
from vmr_coordinator.recovery.upkeep import Upkeep

LOG = logging.getLogger(__name__)

#: a cloud API away (connection refused or cut) or answering an error: a
#: warning line, not a traceback; the job runs again at the next cycle
CLOUD_ERRORS = (ksa_exceptions.ClientException,
                openstack.exceptions.SDKException)


class Recovery(Intake, Fence, Plan, Steps, Returns, Upkeep):
    """The recovery stages of one coordinator."""

    def __init__(self, coordinator, max_workers=8):
        self.coordinator = coordinator
        self.conf = coordinator.conf
        self.store = coordinator.store
        self.healer = coordinator.healer
        # The coordinator's two clocks (the healer's, injected there): wall
        # time for what is written to etcd, monotonic for local intervals.
        # An action's own deadline runs on the real monotonic clock: it
        # polls a real service.
        self.clock = self.healer.clock
        self.monotonic = self.healer.monotonic
        self.journal = Journal(self.store, self.healer.guarded,
                               self.conf.journal.write_format)
        self.max_workers = max_workers
        # Steps (the long jobs: an evacuation takes seconds to minutes) run
        # in their own pool; fences, plans and every other short job in
        # another, so a big recovery's backlog of steps never queues a new
        # failed host's fence.
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix='vmr-step')
        self.control_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix='vmr-control')
        self.inflight = set()
        # the steps' waits read their servers through one list call
        self.server_reads = reads.ServerReads()
        self._reported_instances = set()
        self._queued = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._conn = None
        self._profiles = None
        self._limits = {}
        self._waiting = {}      # contract -> recovery ids with steps waiting
        self._return_waits = {}  # host -> why its return waits (said once)
        self._last_run = {}     # periodic job key -> when it last went
        self._warm_failing = False
        self._reserve_lock = threading.Lock()
        self.service_vm_policy = contracts_mod.ServiceVmPolicy.from_conf(
            self.conf)
        try:
            self.notifier = notifications.Publisher.from_conf(
                self.conf, self.healer.member)
        except exceptions.ConfigError as exc:
            # heal without notifications rather than not at all; --check
            # and the preflight (vmr status) name the problem too
            LOG.error('%s; recovery events are not published', exc)
            self.notifier = notifications.NullPublisher()
        self._notice_term = None
        self._notice_seen = {}

    # -- resources ----------------------------------------------------------
    @property
    def conn(self):
        if self._conn is None:
            from vmr_coordinator import cloud
            # every worker of both pools, plus the loop's own calls
            self._conn = cloud.connect(self.conf,
                                       pool_size=2 * self.max_workers + 2)
        return self._conn

    def profiles(self):
        if self._profiles is None:
            from vmr_coordinator.fencing.profiles import FenceProfiles
            self._profiles = FenceProfiles.load(
                self.conf.fencing.profiles_file)
        return self._profiles

    def _submit(self, key, func, *args):
        """Run ``func(*args)`` in a worker unless a job for ``key`` is
        already queued or running; steps (``key[0] == 'step'``) go to the
        step pool, everything else to the control pool.  True when
        submitted."""
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
            except CLOUD_ERRORS as exc:
                # Nova (or another API) away or refusing: one line, and
                # the record, untouched, is taken up again next cycle
                LOG.warning('recovery job %s: the cloud did not answer as '
                            'expected, tried again at the next cycle: %s',
                            key, exceptions.first_line(exc))
            except Exception:
                LOG.exception('recovery job %s failed', key)
            finally:
                with self._lock:
                    self.inflight.discard(key)
        (self.pool if key[0] == 'step' else self.control_pool).submit(job)
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
        return self.journal.read(rid)

    # -- the stage ----------------------------------------------------------
    def stage(self, healer, snap, now):
        """Drive every open recovery one step; a sentence of what changed."""
        from vmr_coordinator.fencing.ladder import BlockedBackoff
        said = []
        # read each cycle, like the fence job does: a config reload counts
        fence_backoff_max = BlockedBackoff.from_conf(self.conf).maximum
        decided = decide.intents(snap, now, self.healer.member,
                                 self.healer.election.token,
                                 fence_backoff_max)
        for intent in decided:
            if intent.kind != 'open':
                continue
            rid = self._open(snap, snap.hosts[intent.host], now)
            if rid:
                said.append('recovery %s opened for %s' % (rid, intent.host))
                # fence now, not when the next cycle sees the record
                self._submit(('fence', rid), self._fence_job, rid,
                             intent.host, snap)
        self._confirmations(snap, now)
        said.extend(self._intake(snap, now))
        acting = {}
        for intent in decided:
            kind, rid, host = intent.kind, intent.rid, intent.host
            if kind == 'take over':
                if self._take_over(rid, snap.journal[rid][0], now):
                    said.append('resumed recovery %s from %s' % (
                        rid, snap.journal[rid][0].get('leader')))
            elif kind == 'plan':
                if self._submit(('plan', rid), self._plan_job, rid, snap):
                    said.append('planning recovery %s' % rid)
            elif kind in ('fence', 'retry fence'):
                if self._submit(('fence', rid), self._fence_job, rid, host,
                                snap):
                    said.append('fencing %s' % host if kind == 'fence'
                                else 'retrying the fence of %s' % host)
            elif kind in ('step', 'finish'):
                acting.setdefault(rid, []).append(intent)
            elif kind == 'unblock':
                self._submit(('unblock', host), self._close_blocked, host,
                             rid)
            elif kind == 'return':
                self._submit(('return', host), self._welcome_back, host,
                             rid, dict(snap.hosts[host].data))
        for rid, wanted in acting.items():
            self._dispatch(rid, snap.journal[rid][0], wanted)
        self._history(snap, now)
        self._reserve()
        self._warm()
        self._notify(snap, now)
        return '; '.join(said)

    def _notify(self, snap, now):
        """Publish what changed in the journal since the last cycle; a new
        leader term starts from the journal as it is, publishing nothing."""
        if not self.notifier.enabled:
            return
        records = {rid: rec for rid, (rec, _rev) in snap.journal.items()}
        token = self.healer.election.token
        events, self._notice_seen = notifications.journal_events(
            self._notice_seen, records, now)
        if self._notice_term != token:
            self._notice_term = token
            return
        for event_type, payload in events:
            self.notifier.publish(event_type, payload)

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
        host_data = self.healer.stamped(record.data, {
            'state': HostState.FENCING, 'recovery': rid, 'state_since': now,
            'reason': 'fencing (recovery %s)' % rid})
        if host_data is None or not self.journal.create(
                rec, host_key, record.mod_revision, {}, host_data):
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

    def drain(self):
        """Wait for every queued and running job of both pools; no new
        job is taken afterwards (tests, and a clean stop)."""
        self.control_pool.shutdown(wait=True)
        self.pool.shutdown(wait=True)

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.control_pool.shutdown(wait=False, cancel_futures=True)
        self.notifier.close()


def attach(coordinator):
    """Plug the recovery stages into ``coordinator``'s healer loop."""
    recovery = Recovery(coordinator, max_workers=getattr(
        coordinator.conf.coordinator, 'engine_workers', 8))
    coordinator.recovery = recovery
    coordinator.healer.stages.append(recovery.stage)
    return recovery
