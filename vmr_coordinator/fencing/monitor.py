"""The leader proves every host's fence path while nothing is failing.

A BMC password that expired, a BMC that lost its network, a fence agent
that was uninstalled: each is found during the next outage unless someone
looks before.  Every ``[coordinator] fence_check_interval`` seconds the
leader runs :func:`~vmr_coordinator.fencing.check.check_ladder` -- the
status-only call of ``vmr fence test``, nothing is switched -- for each
host, spread evenly over the interval so a thousand hosts never hit their
BMCs (or this process) at once, at most ``fence_check_concurrency`` at a
time, in threads of its own: a dead BMC that holds a check for its whole
timeout never delays a healer cycle.  Hosts being fenced or about to be
(``suspect``, ``partitioned``, ``failed``, ``fencing``, ``blocked``) are
skipped, so a check never competes with a real fence for a BMC's sessions.

Each result is written to ``fence_checks/<host>`` with the leader's guard:
every coordinator reads the keys (:func:`read_results`, when the API or
the metrics ask; not in the healer's snapshot, which needs none of it), so
``/v1/status`` (``vmr status``) and ``vmr_fence_path_ok{host,driver}`` say
the same whichever coordinator answers, and survive a leader change (a
deposed leader cannot write one).  A path that breaks is logged at ERROR, one that
works again at INFO.

:func:`due_hosts`, :func:`spread` and :func:`result_record` are pure.
"""

import logging
import threading
import time

from vmr_common import exceptions
from vmr_common.models import HostState
from vmr_common.store import Op
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import check

LOG = logging.getLogger(__name__)

#: host states in which a fence is under way or may start soon: a suspect
#: or partitioned host is absent from the group (it may be declared failed
#: within a few seconds), a blocked recovery retries its ladder with
#: back-off.  A check takes about a second on a live BMC, less than
#: detection needs (T + grace + period), so it never overlaps a fence.
BEING_FENCED = (HostState.SUSPECT, HostState.PARTITIONED, HostState.FAILED,
                HostState.FENCING, HostState.BLOCKED)


def read_results(store):
    """``{host: record}`` of the last fence path checks; records that are
    not JSON objects are skipped."""
    return dict(store.get_objects(
        store.keys.fence_checks,
        lambda exc: LOG.debug('fence checks: skipping %s', exc)))


def due_hosts(snap):
    """The hosts to check this round, sorted: every host record but those
    being fenced."""
    return sorted(name for name, record in snap.hosts.items()
                  if record.state not in BEING_FENCED)


def spread(hosts, interval):
    """``[(offset seconds, host)]``: the hosts evenly over ``interval``."""
    if not hosts:
        return []
    step = interval / len(hosts)
    return [(i * step, host) for i, host in enumerate(hosts)]


def result_record(host, profile, rungs, checked_at, checked_by, error=None):
    """What ``fence_checks/<host>`` holds for one check.

    ``ok`` is true when every rung (ladder and post steps) answered: a rung
    that cannot be read today is a rung that will fail in an outage.
    """
    rungs = [{k: r.get(k) for k in ('kind', 'index', 'driver', 'ok',
                                    'power_state', 'error', 'seconds')}
             for r in rungs]
    return {'host': host, 'profile': profile,
            'ok': error is None and bool(rungs) and all(r['ok']
                                                       for r in rungs),
            'error': error, 'rungs': rungs, 'checked_at': checked_at,
            'checked_by': checked_by}


def failure_summary(record):
    """One line: why the fence path of ``record`` failed."""
    if record.get('error'):
        return record['error']
    return '; '.join('%s: %s' % (r.get('driver'), r.get('error') or 'failed')
                     for r in record.get('rungs') or () if not r.get('ok'))


class FencePathMonitor:
    """Checks every host's fence path while this coordinator leads.

    ``election`` tells whether we lead and gives the guard of our writes;
    ``snapshot`` is a callable returning a fresh :class:`Snapshot`;
    ``profiles`` a callable returning the loaded
    :class:`~vmr_coordinator.fencing.profiles.FenceProfiles`.
    """

    def __init__(self, conf, store, election, snapshot, profiles, interval,
                 concurrency, cloud=None, clock=time.monotonic,
                 check_ladder=check.check_ladder):
        self.conf = conf
        self.store = store
        self.election = election
        self.snapshot = snapshot
        self.profiles = profiles
        self.interval = float(interval)
        self.concurrency = int(concurrency)
        self.cloud = cloud
        self.clock = clock
        self.check_ladder = check_ladder
        self.rounds = 0
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._stop = threading.Event()
        self._thread = None
        self._workers = []
        #: the last fence profiles load error (logged once, not per host)
        self._profiles_error = None

    # -- the thread ------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='vmr-fence-monitor')
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def _run(self):
        # while standby, look again every few seconds: the first round
        # starts soon after this coordinator wins the election
        idle = min(self.interval, max(1.0, self.conf.coordinator.leader_ttl))
        while not self._stop.is_set():
            if not self.election.is_leader():
                self._stop.wait(idle)
                continue
            started = self.clock()
            try:
                self.run_round()
            except exceptions.StoreError as exc:
                LOG.warning('fence path check: etcd: %s; trying again next '
                            'round', exc)
            except Exception:  # a bug must not stop the checks for good
                LOG.exception('fence path check round failed')
            self._stop.wait(max(idle, self.interval -
                                (self.clock() - started)))

    # -- one round -------------------------------------------------------
    def run_round(self, wait=False):
        """Check every due host, spread over the interval; returns how many
        checks started.  ``wait``: return only once they finished (tests)."""
        snap = self.snapshot()
        guard = self.election.guard
        if guard is None or not self.election.is_leader():
            return 0
        previous = read_results(self.store)
        self._forget_removed(snap, previous, guard)
        try:
            profiles = self.profiles()
        except base.FenceConfigError as exc:
            profiles = exc      # every host's record will say it
            if str(exc) != self._profiles_error:
                # one line for the cause, not one per host
                LOG.error('fence path check: %s; no host can be fenced '
                          'until this is fixed', exc)
            self._profiles_error = str(exc)
        else:
            if self._profiles_error is not None:
                LOG.info('fence path check: the fence profiles load again')
            self._profiles_error = None
        start = self.clock()
        started = 0
        for offset, host in spread(due_hosts(snap), self.interval):
            if self._stop.wait(max(0.0, start + offset - self.clock())):
                break
            if not self._take_slot():
                break
            if self.election.token != guard.token or \
                    not self.election.is_leader():
                self._slots.release()
                LOG.info('fence path check: no longer leader; round '
                         'stopped')
                break
            worker = threading.Thread(
                target=self._check_in_slot,
                args=(host, guard, profiles, previous.get(host)),
                daemon=True, name='vmr-fence-check-%s' % host)
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
            worker.start()
            started += 1
        self.rounds += 1
        if wait:
            for worker in list(self._workers):
                worker.join()
        return started

    def _take_slot(self):
        """Wait for a free check slot; False when stopping."""
        while not self._slots.acquire(timeout=0.5):
            if self._stop.is_set():
                return False
        return True

    def _forget_removed(self, snap, results, guard):
        """Delete the results of hosts whose record is gone."""
        gone = sorted(set(results) - set(snap.hosts))
        if gone:
            self.store.guarded(guard, [
                Op.delete(self.store.keys.fence_check(host))
                for host in gone])

    def _check_in_slot(self, host, guard, profiles, previous):
        try:
            self.check_host(host, guard, profiles, previous)
        except exceptions.LeadershipLost:
            LOG.info('fence path check of %s not recorded: no longer '
                     'leader', host)
        except exceptions.StoreError as exc:
            LOG.warning('fence path check of %s not recorded: %s', host, exc)
        except Exception:  # never kill the monitor
            LOG.exception('fence path check of %s failed', host)
        finally:
            self._slots.release()

    def check_host(self, host, guard, profiles, previous=None):
        """Check ``host`` now (unless it is being fenced) and record the
        result with ``guard``; the record, or None when skipped.
        ``profiles``: the loaded fence profiles, or the error that loading
        them raised."""
        kv = self.store.get(self.store.keys.host(host))
        if kv is None:
            return None
        try:
            data = kv.json()
        except exceptions.CorruptRecord:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if data.get('state') in BEING_FENCED:
            # went down since the round began: the ladder has the BMC now
            return None
        checked_at = time.time()
        try:
            if isinstance(profiles, Exception):
                raise profiles
            profile = profiles.profile_for(host)
        except base.FenceConfigError as exc:
            record = result_record(host, None, [], checked_at,
                                   self.conf.host, error=str(exc))
        else:
            target = base.FenceTarget(host=host, record=data, now=checked_at,
                                      cloud=self._cloud(profile))
            rungs = self.check_ladder(target, profile, self.conf)
            record = result_record(host, profile.name, rungs, checked_at,
                                   self.conf.host)
        self.store.guarded(guard, [Op.put(self.store.keys.fence_check(host),
                                          record)])
        was_ok = None if previous is None else bool(previous.get('ok'))
        if isinstance(profiles, Exception):
            # run_round logged the cause once for every host
            LOG.debug('fence path of %s not checked: %s', host, profiles)
        elif not record['ok'] and was_ok is not False:
            LOG.error('fence path of %s FAILED: %s; the host could not be '
                      'fenced now (vmr fence test %s shows every rung)',
                      host, failure_summary(record), host)
        elif record['ok'] and was_ok is False:
            LOG.info('fence path of %s works again', host)
        return record

    def _cloud(self, profile):
        """The cloud connection, only for profiles with post steps
        (nova_force_down reads Nova); None when it cannot be had -- the
        post step's row then says why."""
        if not profile.post or self.cloud is None:
            return None
        try:
            return self.cloud()
        except Exception as exc:
            LOG.info('fence path check without the cloud: %s',
                     exceptions.first_line(exc))
            return None
