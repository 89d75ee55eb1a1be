"""Planning: "if host X fails, what happens?" and "how many failures do we survive?".

Pure functions over plain data, no I/O (the cloud is read by
:mod:`vmr_coordinator.cloud`, the API hands the result out as JSON):

* :func:`plan_host_failure` matches the contracts against the servers of one
  host as the engine would for a ``host_down`` event, in the engine's order
  (priority, then name), and simulates where every server that needs a new
  home goes (``evacuate``, ``boot_from_snapshot``): the fitting host with the
  most free RAM, like Nova's default weigher, among the remaining enabled, up,
  not forced-down hosts, honouring ``target_host``/``target_aggregate`` and
  (anti-)affinity server groups.
* :func:`capacity` answers N+k per aggregate and availability zone: the
  largest k such that losing *any* k usable hosts leaves room for their VMs
  on the others (vCPU, RAM and disk all counted).

The capacity answer is a pooled one: it adds up free room across hosts and so
ignores fragmentation (a 16 GiB VM does not fit in two 8 GiB holes). It is an
upper bound; :func:`plan_host_failure` places VM by VM and is the exact
answer for one host.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vmr_coordinator import contracts as contracts_mod

#: actions that give a server a new home (and so need room elsewhere)
PLACING_ACTIONS = frozenset({'evacuate', 'boot_from_snapshot'})
#: actions that move nothing: the standby or an external workflow takes over
NON_PLACING_ACTIONS = frozenset({'fip_failover', 'lb_failover', 'mistral', 'webhook', 'noop'})

RESOURCES = ('vcpus', 'ram_mb', 'disk_gb')
RESOURCE_LABELS = {'vcpus': 'vCPU', 'ram_mb': 'RAM MiB', 'disk_gb': 'disk GiB'}

#: server group policies the placement honours
AFFINITY_POLICIES = ('anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity')


def _frozen(values) -> frozenset:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        return frozenset([values])
    return frozenset(values)


def _num(value) -> float:
    return float(value or 0)


@dataclass(frozen=True)
class HostCapacity:
    """One compute host's schedulable room and its state.

    ``vcpus``/``ram_mb``/``disk_gb`` are what the scheduler may hand out
    (Placement: ``(total - reserved) * allocation_ratio``), the ``*_used``
    fields what is allocated now. ``enabled``/``up``/``forced_down`` come from
    os-services; a host may be a destination only when enabled, up and not
    forced down.
    """

    name: str
    vcpus: float = 0
    ram_mb: float = 0
    disk_gb: float = 0
    vcpus_used: float = 0
    ram_mb_used: float = 0
    disk_gb_used: float = 0
    enabled: bool = True
    up: bool = True
    forced_down: bool = False
    aggregates: frozenset = frozenset()
    zone: str | None = None
    source: str = ''

    def __post_init__(self):
        object.__setattr__(self, 'aggregates', _frozen(self.aggregates))
        for name in RESOURCES:
            object.__setattr__(self, name, _num(getattr(self, name)))
            object.__setattr__(self, name + '_used', _num(getattr(self, name + '_used')))

    @classmethod
    def from_dict(cls, doc: Mapping) -> 'HostCapacity':
        """Build from a dict with the field names (``host`` for ``name`` too)."""
        doc = dict(doc)
        if 'name' not in doc and 'host' in doc:
            doc['name'] = doc['host']
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in names})

    def used(self, resource: str) -> float:
        """Allocated amount of ``resource``."""
        return getattr(self, resource + '_used')

    def free(self, resource: str) -> float:
        """Unallocated amount of ``resource`` (never below zero)."""
        return max(0.0, getattr(self, resource) - self.used(resource))

    def problem(self) -> str | None:
        """Why this host cannot take servers, or None when it can."""
        if self.forced_down:
            return 'compute service forced down'
        if not self.up:
            return 'compute service down'
        if not self.enabled:
            return 'compute service disabled'
        return None


@dataclass(frozen=True)
class ComputeService:
    """A nova-compute service as os-services reports it."""

    host: str
    enabled: bool = True
    up: bool = True
    forced_down: bool = False
    zone: str | None = None
    disabled_reason: str | None = None

    @classmethod
    def from_dict(cls, doc: Mapping) -> 'ComputeService':
        """Build from a dict with the field names (unknown keys ignored)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(frozen=True)
class Aggregate:
    """A host aggregate: its hosts and, if it defines one, its zone."""

    name: str
    hosts: frozenset = frozenset()
    availability_zone: str | None = None

    def __post_init__(self):
        object.__setattr__(self, 'hosts', _frozen(self.hosts))

    @classmethod
    def from_dict(cls, doc: Mapping) -> 'Aggregate':
        """Build from a dict with the field names (unknown keys ignored)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(frozen=True)
class ServerLoad:
    """A server as placement sees it: its facts, its flavor's size, its group.

    ``disk_gb`` is the local disk it takes (0 for a server booted from a
    volume). ``group`` is the id of its server group and ``group_policy``
    that group's policy (``anti-affinity``...), when it has one.
    ``pinned_zone`` is the availability zone the server was booted into
    (Nova keeps an evacuated server in it; ``pinned_availability_zone``).
    """

    facts: contracts_mod.ServerFacts
    vcpus: float = 0
    ram_mb: float = 0
    disk_gb: float = 0
    group: str | None = None
    group_policy: str | None = None
    pinned_zone: str | None = None

    @classmethod
    def from_dict(cls, doc: Mapping) -> 'ServerLoad':
        """Build from ServerFacts fields plus ``flavor`` ``{vcpus, ram, disk}``
        (or ``vcpus``/``ram_mb``/``disk_gb``) and ``group``/``group_policy``."""
        flavor = doc.get('flavor') or {}
        return cls(facts=contracts_mod.ServerFacts.from_dict(doc),
                   vcpus=_num(doc.get('vcpus', flavor.get('vcpus'))),
                   ram_mb=_num(doc.get('ram_mb', flavor.get('ram'))),
                   disk_gb=_num(doc.get('disk_gb', flavor.get('disk'))),
                   group=doc.get('group'), group_policy=doc.get('group_policy'),
                   pinned_zone=doc.get('pinned_zone'))

    def need(self, resource: str) -> float:
        """How much of ``resource`` the server takes."""
        return getattr(self, resource)

    def size(self) -> dict:
        """The server's size as a dict."""
        return {name: self.need(name) for name in RESOURCES}


def _as(cls, items):
    return [item if isinstance(item, cls) else cls.from_dict(item) for item in items or ()]


def _amount(value: float):
    """Whole numbers as ints in answers (JSON readers prefer 4 to 4.0)."""
    return int(value) if float(value).is_integer() else round(value, 2)


# --------------------------------------------------------------------------
# The host view: hypervisor usage + os-services + aggregates + zones
# --------------------------------------------------------------------------

def host_view(hypervisors, services=(), aggregates=(), zones=None) -> list[HostCapacity]:
    """Merge the four sources into one :class:`HostCapacity` per host.

    ``services`` (os-services) set state and zone when given; ``aggregates``
    add aggregate membership; ``zones`` (``{zone: [hosts]}``) override the
    zone. A service without a hypervisor record is listed with no room (its
    usage is unknown, it can take nothing).
    """
    hosts = {h.name: h for h in _as(HostCapacity, hypervisors)}
    by_service = {s.host: s for s in _as(ComputeService, services)}
    for name in by_service:
        hosts.setdefault(name, HostCapacity(name=name, source='no usage data'))
    in_aggregates: dict[str, set] = {}
    aggregate_zone: dict[str, str] = {}
    for aggregate in _as(Aggregate, aggregates):
        for name in aggregate.hosts:
            in_aggregates.setdefault(name, set()).add(aggregate.name)
            if aggregate.availability_zone:
                aggregate_zone[name] = aggregate.availability_zone
    zone_of = {}
    for zone, members in (zones or {}).items():
        for name in members or ():
            zone_of[name] = zone
    out = []
    for name, host in sorted(hosts.items()):
        service = by_service.get(name)
        fields = dict(host.__dict__)
        if service is not None:
            fields.update(enabled=service.enabled, up=service.up,
                          forced_down=service.forced_down)
        fields['aggregates'] = frozenset(host.aggregates) | in_aggregates.get(name, set())
        fields['zone'] = (zone_of.get(name) or aggregate_zone.get(name)
                          or (service.zone if service else None) or host.zone)
        out.append(HostCapacity(**fields))
    return out


# --------------------------------------------------------------------------
# What happens when one host fails
# --------------------------------------------------------------------------

class _Room:
    """Free room per host while the plan places servers one by one."""

    def __init__(self, hosts: list[HostCapacity]):
        self.hosts = {h.name: h for h in hosts}
        self.free = {h.name: {r: h.free(r) for r in RESOURCES} for h in hosts}

    def fits(self, name: str, server: ServerLoad) -> str | None:
        """Why ``server`` does not fit on ``name`` now (None: it fits)."""
        short = [RESOURCE_LABELS[r] for r in RESOURCES
                 if server.need(r) > self.free[name][r] + 1e-9]
        if short:
            return 'not enough %s' % ', '.join(short)
        return None

    def take(self, name: str, server: ServerLoad) -> None:
        for r in RESOURCES:
            self.free[name][r] -= server.need(r)


def _group_hosts(servers: list[ServerLoad], failed: str) -> dict[str, dict[str, int]]:
    """Group id -> {host: members there}, members on the failed host left out."""
    out: dict[str, dict[str, int]] = {}
    for server in servers:
        if server.group and server.facts.host and server.facts.host != failed:
            where = out.setdefault(server.group, {})
            where[server.facts.host] = where.get(server.facts.host, 0) + 1
    return out


def _choose(server, params, candidates, room, groups, reasons=None):
    """``(host, None)`` or ``(None, why)`` for one server.

    ``reasons`` (a dict, if given) receives why each considered host was
    refused.
    """
    target_host = params.get('target_host')
    target_aggregate = params.get('target_aggregate')
    reasons = {} if reasons is None else reasons
    pool = []
    for host in candidates:
        if target_host and host.name != target_host:
            continue
        if target_aggregate and target_aggregate not in host.aggregates:
            continue
        if server.pinned_zone and host.zone != server.pinned_zone:
            reasons[host.name] = 'outside zone %s, where the server is pinned' % \
                server.pinned_zone
            continue
        why = room.fits(host.name, server)
        members = groups.get(server.group, {}) if server.group else {}
        if why is None and server.group_policy == 'anti-affinity' and members.get(host.name):
            why = 'anti-affinity: a member of its server group runs there'
        if why is None and server.group_policy == 'affinity' and members and \
                host.name not in members:
            why = 'affinity: its server group runs on %s' % ', '.join(sorted(members))
        if why:
            reasons[host.name] = why
            continue
        pool.append(host)
    if not pool:
        if target_host and target_host not in reasons:
            return None, 'target_host %s is not a usable destination' % target_host
        if target_aggregate and not reasons:
            return None, 'no usable host in target_aggregate %s' % target_aggregate
        if not reasons:
            return None, 'no usable destination host'
        detail = '; '.join('%s: %s' % item for item in sorted(reasons.items())[:5])
        more = len(reasons) - 5
        return None, 'no capacity (%s%s)' % (detail, ', ...%d more' % more if more > 0 else '')

    def weight(host):
        crowd = 0
        if server.group and server.group_policy in ('soft-anti-affinity', 'soft-affinity'):
            crowd = groups.get(server.group, {}).get(host.name, 0)
            crowd = crowd if server.group_policy == 'soft-anti-affinity' else -crowd
        return (crowd, -room.free[host.name]['ram_mb'], host.name)
    return min(pool, key=weight).name, None


@dataclass(frozen=True)
class Destination:
    """Where one server goes, or why it cannot go anywhere.

    ``host`` is None when no host qualifies; ``reason`` says why in either
    case, in words an operator can check against ``openstack compute
    service list``.
    """

    host: str | None
    reason: str


def choose_in_aggregate(server: ServerLoad, aggregate: str, failed: str,
                        hosts: Iterable) -> Destination:
    """The host of ``aggregate`` that should take ``server`` (evacuate's
    ``target_aggregate``).

    A host qualifies when it is not ``failed``, its compute service is
    enabled, up and not forced down, and the server fits (vCPU, RAM, disk,
    its pinned zone); among those the most free RAM wins, like Nova's
    default weigher.  Nova's scheduler still checks the chosen host (server
    groups included) when it is handed it.
    """
    hosts = _as(HostCapacity, hosts)
    members = [h for h in hosts if aggregate in h.aggregates and h.name != failed]
    if not members:
        return Destination(None, 'aggregate %s holds no host other than %s (or does not '
                                 'exist); add spare hosts to it or change '
                                 'target_aggregate' % (aggregate, failed))
    reasons = {h.name: h.problem() for h in members if h.problem()}
    usable = [h for h in members if h.name not in reasons]
    room = _Room(usable)
    host, _why = _choose(server, {'target_aggregate': aggregate}, usable, room,
                         {}, reasons)
    refused = '; '.join('%s: %s' % item for item in sorted(reasons.items()))
    if host is None:
        return Destination(None, 'no usable host in aggregate %s (%s)' % (aggregate, refused))
    fitting = [h for h in usable if h.name not in reasons]
    if len(fitting) == 1:
        reason = '%s: %s is its only usable host with room' % (aggregate, host)
    else:
        reason = '%s: %s has the most free RAM (%s MiB) of %d usable hosts' % (
            aggregate, host, _amount(room.free[host]['ram_mb']), len(fitting))
    if refused:
        reason += '; not %s' % refused
    return Destination(host, reason)


def plan_host_failure(host: str, servers: Iterable, contracts: Iterable,
                      hypervisors: Iterable, service_vm_policy=None) -> dict:
    """What VMR would do if ``host`` failed now, as a JSON-ready dict.

    ``servers`` are :class:`ServerLoad` (or dicts) — every server of the
    cloud is best, so that server groups see members on other hosts; only
    those on ``host`` are planned. ``contracts`` are parsed
    :class:`~vmr_coordinator.contracts.Contract` objects (or documents),
    ``hypervisors`` :class:`HostCapacity` records with their state (see
    :func:`host_view`), ``service_vm_policy`` a
    :class:`~vmr_coordinator.contracts.ServiceVmPolicy`.

    Steps come in the engine's order; each says its contract, action,
    destination (or why there is none). ``fits`` is true when every server
    that needs a new home gets one.
    """
    loads = _as(ServerLoad, servers)
    parsed = [c if isinstance(c, contracts_mod.Contract) else contracts_mod.parse_contract(c)
              for c in contracts]
    hosts = _as(HostCapacity, hypervisors)
    by_id = {s.facts.id: s for s in loads}
    event = {'type': 'host_down', 'host': host}
    mine = [s.facts for s in loads if s.facts.host == host]
    plan = contracts_mod.match(parsed, event, mine, service_vm_policy)

    candidates = []
    unusable = []
    for candidate in hosts:
        if candidate.name == host:
            continue
        why = candidate.problem()
        if why:
            unusable.append({'host': candidate.name, 'reason': why})
        else:
            candidates.append(candidate)
    room = _Room(candidates)
    groups = _group_hosts(loads, host)

    steps = []
    for order, step in enumerate(plan.steps, 1):
        load = by_id[step.server.id]
        action = step.action.type
        entry = {'order': order, 'server_id': load.facts.id, 'server_name': load.facts.name,
                 'contract': step.contract.name, 'priority': step.contract.priority,
                 'action': action, 'on_failure': [r.type for r in step.on_failure],
                 'size': {r: _amount(v) for r, v in load.size().items()},
                 'destination': None}
        if action in PLACING_ACTIONS:
            dest, why = _choose(load, step.action.params, candidates, room, groups)
            if dest:
                room.take(dest, load)
                if load.group:
                    where = groups.setdefault(load.group, {})
                    where[dest] = where.get(dest, 0) + 1
                entry.update(destination=dest, outcome='placed')
            else:
                entry.update(outcome='no capacity', reason=why)
        elif action in NON_PLACING_ACTIONS:
            entry.update(outcome='moves nothing',
                         reason='%s does not start the server elsewhere' % action)
        else:
            entry.update(outcome='not applicable',
                         reason='%s does not apply to a dead host' % action)
        steps.append(entry)

    without = [s for s in steps if s['outcome'] == 'no capacity']
    placed = [s for s in steps if s['outcome'] == 'placed']
    known = any(h.name == host for h in hosts)
    result = {
        'host': host,
        'known_host': known,
        'fits': not without,
        'servers_on_host': len(mine),
        'steps': steps,
        'placed': len(placed),
        'without_capacity': len(without),
        'skipped': [{'server_id': s.server.id, 'server_name': s.server.name,
                     'reason': s.reason} for s in plan.skipped],
        'unmatched': [{'server_id': s.id, 'server_name': s.name} for s in plan.unmatched],
        'destinations': [{'host': h.name, **{
            r: {'free_before': _amount(h.free(r)), 'free_after': _amount(room.free[h.name][r])}
            for r in RESOURCES}} for h in candidates],
        'unusable_hosts': unusable,
    }
    result['summary'] = plan_sentence(result)
    return result


def plan_sentence(plan: Mapping) -> str:
    """One sentence for operators: the plan's outcome."""
    host = plan['host']
    if not plan['servers_on_host']:
        unknown = '' if plan.get('known_host', True) else ' (not a known compute host)'
        return 'if %s fails: no servers to heal%s' % (host, unknown)
    text = 'if %s fails: %d server(s), %d step(s), %d placed' % (
        host, plan['servers_on_host'], len(plan['steps']), plan['placed'])
    if plan['without_capacity']:
        text += ', %d WITHOUT CAPACITY' % plan['without_capacity']
    text += ', %d unmatched, %d skipped; fits: %s' % (
        len(plan['unmatched']), len(plan['skipped']), 'yes' if plan['fits'] else 'no')
    return text


# --------------------------------------------------------------------------
# N+k per aggregate and zone
# --------------------------------------------------------------------------

def tolerated_failures(hosts: list[HostCapacity]) -> tuple[int, dict | None]:
    """``(k, breaking)``: the largest k such that losing any k of ``hosts``
    leaves room for their VMs on the others (pooled, per resource).

    Losing a set S fits for resource r when ``sum_S used <= sum_rest free``,
    that is ``sum_S (used + free) <= total free``: the worst S is the k hosts
    with the most ``used + free`` (their whole room, not only their load — a
    big empty host that fails takes its free room with it). ``breaking``
    describes the k+1 case that fails: the resource and hosts and how much is
    missing (None when even losing all but one host fits).
    """
    count = len(hosts)
    if count < 2:
        return 0, ({'lost_hosts': [h.name for h in hosts], 'resource': None,
                    'short_by': None, 'reason': 'fewer than two usable hosts'}
                   if count else None)
    total_free = {r: sum(h.free(r) for h in hosts) for r in RESOURCES}
    ranked = {r: sorted(hosts, key=lambda h, r=r: (-(h.used(r) + h.free(r)), h.name))
              for r in RESOURCES}
    for k in range(1, count):
        for r in RESOURCES:
            lost = ranked[r][:k]
            need = sum(h.used(r) for h in lost)
            room = total_free[r] - sum(h.free(r) for h in lost)
            if need > room + 1e-9:
                return k - 1, {'lost_hosts': [h.name for h in lost], 'resource': r,
                               'needed': _amount(need), 'free_on_rest': _amount(room),
                               'short_by': _amount(need - room)}
    return count - 1, None


def _totals(hosts: list[HostCapacity]) -> dict:
    out = {}
    for r in RESOURCES:
        total = sum(getattr(h, r) for h in hosts)
        used = sum(h.used(r) for h in hosts)
        out[r] = {'total': _amount(total), 'used': _amount(used),
                  'free': _amount(sum(h.free(r) for h in hosts))}
    return out


def _group_report(kind: str, name: str, members: list[HostCapacity]) -> dict:
    usable = [h for h in members if h.problem() is None]
    unusable = [{'host': h.name, 'reason': h.problem()} for h in members if h.problem()]
    k, breaking = tolerated_failures(usable)
    return {'kind': kind, 'name': name, 'hosts': len(members), 'usable_hosts': len(usable),
            'tolerates': k, 'n_plus': 'N+%d' % k, 'breaks_at': breaking,
            'unusable': unusable, 'resources': _totals(usable),
            'host_names': [h.name for h in members]}


def capacity(hypervisors, services=(), aggregates=(), zones=None) -> dict:
    """How many host failures the cloud survives, per aggregate and zone.

    ``hypervisors`` are :class:`HostCapacity` records (or dicts) with room
    and usage, ``services`` :class:`ComputeService` records (os-services),
    ``aggregates`` :class:`Aggregate` records, ``zones`` an optional
    ``{zone: [hosts]}`` (default: from the services and aggregates). Only
    usable hosts (enabled, up, not forced down) count: both as hosts that
    may fail and as room. Returns ``{'groups': [...], 'cloud': {...}}``; each
    group has ``tolerates`` (k), the resources (total/used/free) and the case
    that breaks at k+1.
    """
    hosts = host_view(hypervisors, services, aggregates, zones)
    by_name = {h.name: h for h in hosts}
    groups = []
    for aggregate in sorted(_as(Aggregate, aggregates), key=lambda a: a.name):
        members = [by_name[n] for n in sorted(aggregate.hosts) if n in by_name]
        groups.append(_group_report('aggregate', aggregate.name, members))
    zone_members: dict[str, list] = {}
    for h in hosts:
        if h.zone:
            zone_members.setdefault(h.zone, []).append(h)
    for zone, members in sorted(zone_members.items()):
        groups.append(_group_report('zone', zone, members))
    cloud = _group_report('cloud', 'all hosts', hosts)
    return {'groups': groups, 'cloud': cloud,
            'summary': capacity_sentence(groups, cloud),
            'method': 'pooled: free room added up across hosts, fragmentation ignored; '
                      'vmr plan HOST places VM by VM'}


def capacity_sentence(groups: list, cloud: Mapping) -> str:
    """One sentence: the cloud's N+k and the weakest group."""
    text = 'cloud: %d usable host(s) of %d, survives %d host failure(s)' % (
        cloud['usable_hosts'], cloud['hosts'], cloud['tolerates'])
    if groups:
        weakest = min(groups, key=lambda g: (g['tolerates'], g['kind'], g['name']))
        text += '; weakest: %s %s at N+%d' % (weakest['kind'], weakest['name'],
                                              weakest['tolerates'])
    return text

