"""What happens when one host fails: the engine's plan, placed VM by VM.

:func:`plan_host_failure` matches the contracts against the servers of one
host as the engine would for a ``host_down`` event and places every server
that needs a new home; :func:`choose_in_aggregate` is the same choice for
evacuate's ``target_aggregate``. Pure, over the records of
:mod:`vmr_coordinator.planning.hosts`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator import segments as segments_mod
from vmr_coordinator.planning.hosts import (RESOURCE_LABELS, RESOURCES, HostCapacity,
                                            ServerLoad, _amount, _as)

#: actions that give a server a new home (and so need room elsewhere)
PLACING_ACTIONS = frozenset({'evacuate', 'boot_from_snapshot'})
#: actions that move nothing: the standby or an external workflow takes over
NON_PLACING_ACTIONS = frozenset({'fip_failover', 'lb_failover', 'mistral', 'webhook', 'noop'})


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


def _place(server, params, tiers, room, groups):
    """``(host, tier kind, None)`` or ``(None, None, why)``: the first tier
    of ``tiers`` (``[(kind, hosts)]``, see
    :meth:`~vmr_coordinator.segments.Segment.tiers`) with a host for
    ``server``; why the last one refused when none has."""
    why = 'no usable destination host'
    for kind, hosts in tiers:
        host, why = _choose(server, params, hosts, room, groups)
        if host:
            return host, kind, None
        if len(tiers) > 1:
            why = '%s hosts: %s' % (kind, why)
    return None, None, why


def place_in_segment(failed: str, steps: Iterable, servers: Iterable,
                     hypervisors: Iterable, segment) -> dict:
    """Where each placing step goes inside ``segment`` when ``failed``
    fails: ``{server id: (host or None, tier kind or None, reason)}``.

    ``steps`` are ``(server id, action, params)`` in the engine's order;
    ``servers`` every :class:`ServerLoad` (server groups see members on
    other hosts); steps whose action places nothing are left out.  The
    choice is :func:`plan_host_failure`'s, one shared account of room.
    """
    loads = {s.facts.id: s for s in _as(ServerLoad, servers)}
    hosts = _as(HostCapacity, hypervisors)
    tiers = segment.tiers(failed, hosts)
    room = _Room([h for _, tier in tiers for h in tier])
    groups = _group_hosts(list(loads.values()), failed)
    out = {}
    for server_id, action, params in steps:
        if action not in PLACING_ACTIONS:
            continue
        load = loads.get(server_id)
        if load is None:
            out[server_id] = (None, None, 'Nova no longer lists it')
            continue
        dest, kind, why = _place(load, params or {}, tiers, room, groups)
        if dest:
            room.take(dest, load)
            if load.group:
                where = groups.setdefault(load.group, {})
                where[dest] = where.get(dest, 0) + 1
            why = '%s host %s of segment %s (%s)' % (
                kind, dest, segment.name, segment.recovery_method)
        out[server_id] = (dest, kind, why)
    return out


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
                      hypervisors: Iterable, service_vm_policy=None,
                      segments: Iterable = ()) -> dict:
    """What VMR would do if ``host`` failed now, as a JSON-ready dict.

    ``servers`` are :class:`ServerLoad` (or dicts) — every server of the
    cloud is best, so that server groups see members on other hosts; only
    those on ``host`` are planned. ``contracts`` are parsed
    :class:`~vmr_coordinator.contracts.Contract` objects (or documents),
    ``hypervisors`` :class:`HostCapacity` records with their state (see
    :func:`host_view`), ``service_vm_policy`` a
    :class:`~vmr_coordinator.contracts.ServiceVmPolicy`, ``segments`` the
    :class:`~vmr_coordinator.segments.Segment` objects: a host in one is
    healed inside it only, in its recovery method's order.

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

    segment, segment_note = segments_mod.segment_of(host, segments, hosts)
    if segment is not None:
        tiers = segment.tiers(host, hosts)
        unusable = segment.unusable(host, hosts)
        candidates = [h for _, tier in tiers for h in tier]
    else:
        candidates, unusable = [], []
        for candidate in hosts:
            if candidate.name == host:
                continue
            why = candidate.problem()
            if why:
                unusable.append({'host': candidate.name, 'reason': why})
            else:
                candidates.append(candidate)
        tiers = [('any', candidates)]
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
            dest, kind, why = _place(load, step.action.params, tiers, room, groups)
            if dest:
                room.take(dest, load)
                if load.group:
                    where = groups.setdefault(load.group, {})
                    where[dest] = where.get(dest, 0) + 1
                entry.update(destination=dest, outcome='placed')
                if kind == 'reserved':
                    entry['reserved_host'] = True
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
        'segment': segment.to_dict() if segment is not None else None,
        'reserved_hosts_used': sorted({s['destination'] for s in placed
                                       if s.get('reserved_host')}),
    }
    if segment_note:
        result['segment_note'] = segment_note
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
    if plan.get('segment'):
        text += ' in segment %s (%s)' % (plan['segment']['name'],
                                         plan['segment']['recovery_method'])
        if plan.get('reserved_hosts_used'):
            text += ', reserved host(s) %s enabled' % ', '.join(
                plan['reserved_hosts_used'])
    text += ', %d unmatched, %d skipped; fits: %s' % (
        len(plan['unmatched']), len(plan['skipped']), 'yes' if plan['fits'] else 'no')
    return text
