"""vmr-coordinator's processes: the healer loop (and, later, the API).

The loop runs ``Healer.run_cycle()`` every ``[coordinator] period`` and as
soon as a watched key changes (an agent leaving the group, a probe answer,
the leader key), and logs the cycle's sentence whenever it changes.
"""

import logging
import threading
import time

import cotyledon

from vmr_common import exceptions
from vmr_common import faultlog
from vmr_common.store import Store, Watcher
from vmr_coordinator import healer as healer_mod
from vmr_coordinator import metrics
from vmr_coordinator import recovery
from vmr_coordinator.api import server

LOG = logging.getLogger(__name__)

#: the shortest gap between two cycles when watches keep waking us
MIN_GAP = 0.05
#: how long after a grace's end the loop looks again
GRACE_SLACK = 0.02
#: how run_cycle's sentence starts when etcd cannot be used
ETCD_FAULTS = ('etcd unavailable', 'etcd error')


def next_cycle_in(period, elapsed, wake_in=None):
    """Seconds until the next cycle: what is left of the period, or less
    when a suspect's grace ends sooner (``wake_in``, from the detection of
    the cycle just run): a failed host is then declared at the end of its
    grace, not up to a period later."""
    wait = period - elapsed
    if wake_in is None:
        return max(0.0, wait)
    # a hair past the end, so that the grace is over when looked at
    return max(MIN_GAP, min(wait, wake_in + GRACE_SLACK))


def etcd_version_at_risk(version):
    """True for etcd 3.5.0 to 3.5.4 (read-only txn panic, etcd #14110)."""
    parts = version.split('.')
    try:
        major, minor, patch = (int(p) for p in parts[:3])
    except ValueError:
        return False
    return (major, minor) == (3, 5) and patch < 5


class Coordinator:
    """The coordinator's loop, independent of the process model."""

    def __init__(self, conf, store=None, observe=metrics.observe):
        self.conf = conf
        self.member = conf.host
        self.store = store or Store.from_conf(conf)
        self.healer = healer_mod.Healer(conf, self.store, self.member,
                                        observe=observe)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.last_sentence = None
        self._last_crash = None
        self._corrupt_reported = set()
        self._duplicates_reported = set()
        self.etcd_fault = faultlog.FaultLog(LOG, 'etcd lost, not healing')
        self.recovery = None
        self.api = None
        #: the PreflightMonitor, once run() started it
        self.preflight = None
        #: the FencePathMonitor, once run() started it (None: disabled)
        self.fence_monitor = None
        #: ``metrics(kind, seconds)`` observer (None: none kept); the
        #: prometheus registry the API serves by default
        self.metrics = observe
        self.watchers = [
            Watcher(self.store, self.store.keys.group(conf.heartbeat.group),
                    self._wake.set, timeout=5.0),
            Watcher(self.store, self.store.keys.probes, self._wake.set,
                    timeout=5.0),
            # a standby runs for leader the moment the leader key is gone
            Watcher(self.store, self.store.keys.leader, self._wake.set,
                    timeout=5.0),
        ]

    def attach_stages(self):
        """Plug the stages after detection (fencing, recovery)."""
        recovery.attach(self)

    def start_preflight(self):
        """Check the fence path, the cloud and the contracts now and every
        ``[coordinator] preflight_interval`` in a thread of their own."""
        from vmr_coordinator import preflight
        self.preflight = preflight.PreflightMonitor(
            self.conf, self.store, self.conf.coordinator.preflight_interval)
        self.preflight.start()

    def start_fence_monitor(self):
        """While leader, check every host's fence path every
        ``[coordinator] fence_check_interval`` in threads of their own."""
        interval = self.conf.coordinator.fence_check_interval
        if interval <= 0:
            LOG.info('fence path checks disabled ([coordinator] '
                     'fence_check_interval = 0)')
            return
        from vmr_coordinator import snapshot as snapshot_mod
        from vmr_coordinator.fencing import monitor
        from vmr_coordinator.fencing.profiles import FenceProfiles
        conf = self.conf
        self.fence_monitor = monitor.FencePathMonitor(
            conf, self.store, self.healer.election,
            snapshot=lambda: snapshot_mod.take(self.store,
                                               conf.heartbeat.group),
            # read at each round: a fixed password shows at the next one
            profiles=lambda: FenceProfiles.load(conf.fencing.profiles_file),
            interval=interval,
            concurrency=conf.coordinator.fence_check_concurrency,
            cloud=lambda: self.recovery.conn)
        self.fence_monitor.start()

    def start_api(self):
        """Serve the REST API next to the loop (every coordinator does)."""
        try:
            self.api = server.start_api(self.conf, self.store, self)
        except OSError as exc:
            # Keep healing without the API rather than die: say it loudly.
            LOG.error('API: cannot listen on %s:%s (%s); running without '
                      'the API', self.conf.api.bind_host,
                      self.conf.api.bind_port, exc)

    def run(self):
        period = self.conf.coordinator.period
        LOG.info('vmr-coordinator %s: period %.2f s, grace %.1f s, leader TTL '
                 '%.1f s, heartbeat TTL %.1f s, etcd %s', self.member, period,
                 self.conf.coordinator.grace, self.conf.coordinator.leader_ttl,
                 self.conf.heartbeat.ttl, ','.join(self.store.endpoints))
        self.check_etcd_version()
        self.attach_stages()
        self.start_preflight()
        self.start_fence_monitor()
        self.start_api()
        for watcher in self.watchers:
            watcher.start()
        legacy = None
        while not self._stop.is_set():
            started = time.monotonic()
            self._wake.clear()
            if legacy is None:
                legacy = self.check_legacy_membership()
            sentence = self._cycle()
            if sentence.startswith(ETCD_FAULTS):
                # a lost etcd stops all healing: ERROR, repeated with
                # back-off while it lasts
                self.etcd_fault.report(sentence)
            else:
                self.etcd_fault.clear()
                if sentence != self.last_sentence:
                    LOG.info('%s', sentence)
            self.last_sentence = sentence
            elapsed = time.monotonic() - started
            if self._wake.wait(next_cycle_in(period, elapsed,
                                             self.healer.wake_in)):
                self._stop.wait(MIN_GAP)

    def check_legacy_membership(self):
        """Read older agents at their old group key too, whenever our etcd
        role can (upgrades and rollbacks in either order); None until etcd
        answered."""
        from vmr_coordinator import snapshot as snapshot_mod
        group = self.conf.heartbeat.group
        legacy = snapshot_mod.probe_legacy_membership(self.store, group)
        if legacy is None:
            return None
        if legacy:
            LOG.warning('%d agents of an older VMR are in group %s at its old '
                        'key (%s): counting them live too; upgrade them',
                        legacy, group, self.store.keys.legacy_group(group))
        self.store.legacy_membership = legacy is not False
        return legacy

    def check_etcd_version(self):
        """Warn about an etcd that VMR's reads can crash; the version, or
        None when etcd cannot be asked now (the loop copes with that)."""
        try:
            version = str(self.store.status().get('version', ''))
        except exceptions.StoreError:
            return None
        if etcd_version_at_risk(version):
            LOG.warning(
                'etcd %s at %s panics when the client of a read-only '
                'transaction disconnects while it runs (etcd issue 14110, '
                'fixed in 3.5.5): VMR reads every cycle in one such '
                'transaction, and a coordinator that times out or is cut '
                'off can crash that etcd member. Upgrade etcd to 3.5.5 or '
                'later (or run 3.4).', version, self.store.endpoint)
        return version

    def _cycle(self):
        """One healer cycle that cannot kill the loop.

        run_cycle() handles every store failure itself; anything else is a
        bug or data no check foresaw.  Crashing would restart the worker,
        win the election again after a lease and crash again - every
        coordinator in turn - so no host would ever be healed.  Instead the
        cycle is skipped and the error logged with its traceback once per
        distinct message.
        """
        try:
            sentence = self.healer.run_cycle()
        except Exception as exc:
            text = '%s: %s' % (type(exc).__name__, exc)
            if text != self._last_crash:
                LOG.exception('healer cycle failed, not acting this cycle '
                              '(a bug; please report it): %s', text)
                self._last_crash = text
            return 'cycle failed, not acting: %s' % text
        self._last_crash = None
        self._report_corrupt(self.healer.last_snapshot)
        self._report_duplicates(self.healer.last_snapshot)
        return sentence

    def _report_corrupt(self, snap):
        """Warn once about each key the snapshot had to skip (DESIGN: bad
        data is reported and skipped, never crashes the loop)."""
        if snap is None:
            return
        seen = {}
        for key, reason in snap.corrupt:
            seen[key] = reason
            if key not in self._corrupt_reported:
                LOG.warning('skipping corrupt or foreign key %s: %s; fix or '
                            'delete it', key, reason)
        self._corrupt_reported = set(seen)

    def _report_duplicates(self, snap):
        """Say once, at ERROR, when an agent is refused because another
        live agent holds its host name (the agent logs it on its side)."""
        if snap is None:
            return
        seen = set()
        for report in snap.duplicates:
            key = (report.get('host'), report.get('boot_id'))
            seen.add(key)
            if key not in self._duplicates_reported:
                LOG.error('a second agent claims host name %s (boot id %s, '
                          'addresses %s) while the agent with boot id %s '
                          'holds it: two machines share the name (a cloned '
                          'image?); it is refused until the name is free',
                          key[0], key[1], report.get('addresses') or '-',
                          (report.get('holder') or {}).get('boot_id'))
        self._duplicates_reported = seen

    def stop(self):
        self._stop.set()
        self._wake.set()
        for watcher in self.watchers:
            watcher.stop()
        if self.api is not None:
            self.api.stop()
        if self.preflight is not None:
            self.preflight.stop()
        if self.fence_monitor is not None:
            self.fence_monitor.stop()
        if self.recovery is not None:
            self.recovery.close()
        self.healer.close(resign=True)


class CoordinatorService(cotyledon.Service):
    """cotyledon wrapper of :class:`Coordinator`."""

    name = 'vmr-coordinator'

    def __init__(self, worker_id, conf):
        super().__init__(worker_id)
        self.coordinator = Coordinator(conf)

    def run(self):
        self.coordinator.run()

    def terminate(self):
        LOG.info('vmr-coordinator: terminating, resigning leadership')
        self.coordinator.stop()

    def reload(self):
        self.coordinator.conf.mutate_config_files()
