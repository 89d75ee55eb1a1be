"""The host view: what each compute host can take, from four sources.

Plain records (:class:`HostCapacity`, :class:`ComputeService`,
:class:`Aggregate`, :class:`ServerLoad`) and :func:`host_view`, which merges
hypervisor usage, os-services, aggregates and zones into one
:class:`HostCapacity` per host. Pure: the cloud is read by
:mod:`vmr_coordinator.cloud`.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from vmr_coordinator import contracts as contracts_mod

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
