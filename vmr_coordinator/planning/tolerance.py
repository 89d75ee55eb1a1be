"""N+k per aggregate, zone and failover segment: how many host failures
the cloud survives.

A pooled answer (free room added up across hosts, fragmentation ignored):
an upper bound next to :func:`~vmr_coordinator.planning.plan_host_failure`'s
exact one for a single host. Pure, over the records of
:mod:`vmr_coordinator.planning.hosts`.
"""

from collections.abc import Iterable, Mapping
import dataclasses

from vmr_coordinator.planning.hosts import (RESOURCES, Aggregate, HostCapacity, _amount,
                                            _as, host_view)

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


def _segment_report(segment, by_name: Mapping) -> dict:
    """A segment's N+k: its members that may fail and take in servers.

    Its reserved hosts are disabled in Nova on purpose (VMR enables one when
    a member fails), so they count as room when they are up and the
    segment's method uses them; a method that does not (``auto``) leaves
    them out.
    """
    uses_reserved = segment.recovery_method != 'auto'
    members = []
    for name in sorted(segment.members(by_name.values())):
        host = by_name.get(name)
        if host is None:
            continue
        if name in segment.reserved_hosts:
            if not uses_reserved:
                continue
            if host.up and not host.forced_down:
                host = dataclasses.replace(host, enabled=True)
        members.append(host)
    report = _group_report('segment', segment.name, members)
    report['recovery_method'] = segment.recovery_method
    report['reserved_hosts'] = sorted(segment.reserved_hosts)
    return report


def capacity(hypervisors, services=(), aggregates=(), zones=None,
             segments: Iterable = ()) -> dict:
    """How many host failures the cloud survives, per aggregate, zone and
    enabled failover segment (:class:`~vmr_coordinator.segments.Segment`).

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
    for segment in sorted(segments, key=lambda seg: seg.name):
        if segment.enabled:
            groups.append(_segment_report(segment, by_name))
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
