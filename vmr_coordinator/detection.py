"""Host failure detection: pure decisions over a snapshot (DESIGN §3).

Nothing here does I/O: :func:`detect` takes a :class:`Snapshot`, the time and
the policy, and returns what should change.  The healer writes it.

A host absent from the agents group is a *suspect*; it becomes *failed* only
when it stayed absent for the (flap-adjusted) grace, no prober reached it on
any network, the disruption brake is not engaged for its zone and it is not
in maintenance.  Inventory minus live members, re-evaluated every cycle: a
host that died before the coordinator started is found like any other.
"""

import dataclasses
import uuid

from vmr_common.models import HostState
from vmr_common.reach import ring


@dataclasses.dataclass
class Policy:
    """The detection knobs, taken from ``[coordinator]`` and ``[heartbeat]``."""

    grace: float = 2.0
    ttl: float = 3.0
    probe_timeout: float = 2.0
    probers: int = 3
    on_partition: str = 'wait'
    reprobe_interval: float = 10.0
    max_failed_percent: int = 40
    max_failed_hosts: int = 5
    brake_window: float = 60.0
    brake_min_hosts: int = 3
    flap_holddown: float = 120.0

    @classmethod
    def from_conf(cls, conf):
        co = conf.coordinator
        return cls(grace=co.grace, ttl=conf.heartbeat.ttl,
                   probe_timeout=co.probe_timeout, probers=co.probers,
                   on_partition=co.on_partition,
                   reprobe_interval=max(5.0, 5 * co.probe_timeout),
                   max_failed_percent=co.max_failed_percent,
                   max_failed_hosts=co.max_failed_hosts,
                   brake_window=co.brake_window,
                   brake_min_hosts=co.brake_min_hosts,
                   flap_holddown=co.flap_holddown)


@dataclasses.dataclass
class Transition:
    """Change host ``host`` to ``state``; ``fields`` are merged into its record."""

    host: str
    old: str
    state: str
    reason: str
    fields: dict
    revision: int   # the record's mod_revision it was decided from


@dataclasses.dataclass
class ProbeRequest:
    """Ask ``probers`` (and the coordinator) to probe ``target``."""

    target: str
    request_id: str
    body: dict


@dataclasses.dataclass
class Detection:
    """Everything one detection pass decided."""

    transitions: list
    probes: list
    brake: dict        # zone -> reason, for zones whose brake is engaged
    brake_changed: bool
    waiting: list      # (host, why) for suspects still being judged
    #: seconds until the first grace (or probe deadline) of a suspect ends:
    #: the loop looks again then instead of at its next period (None: none)
    wake_in: float = None

    def sentence(self):
        """A short human account, for run_cycle()'s line."""
        parts = []
        for t in self.transitions:
            parts.append('%s %s -> %s (%s)' % (t.host, t.old, t.state,
                                               t.reason))
        for zone, entry in sorted(self.brake.items()):
            parts.append('BRAKE engaged in %s: %s'
                         % (describe_group(zone), entry['reason']))
        if len(self.waiting) <= 10:
            for host, why in self.waiting:
                parts.append('%s suspect: %s' % (host, why))
        else:
            # A mass failure: one line per reason, not one per host.
            by_reason = {}
            for host, why in self.waiting:
                by_reason.setdefault(why, []).append(host)
            for why, hosts in sorted(by_reason.items()):
                parts.append('%d suspects, %s: %s' % (len(hosts), why,
                                                      _some(hosts)))
        return '; '.join(parts)


def recent_flaps(record, now, holddown, age=None):
    """The flaps of ``record`` still within the hold-down.

    A flap counts while it is younger than ``holddown`` by the wall clock
    that wrote it and, with ``age`` (:meth:`Ages.bind`), by this
    coordinator's monotonic clock since it wrote or first saw it: a wall
    clock stepped back cannot stretch the hold-down; one stepped forward
    only ends it early, back to the base grace.
    """
    out = []
    for wall in record.data.get('flaps', []):
        if now - wall >= holddown:
            continue
        if age is not None and \
                age(record.name, 'flap@%r' % (wall,), wall) >= holddown:
            continue
        out.append(wall)
    return out


def effective_grace(flaps, policy):
    """The grace for a host with ``flaps`` recent flaps
    (:func:`recent_flaps`): doubled for each one (hold-down)."""
    if not flaps:
        return policy.grace
    base = max(policy.grace, policy.ttl)
    return min(base * (2 ** flaps), max(policy.flap_holddown, base))


def probe_outcome(snapshot, host, request_id, now):
    """``'reachable'``, ``'unreachable'`` or ``'pending'`` for one request."""
    entry = snapshot.probes.get((host, request_id))
    if entry is None or entry['request'] is None:
        # The request expired or was lost (e.g. across a leader change):
        # never conclude from a probe nobody ran; ask again.
        return 'lost', []
    answers = entry['answers']
    reached = sorted('%s via %s' % (prober, ','.join(
        net for net, ok in sorted(ans.get('reachable', {}).items()) if ok))
        for prober, ans in answers.items()
        if any(ans.get('reachable', {}).values()))
    if reached:
        return 'reachable', reached
    request = entry['request']
    expected = set(request.get('probers', []))
    if expected and expected <= set(answers):
        # every prober answered: no clock needed (a wall clock stepped back
        # must not hold the verdict)
        return 'unreachable', []
    if now >= request.get('deadline', 0):
        return 'unreachable', []
    return 'pending', []


def choose_probers(snapshot, target, count, live=None):
    """The ``count`` live agents that already watch ``target``: the ones
    after it on the neighbour ring (:func:`vmr_common.reach.ring.watchers_of`).

    Every agent watches the ``[agent] watch_neighbours`` live agents
    *before* it all the time (``ReachabilityWatch``), so the agents chosen
    here answer at once.  ``live`` is ``sorted(snapshot.members)`` when the
    caller has it already (:func:`detect` sorts once per cycle, not once per
    suspect: a mass failure of 500 of 5,000 hosts cost 500 sorts).
    """
    if live is None:
        live = sorted(snapshot.members)
    return ring.watchers_of(live, target, count)


def random_id():
    """A new probe request id (12 hex digits)."""
    return uuid.uuid4().hex[:12]


def make_probe_request(snapshot, record, now, policy, coordinator=None,
                       live=None, new_id=random_id):
    """A :class:`ProbeRequest` for ``record``'s host; ``new_id()`` names
    it."""
    addresses = record.agent.get('addresses') or {}
    probers = choose_probers(snapshot, record.name, policy.probers, live)
    if coordinator:
        probers.append(coordinator)
    request_id = new_id()
    body = {
        'target': record.name,
        'probers': probers,
        'addresses': addresses,
        'port': record.agent.get('probe_port', 4747),
        'timeout': max(0.1, policy.probe_timeout / 2),
        'created': now,
        'deadline': now + policy.probe_timeout,
    }
    return ProbeRequest(record.name, request_id, body)


def _some(names, shown=10):
    """``a, b, c and 97 more``: alarms stay readable in a mass failure."""
    if len(names) <= shown:
        return ', '.join(names)
    return '%s and %d more' % (', '.join(names[:shown]), len(names) - shown)


#: brake groups of failover segments are named ``segment:<name>`` (Nova
#: refuses ':' in availability zone names, so none collides with a zone)
SEGMENT_GROUP = 'segment:'


def brake_groups(snapshot):
    """``{group: [HostRecord]}``: the sets of hosts the disruption brake
    judges.  Every availability zone, and every enabled failover segment:
    its hosts, its reserved hosts and, for a segment of an availability
    zone, that zone's hosts.  (A segment defined by a Nova aggregate only
    counts its listed hosts here: agents do not know their aggregates.)
    Hosts in maintenance are in no group."""
    watched = [r for r in snapshot.hosts.values()
               if not r.data.get('maintenance')]
    groups = {}
    for record in watched:
        groups.setdefault(record.zone, []).append(record)
    for segment in snapshot.segments:
        if not segment.enabled:
            continue
        listed = set(segment.hosts) | set(segment.reserved_hosts)
        members = [r for r in watched if r.name in listed or (
            segment.availability_zone and
            r.zone == segment.availability_zone)]
        if members:
            groups[SEGMENT_GROUP + segment.name] = members
    return groups


def describe_group(group):
    """``zone az1`` or ``segment rack-7``."""
    if group.startswith(SEGMENT_GROUP):
        return 'segment %s' % group[len(SEGMENT_GROUP):]
    return 'zone %s' % group


def zone_brakes(snapshot, now, policy, absent, age=None, groups=None):
    """Zones and segments whose disruption brake is engaged, with the
    reason (``groups``: :func:`brake_groups`).

    ``age(host, field, wall)`` says how long ago a host turned suspect
    (see :func:`detect`): a wall clock stepped forward must not age a mass
    failure out of the window and let it be fenced.
    ``absent`` is the set of hosts judged absent this cycle.  A zone brakes
    when more than ``max_failed_hosts`` hosts, or more than
    ``max_failed_percent`` of its hosts (zones of at least
    ``brake_min_hosts``), turned suspect inside ``brake_window`` and are
    still absent.  An engaged brake stays engaged while any of the hosts that
    engaged it is still absent (so a long etcd outage cannot "age out" of
    the window and fence everyone).
    """
    if age is None:
        def age(_host, _field, wall):
            return now - wall

    def suspect_for(record):
        since = record.data.get('suspect_since')
        if not isinstance(since, (int, float)):
            return 0.0      # turning suspect this very cycle
        return age(record.name, 'suspect_since', since)
    previous = (snapshot.brake or {}).get('zones', {}) if snapshot.brake \
        else {}
    zones = brake_groups(snapshot) if groups is None else groups
    engaged = {}
    for zone, records in zones.items():
        recent = sorted(
            r.name for r in records if r.name in absent
            and r.state in (HostState.UP, HostState.SUSPECT,
                            HostState.PARTITIONED)
            and suspect_for(r) <= policy.brake_window)
        size = len(records)
        over_count = len(recent) > policy.max_failed_hosts
        over_pct = (size >= policy.brake_min_hosts and
                    len(recent) * 100 > policy.max_failed_percent * size)
        if over_count or over_pct:
            engaged[zone] = {
                'reason': '%d of %d hosts went silent within %.0f s (%s): '
                          'suspecting a fault on VMR\'s side, automatic '
                          'fencing stopped' % (len(recent), size,
                                               policy.brake_window,
                                               _some(recent)),
                'hosts': sorted(set(recent) | set(
                    previous.get(zone, {}).get('hosts', [])))}
        elif zone in previous:
            still = [h for h in previous[zone].get('hosts', [])
                     if h in absent and h in snapshot.hosts and
                     snapshot.hosts[h].state in (HostState.SUSPECT,
                                                 HostState.PARTITIONED)]
            if still:
                engaged[zone] = dict(previous[zone])
    return engaged


class Ages:
    """How long ago a wall-clock time in a host record was written, measured
    on this coordinator's monotonic clock.

    Grace and re-probe decisions compare "now" with times other cycles (or
    coordinators) wrote.  A wall clock stepped forward would end a grace
    early; one stepped back would hold a dead host in grace, or a
    partitioned one un-probed, for as long as the step.  So the age of
    ``(host, field)`` counts from when this coordinator wrote the value
    (:meth:`wrote`) or first saw it: a value written by another coordinator
    (a new leader) starts at 0 -- its grace restarts, which only delays.
    Pure: the caller passes the monotonic time.
    """

    def __init__(self):
        self._seen = {}     # (host, field) -> (wall value, monotonic seen)
        self._used = set()  # the keys the last cycle asked about

    def wrote(self, host, field, wall, mono):
        """This coordinator wrote ``wall`` into ``field`` at ``mono``."""
        self._seen[(host, field)] = (wall, mono)
        self._used.add((host, field))

    def bind(self, mono):
        """``age(host, field, wall)`` for one cycle at monotonic ``mono``;
        entries that cycle does not ask about are forgotten at the next
        :meth:`bind`."""
        for key in set(self._seen) - self._used:
            del self._seen[key]
        self._used = used = set()

        def age(host, field, wall):
            key = (host, field)
            seen = self._seen.get(key)
            if seen is None or seen[0] != wall:
                seen = self._seen[key] = (wall, mono)
            used.add(key)
            return max(0.0, mono - seen[1])
        return age


def detect(snapshot, now, policy, coordinator=None, age=None,
           new_id=random_id):
    """Decide every host's next detection state from ``snapshot``.

    ``now`` is wall-clock time (written into records and probe requests).
    ``age(host, field, wall)`` says how long ago a record's ``suspect_since``
    or ``probed_at`` was (default ``now - wall``; the healer passes
    :meth:`Ages.bind` so that a stepped wall clock changes nothing).
    ``coordinator`` is this member's name; it is added to every probe
    request's probers so the coordinator probes too.  ``new_id()`` names
    each new probe request (tests pass a predictable one).
    """
    if age is None:
        def age(_host, _field, wall):
            return now - wall
    transitions, probes, waiting = [], [], []
    wakes = []      # seconds until a suspect's verdict may change by time
    absent = {name for name in snapshot.hosts if not snapshot.live(name)}
    groups = brake_groups(snapshot)
    brakes = zone_brakes(snapshot, now, policy, absent, age, groups)
    braked = {}     # host -> the first engaged group it is in
    for group in sorted(brakes):
        for record in groups.get(group, ()):
            braked.setdefault(record.name, group)
    members = sorted(snapshot.members)

    def move(record, state, reason, **fields):
        fields.setdefault('state_since', now)
        fields['state'] = state
        fields['reason'] = reason
        transitions.append(Transition(record.name, record.state, state,
                                      reason, fields, record.mod_revision))

    for name in sorted(snapshot.hosts):
        record = snapshot.hosts[name]
        data = record.data
        state = record.state
        live = name not in absent
        # asked every cycle, so that the ages of its flaps keep counting
        flaps = recent_flaps(record, now, policy.flap_holddown, age)

        if data.get('maintenance'):
            if state in (HostState.UP, HostState.SUSPECT,
                         HostState.PARTITIONED):
                move(record, HostState.MAINTENANCE,
                     'in maintenance: not monitored')
            continue

        if live:
            if state in (HostState.SUSPECT, HostState.PARTITIONED):
                since = data.get('suspect_since', now)
                move(record, HostState.UP,
                     'back in the agents group after %.1f s'
                     % age(name, 'suspect_since', since),
                     flaps=flaps + [now], suspect_since=None, probe=None)
            elif state == HostState.MAINTENANCE:
                move(record, HostState.UP, 'maintenance ended')
            elif state == HostState.FAILED and not data.get('recovery'):
                move(record, HostState.UP,
                     'back in the agents group (boot id %s)'
                     % snapshot.members[name].capabilities.get('boot_id'),
                     suspect_since=None, probe=None)
            continue

        # -- absent from the group ----------------------------------------
        def new_probe(record=record):
            req = make_probe_request(snapshot, record, now, policy,
                                     coordinator, members, new_id)
            probes.append(req)
            return req.request_id

        if state in (HostState.UP, HostState.MAINTENANCE):
            grace = effective_grace(len(flaps), policy)
            reason = 'left the agents group'
            if grace > policy.grace:
                reason += ' (flapping: hold-down grace %.0f s)' % grace
            # Probing starts at once, in parallel with the grace period.
            move(record, HostState.SUSPECT, reason, suspect_since=now,
                 probe=new_probe() if record.agent.get('addresses') else None,
                 grace=grace)
            wakes.append(grace)
            continue

        if state == HostState.SUSPECT:
            since = data.get('suspect_since', now)
            grace = data.get('grace', policy.grace)
            request_id = data.get('probe')
            if not record.agent.get('addresses'):
                outcome, reached = 'unreachable', []
            elif not request_id:
                outcome, reached = 'lost', []
            else:
                outcome, reached = probe_outcome(snapshot, name, request_id,
                                                 now)
            if outcome == 'lost':
                move(record, HostState.SUSPECT, 'probing again (the probe '
                     'request expired)', probe=new_probe(),
                     state_since=data.get('state_since', now))
                continue
            if outcome == 'reachable' and policy.on_partition == 'wait':
                move(record, HostState.PARTITIONED,
                     'silent in etcd but reachable: %s' % '; '.join(reached),
                     probe=None, probed_at=now)
                continue
            absent_for = age(name, 'suspect_since', since)
            if absent_for < grace:
                waiting.append((name, 'in grace (%.0f s)' % grace))
                wakes.append(grace - absent_for)
                continue
            if outcome == 'pending':
                waiting.append((name, 'waiting for probes'))
                # the answers wake the loop; the deadline is a time
                deadline = (snapshot.probes[(name, request_id)]['request']
                            .get('deadline'))
                if deadline is not None:
                    wakes.append(deadline - now)
                continue
            if name in braked:
                waiting.append((name, 'brake engaged in %s'
                                % describe_group(braked[name])))
                continue
            why = ('absent %.1f s, unreachable on every network'
                   % absent_for) if outcome == 'unreachable' else \
                ('absent %.1f s, reachable (%s) but on_partition=fence'
                 % (absent_for, '; '.join(reached)))
            move(record, HostState.FAILED, why, failed_at=now,
                 failed_boot_id=record.agent.get('boot_id'), probe=None)
            continue

        if state == HostState.PARTITIONED:
            request_id = data.get('probe')
            if not request_id:
                if age(name, 'probed_at', data.get('probed_at', now)) >= \
                        policy.reprobe_interval:
                    req = make_probe_request(snapshot, record, now, policy,
                                             coordinator, members, new_id)
                    probes.append(req)
                    move(record, HostState.PARTITIONED, data.get(
                        'reason', 'partitioned'), probe=req.request_id,
                        state_since=data.get('state_since', now))
                continue
            outcome, reached = probe_outcome(snapshot, name, request_id, now)
            if outcome == 'pending':
                continue
            if outcome == 'lost':
                move(record, HostState.PARTITIONED, data.get(
                    'reason', 'partitioned'), probe=None,
                    state_since=data.get('state_since', now))
                continue
            if outcome == 'reachable':
                move(record, HostState.PARTITIONED,
                     'silent in etcd but reachable: %s' % '; '.join(reached),
                     probe=None, probed_at=now,
                     state_since=data.get('state_since', now))
                continue
            if name in braked:
                waiting.append((name, 'brake engaged in %s'
                                % describe_group(braked[name])))
                continue
            move(record, HostState.FAILED,
                 'was partitioned, now unreachable on every network',
                 failed_at=now, failed_boot_id=record.agent.get('boot_id'),
                 probe=None)

    previous = set(((snapshot.brake or {}).get('zones') or {}).keys())
    return Detection(transitions, probes, brakes,
                     previous != set(brakes), waiting,
                     max(0.0, min(wakes)) if wakes else None)
