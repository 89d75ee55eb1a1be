"""Failover segments: sets of hosts that recover into each other.

A segment names its members -- explicit ``hosts``, every host of an
``aggregate``, or of an ``availability_zone`` -- and ``reserved_hosts``:
idle spares kept disabled in Nova (reason ``vmr: reserved``) until a member
fails.  The servers of a failed member are placed only inside its segment,
in the order its ``recovery_method`` says (Masakari's names):

``auto``           the segment's other members; reserved hosts are not used
``reserved_host``  the reserved hosts only
``rh_priority``    the reserved hosts first, the other members when they
                   are full
``auto_priority``  the other members first, the reserved hosts when they
                   are full

A reserved host that took servers becomes an ordinary member (it leaves
``reserved_hosts`` for ``hosts`` and stays enabled), as in Masakari: it is
no longer idle.  Make it a spare again with ``vmr segment set NAME
--reserved HOST`` once its servers are elsewhere.

Pure: the model, its validation and the choice of candidate hosts; the
engine and the planner do the I/O.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vmr_common.models import NAME_RE, NAME_RULE

#: Masakari's recovery methods, in the order the docs explain them
METHODS = ('auto', 'reserved_host', 'auto_priority', 'rh_priority')
#: what Nova's disabled_reason says for an idle reserved host
RESERVED_REASON = 'vmr: reserved'
FIELDS = ('name', 'description', 'recovery_method', 'hosts', 'aggregate',
          'availability_zone', 'reserved_hosts', 'enabled')


class SegmentError(ValueError):
    """A segment document is wrong; the message names the field."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Segment:
    name: str
    recovery_method: str = 'auto'
    hosts: tuple = ()
    aggregate: str | None = None
    availability_zone: str | None = None
    reserved_hosts: tuple = ()
    description: str = ''
    enabled: bool = True
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        return {'name': self.name, 'description': self.description,
                'recovery_method': self.recovery_method,
                'hosts': list(self.hosts), 'aggregate': self.aggregate,
                'availability_zone': self.availability_zone,
                'reserved_hosts': list(self.reserved_hosts),
                'enabled': self.enabled}

    def members(self, hosts: Iterable) -> set:
        """Names of every member (reserved ones included) among ``hosts``
        (:class:`~vmr_coordinator.planning.HostCapacity`), plus the
        explicit ones even when ``hosts`` does not know them."""
        out = set(self.hosts) | set(self.reserved_hosts)
        for host in hosts:
            if (self.aggregate and self.aggregate in host.aggregates) or \
                    (self.availability_zone and
                     host.zone == self.availability_zone):
                out.add(host.name)
        return out

    def tiers(self, failed: str, hosts: Iterable) -> list:
        """``[(kind, [HostCapacity])]``: where the servers of ``failed``
        may go, in the order to try; ``kind`` is ``reserved`` or
        ``segment``.  A reserved host only has to be up (it is enabled
        when chosen); another member must be usable as it is."""
        hosts = [h for h in hosts if h.name != failed]
        members = self.members(hosts)
        reserved = [h for h in hosts if h.name in self.reserved_hosts
                    and not h.forced_down and h.up]
        others = [h for h in hosts if h.name in members
                  and h.name not in self.reserved_hosts and not h.problem()]
        order = {'auto': (('segment', others),),
                 'reserved_host': (('reserved', reserved),),
                 'rh_priority': (('reserved', reserved), ('segment', others)),
                 'auto_priority': (('segment', others), ('reserved', reserved)),
                 }[self.recovery_method]
        return [(kind, tier) for kind, tier in order]

    def unusable(self, failed: str, hosts: Iterable) -> list:
        """``[{'host', 'reason'}]`` of the members :meth:`tiers` leaves out,
        reserved hosts the method does not use included."""
        hosts = list(hosts)
        offered = {h.name for _, tier in self.tiers(failed, hosts)
                   for h in tier}
        known = {h.name: h for h in hosts}
        out = []
        for name in sorted(self.members(hosts) - offered - {failed}):
            host = known.get(name)
            if host is None:
                why = 'not a compute host Nova knows'
            elif name in self.reserved_hosts:
                why = ('reserved: recovery_method auto does not use reserved '
                       'hosts' if self.recovery_method == 'auto'
                       else 'reserved, but its compute service is %s'
                       % ('forced down' if host.forced_down else 'down'))
            else:
                why = host.problem()
            out.append({'host': name, 'reason': why})
        return out


def parse_segment(doc: Mapping, name: str | None = None) -> Segment:
    """A :class:`Segment` from its JSON document; :class:`SegmentError`
    naming the field when it is wrong.  ``name`` (from the URL) must agree
    with the document's when both are given."""
    if not isinstance(doc, Mapping):
        raise SegmentError('a segment is a JSON object')
    unknown = sorted(set(doc) - set(FIELDS))
    if unknown:
        raise SegmentError('unknown field %r; allowed: %s'
                           % (unknown[0], ', '.join(FIELDS)), unknown[0])
    seg_name = doc.get('name', name)
    if not isinstance(seg_name, str) or not NAME_RE.match(seg_name):
        raise SegmentError('name must be %s' % NAME_RULE, 'name')
    if name is not None and seg_name != name:
        raise SegmentError('name %r differs from %r in the URL'
                           % (seg_name, name), 'name')
    method = doc.get('recovery_method', 'auto')
    if method not in METHODS:
        raise SegmentError('recovery_method must be one of %s, not %r'
                           % (', '.join(METHODS), method), 'recovery_method')
    hosts = _names(doc, 'hosts')
    reserved = _names(doc, 'reserved_hosts')
    both = sorted(set(hosts) & set(reserved))
    if both:
        raise SegmentError('host %s is in both hosts and reserved_hosts; a '
                           'reserved host is a member already' % both[0],
                           'reserved_hosts')
    for key in ('aggregate', 'availability_zone', 'description'):
        value = doc.get(key)
        if value is not None and (not isinstance(value, str) or
                                  len(value) > 255):
            raise SegmentError('%s must be a string of at most 255 '
                               'characters' % key, key)
    if not (hosts or reserved or doc.get('aggregate') or
            doc.get('availability_zone')):
        raise SegmentError('a segment needs members: hosts, an aggregate or '
                           'an availability_zone', 'hosts')
    if method in ('reserved_host', 'rh_priority', 'auto_priority') and \
            not reserved:
        raise SegmentError('recovery_method %s needs reserved_hosts' % method,
                           'reserved_hosts')
    enabled = doc.get('enabled', True)
    if not isinstance(enabled, bool):
        raise SegmentError('enabled must be true or false', 'enabled')
    return Segment(name=seg_name, recovery_method=method, hosts=hosts,
                   aggregate=doc.get('aggregate') or None,
                   availability_zone=doc.get('availability_zone') or None,
                   reserved_hosts=reserved,
                   description=doc.get('description') or '', enabled=enabled)


def _names(doc, key):
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(
            isinstance(v, str) and 0 < len(v) <= 255 for v in value):
        raise SegmentError('%s must be a list of host names' % key, key)
    return tuple(sorted(set(value)))


def overlaps(segment: Segment, others: Iterable) -> list:
    """``[(host, other segment)]`` of ``segment``'s explicit members
    (hosts and reserved hosts) another enabled segment lists too: a host
    recovers inside one segment only."""
    mine = set(segment.hosts) | set(segment.reserved_hosts)
    out = []
    for other in others:
        if other.name == segment.name:
            continue
        for host in sorted(mine & (set(other.hosts) |
                                   set(other.reserved_hosts))):
            out.append((host, other.name))
    return out


def segment_of(host: str, segments: Iterable, hosts: Iterable) -> tuple:
    """``(segment or None, note)``: the enabled segment ``host`` recovers
    in.  In more than one (aggregates or zones can overlap), the first by
    name, and the note says so."""
    hosts = list(hosts)
    found = sorted((s for s in segments
                    if s.enabled and host in s.members(hosts)),
                   key=lambda s: s.name)
    if not found:
        return None, ''
    note = ''
    if len(found) > 1:
        note = ('%s is in segments %s: recovering in %s (the first by name)'
                % (host, ', '.join(s.name for s in found), found[0].name))
    return found[0], note
