"""Prometheus metrics of a coordinator (served at ``/metrics`` by the API).

Two kinds:

* durations the healer measures as things happen — detection, fencing, one
  action — kept in process-wide histograms; the healer calls
  :func:`observe_detection`, :func:`observe_fence` and :func:`observe_action`
  (or :func:`observe` with the kind, the ``Coordinator.metrics`` hook);
* the cluster's state — hosts and recoveries by state, leader, brake,
  pause, live agents — read from one etcd snapshot at scrape time by
  :class:`ClusterCollector`, so every coordinator (leader or standby) reports
  the same numbers and nothing goes stale between cycles.
"""

import logging

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from vmr_common import exceptions
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.fencing import monitor as fence_monitor
from vmr_common.models import HostState, RecoveryState, StepState

LOG = logging.getLogger(__name__)

HOST_STATES = HostState.ALL
RECOVERY_STATES = RecoveryState.ALL

# Buckets follow the latency budget (T + grace + P + probe timeout) and the
# slowest things VMR waits for: BMC power-off and a Nova evacuation.
DETECTION = Histogram(
    'vmr_detection_seconds',
    'Time from a host leaving the agents group to its being declared '
    'failed.', buckets=(0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30, 60, 120),
    registry=None)
FENCE = Histogram(
    'vmr_fence_seconds', 'Time to fence a host, verified off.',
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300), registry=None)
ACTION = Histogram(
    'vmr_action_seconds', 'Time of one recovery step (one server, one '
    'action).', buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200),
    registry=None)
FENCE_FAILURES = Counter(
    'vmr_fence_failures', 'Ladder rungs that did not prove a host off, by '
    'driver, on this coordinator since it started (the next rung or a '
    'retry may still have fenced the host).', ['driver'], registry=None)


def observe_detection(seconds):
    """Record how long detecting one failed host took."""
    DETECTION.observe(max(0.0, float(seconds)))


def observe_fence(seconds):
    """Record how long one (verified) fencing took."""
    FENCE.observe(max(0.0, float(seconds)))


def observe_action(seconds):
    """Record how long one recovery step took."""
    ACTION.observe(max(0.0, float(seconds)))


def observe_fence_failure(count, driver):
    """Count ``count`` failed ladder rungs of ``driver``."""
    FENCE_FAILURES.labels(driver=str(driver)).inc(count)


_OBSERVERS = {'detection': observe_detection, 'fence': observe_fence,
              'action': observe_action, 'fence_failure': observe_fence_failure}


def observe(kind, seconds, **labels):
    """Record a duration by kind (``detection``, ``fence``, ``action``), or
    a count (``fence_failure``, with ``driver=``).

    The shape of ``Coordinator.metrics(kind, seconds)``: the service sets
    ``coordinator.metrics = metrics.observe``. An unknown kind raises
    ``ValueError`` naming the known ones (a typo must not vanish silently).
    """
    try:
        observer = _OBSERVERS[kind]
    except KeyError:
        raise ValueError('unknown duration kind %r; one of: %s'
                         % (kind, ', '.join(sorted(_OBSERVERS))))
    observer(seconds, **labels)


class ClusterCollector:
    """Gauges of the cluster's state, read from etcd at each scrape.

    ``coordinator`` (optional) is the local coordinator: it tells whether
    this process leads and how long its last cycle took.
    """

    def __init__(self, store, group, coordinator=None):
        self.store = store
        self.group = group
        self.coordinator = coordinator

    def collect(self):
        yield from local_metrics(coordinator_view(self.coordinator))
        try:
            snap = snapshot_mod.take(self.store, self.group)
        except exceptions.StoreError as exc:
            LOG.warning('metrics: cannot read etcd: %s', exc)
            yield etcd_up_metric(False)
            return
        yield etcd_up_metric(True)
        yield from snapshot_metrics(snap)
        try:
            results = fence_monitor.read_results(self.store)
        except exceptions.StoreError as exc:
            LOG.warning('metrics: cannot read the fence path checks: %s', exc)
            return
        yield fence_path_metric(results)


def local_metrics(view):
    """The gauges of this coordinator (``view``: :func:`coordinator_view`)."""
    leader = GaugeMetricFamily(
        'vmr_leader', '1 when this coordinator is the leader.')
    leader.add_metric([], 1 if view['is_leader'] else 0)
    yield leader
    cycle = GaugeMetricFamily(
        'vmr_cycle_seconds', 'Duration of the last healer cycle of this '
        'coordinator.')
    cycle.add_metric([], view['cycle_seconds'] or 0.0)
    yield cycle


def etcd_up_metric(up):
    gauge = GaugeMetricFamily(
        'vmr_etcd_up', '1 when this coordinator could read etcd for this '
        'scrape.')
    gauge.add_metric([], 1 if up else 0)
    return gauge


def fence_path_metric(fence_checks):
    """``vmr_fence_path_ok{host,driver}`` of the leader's last checks."""
    gauge = GaugeMetricFamily(
        'vmr_fence_path_ok', '1 when every rung of this driver in the '
        'host\'s fence profile answered the leader\'s last status-only '
        'check ([coordinator] fence_check_interval), 0 when one did not; '
        'driver "none" when the host has no usable profile.',
        labels=['host', 'driver'])
    for host, ok in sorted(fence_path_ok(fence_checks).items()):
        gauge.add_metric(list(host), 1 if ok else 0)
    return gauge


def snapshot_metrics(snap):
    """The gauges that describe one :class:`Snapshot`."""
    yield by_state('vmr_hosts', 'Hosts by state.',
                   (r.state for r in snap.hosts.values()), HOST_STATES)
    yield by_state('vmr_recoveries', 'Recoveries in the journal by state.',
                   (data.get('state', 'detected')
                    for data, _rev in snap.journal.values()), RECOVERY_STATES)
    yield by_state(
        'vmr_steps', 'Steps (one server, one action) of the recoveries in '
        'the journal, by state; a rising failed count is a step that '
        'failed.',
        (step.get('state') for data, _rev in snap.journal.values()
         for step in data.get('steps') or () if isinstance(step, dict)),
        StepState.ALL)
    blocked = GaugeMetricFamily(
        'vmr_recovery_blocked_since_timestamp_seconds', 'When each blocked '
        'recovery last became blocked (its fence could not be verified; '
        'it waits for a retry or vmr host confirm-fenced).',
        labels=['recovery', 'host'])
    for rid, (data, _rev) in sorted(snap.journal.items()):
        if data.get('state') == RecoveryState.BLOCKED:
            blocked.add_metric([rid, str(data.get('host'))],
                               blocked_since(data))
    yield blocked
    journal = GaugeMetricFamily(
        'vmr_journal_records', 'Recovery records in the journal: open ones '
        'and those closed less than [journal] archive_after ago (every '
        'snapshot reads them all; older ones are in the history).')
    journal.add_metric([], len(snap.journal))
    yield journal
    brake = GaugeMetricFamily('vmr_brake_engaged', '1 while the disruption '
                              'brake stops automatic fencing.')
    brake.add_metric([], 1 if snap.brake is not None else 0)
    yield brake
    paused = GaugeMetricFamily('vmr_paused', '1 while VMR is paused.')
    paused.add_metric([], 1 if snap.paused is not None else 0)
    yield paused
    live = GaugeMetricFamily('vmr_agents_live', 'Agents in the agents '
                             'group.')
    live.add_metric([], len(snap.members))
    yield live
    duplicates = GaugeMetricFamily(
        'vmr_duplicate_agents', 'Agents refused because another live agent '
        'holds their host name (a cloned image?).')
    duplicates.add_metric([], len(snap.duplicates))
    yield duplicates


def by_state(name, documentation, states, known):
    """A gauge ``name{state}`` counting ``states``, every ``known`` state
    present (zero or more); a state read from a record is a label as text."""
    gauge = GaugeMetricFamily(name, documentation, labels=['state'])
    counts = {}
    for state, count in count_by(states, known).items():
        counts[str(state)] = counts.get(str(state), 0) + count
    for state, count in sorted(counts.items()):
        gauge.add_metric([state], count)
    return gauge


def blocked_since(record):
    """When ``record`` last became blocked: its latest ``blocked`` event,
    else its last update."""
    for event in reversed(record.get('timeline') or []):
        if isinstance(event, dict) and event.get('event') == 'blocked':
            return float(event.get('at') or 0.0)
    return float(record.get('updated_at') or 0.0)


def fence_path_ok(fence_checks):
    """``{(host, driver): ok}`` of the leader's last fence path checks; a
    driver is ok when every rung that uses it answered."""
    out = {}
    for host, record in fence_checks.items():
        rungs = record.get('rungs') or []
        if not rungs:
            out[(host, 'none')] = False
        for rung in rungs:
            key = (host, str(rung.get('driver')))
            out[key] = out.get(key, True) and bool(rung.get('ok'))
    return out


def count_by(states, known):
    """``{state: count}`` with every ``known`` state present (zero or more)."""
    counts = dict.fromkeys(known, 0)
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts


def coordinator_view(coordinator):
    """What the API shows of the local coordinator (all keys always set).

    Reads attributes defensively: the coordinator object belongs to
    ``vmr_coordinator.service`` and the API must keep serving even if it is
    absent (tests, a standalone API) or half started.
    """
    view = {'member': None, 'is_leader': False, 'token': None,
            'sentence': None, 'cycle_seconds': None, 'cycles': None}
    if coordinator is None:
        return view
    healer = getattr(coordinator, 'healer', None)
    election = getattr(healer, 'election', None)
    view['member'] = getattr(coordinator, 'member', None)
    view['sentence'] = getattr(coordinator, 'last_sentence', None)
    if healer is not None:
        view['cycle_seconds'] = getattr(healer, 'cycle_seconds', None)
        view['cycles'] = getattr(healer, 'cycles', None)
    if election is not None:
        try:
            view['is_leader'] = bool(election.is_leader())
        except Exception:  # a half-built election must not break the API
            view['is_leader'] = False
        view['token'] = getattr(election, 'token', None) \
            if view['is_leader'] else None
    return view


def describe():
    """``[(name, type, labels, help)]`` of every series ``/metrics`` serves,
    in the order it serves them (what ``doc/metrics.rst`` lists)."""
    out = []
    for collector in (DETECTION, FENCE, ACTION, FENCE_FAILURES):
        family = collector.collect()[0]
        suffix = '_total' if family.type == 'counter' else ''
        out.append((family.name + suffix, family.type,
                    tuple(collector._labelnames), family.documentation))
    empty = snapshot_mod.Snapshot(0, {}, {}, {}, {}, {}, None, None, None, [])
    families = (list(local_metrics(coordinator_view(None))) +
                [etcd_up_metric(True)] + list(snapshot_metrics(empty)) +
                [fence_path_metric({})])
    for family in families:
        out.append((family.name, family.type, tuple(family._labelnames),
                    family.documentation))
    return out


REFERENCE_HEADER = '''\
=======
Metrics
=======

.. This file is generated: python -m vmr_coordinator.metrics > doc/metrics.rst

Every coordinator serves Prometheus text at ``/metrics`` on the API port
(``[api] bind_host``, ``bind_port``), leader or standby.  The cluster's
state is read from one etcd snapshot at each scrape, so every coordinator
reports the same numbers; durations and ``vmr_fence_failures_total`` are
this process's own (the leader's are the ones that move).  Scrape all
coordinators and aggregate with ``max`` for the cluster series.

``etc/prometheus/vmr-alerts.yml`` holds alert rules on these series
(checked with ``promtool check rules`` and ``promtool test rules`` in the
tests) and ``etc/grafana/vmr-dashboard.json`` a Grafana dashboard.

'''


def reference_rst():
    """``doc/metrics.rst``: a table of :func:`describe`."""
    rows = [('``%s``' % name, kind, ', '.join(labels) or '-',
             ' '.join(doc.split())) for name, kind, labels, doc in describe()]
    header = ('series', 'type', 'labels', 'meaning')
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    rule = ' '.join('=' * w for w in widths)

    def line(cells):
        return ' '.join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
    table = [rule, line(header), rule] + [line(r) for r in rows] + [rule]
    return REFERENCE_HEADER + '\n'.join(table) + '\n'


def make_registry(store, group, coordinator=None):
    """A registry with the duration histograms and the cluster gauges."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in (DETECTION, FENCE, ACTION, FENCE_FAILURES):
        registry.register(collector)
    registry.register(ClusterCollector(store, group, coordinator))
    return registry


if __name__ == '__main__':
    print(reference_rst(), end='')
