"""The contract document model: frozen dataclasses for a validated contract.

:class:`Contract` and its parts (:class:`ActionSpec`, :class:`Selector`,
:class:`Limits`) are what :func:`~vmr_coordinator.contracts.parse_contract`
returns; :class:`ContractError` is what it raises.
"""

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class ContractError(Exception):
    """A contract document is invalid.

    ``field`` is the JSON path of the offending field (``action.params.workflow``,
    ``on_failure[1].type``; empty for the document itself), ``problem`` says
    what is wrong and, when possible, how to fix it. ``contract`` is the
    contract's name when known, ``index`` its position in a batch.
    """

    def __init__(self, field: str, problem: str, contract: str | None = None,
                 index: int | None = None):
        self.field = field
        self.problem = problem
        self.contract = contract
        self.index = index
        super().__init__(self._message())

    def _message(self) -> str:
        who = f'contract {self.contract!r}' if self.contract else 'contract (unnamed)'
        if self.index is not None:
            who += f' (document {self.index + 1})'
        where = f'{self.field}: ' if self.field else ''
        return f'{who}: {where}{self.problem}'

    def __reduce__(self):
        return (type(self), (self.field, self.problem, self.contract, self.index))


@dataclass(frozen=True)
class ActionSpec:
    """One action of a contract: its plugin type and its (defaulted) params."""

    type: str
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The action as a plain dict (a copy)."""
        return {'type': self.type, 'params': copy.deepcopy(self.params)}


@dataclass(frozen=True)
class Selector:
    """Which servers a contract heals: every given criterion must hold."""

    all: bool = False
    metadata: dict = field(default_factory=dict)
    projects: tuple[str, ...] = ()
    server_group: str | None = None
    aggregate: str | None = None
    availability_zone: str | None = None
    servers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    flavors: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    include_service_vms: bool = False

    @classmethod
    def from_dict(cls, doc: Mapping) -> 'Selector':
        """Build from a schema-valid ``selector`` section."""
        projects = doc.get('projects')
        if projects is None:
            projects = [doc['project']] if doc.get('project') is not None else []
        return cls(all=bool(doc.get('all', False)),
                   metadata=dict(doc.get('metadata') or {}),
                   projects=tuple(projects),
                   server_group=doc.get('server_group'),
                   aggregate=doc.get('aggregate'),
                   availability_zone=doc.get('availability_zone'),
                   servers=tuple(doc.get('servers') or ()),
                   tags=tuple(doc.get('tags') or ()),
                   flavors=tuple(doc.get('flavors') or ()),
                   images=tuple(doc.get('images') or ()),
                   include_service_vms=bool(doc.get('include_service_vms', False)))

    def criteria(self) -> list[str]:
        """Names of the criteria this selector sets (``all`` excluded)."""
        names = []
        for name in ('metadata', 'projects', 'server_group', 'aggregate',
                     'availability_zone', 'servers', 'tags', 'flavors', 'images'):
            if getattr(self, name) not in (None, (), {}):
                names.append(name)
        return names

    def matches(self, server: 'ServerFacts') -> bool:
        """Whether ``server`` meets every criterion (service-VM policy aside)."""
        for key, wanted in self.metadata.items():
            have = server.metadata.get(key)
            if have is None or (wanted != '*' and have != wanted):
                return False
        if self.projects and server.project_id not in self.projects:
            return False
        if self.server_group is not None and self.server_group not in server.server_groups:
            return False
        if self.aggregate is not None and self.aggregate not in server.aggregates:
            return False
        if (self.availability_zone is not None
                and server.availability_zone != self.availability_zone):
            return False
        if self.servers and not self.names(server):
            return False
        if not set(self.tags) <= server.tags:
            return False
        if self.flavors and not _named(self.flavors, server.flavor_id, server.flavor_name):
            return False
        if self.images and not _named(self.images, server.image_id, server.image_name):
            return False
        return self.all or bool(self.criteria())

    def names(self, server: 'ServerFacts') -> bool:
        """Whether ``servers`` lists this server by id or name."""
        return server.id in self.servers or (bool(server.name)
                                             and server.name in self.servers)

    def selects_service_vms(self, server: 'ServerFacts') -> bool:
        """Whether this selector picks a service-owned VM explicitly."""
        return self.include_service_vms or self.names(server)

    def to_dict(self) -> dict:
        """The selector as a plain dict with only the criteria that are set."""
        doc: dict[str, Any] = {}
        if self.all:
            doc['all'] = True
        if self.metadata:
            doc['metadata'] = dict(self.metadata)
        if self.projects:
            doc['projects'] = list(self.projects)
        for name in ('server_group', 'aggregate', 'availability_zone'):
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        for name in ('servers', 'tags', 'flavors', 'images'):
            if getattr(self, name):
                doc[name] = list(getattr(self, name))
        doc['include_service_vms'] = self.include_service_vms
        return doc


def _named(wanted: tuple[str, ...], *names: str | None) -> bool:
    """Whether one of ``names`` (an id, a name; None when unknown) is wanted."""
    return any(name and name in wanted for name in names)


@dataclass(frozen=True)
class Limits:
    """How the engine runs a contract's steps (see the schema for units)."""

    concurrency: int = 10
    retries: int = 3
    backoff: float = 2.0
    timeout: int = 600

    def to_dict(self) -> dict:
        """The limits as a plain dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Contract:
    """A validated contract with every default filled in.

    Build it with :func:`parse_contract`; ``to_dict()`` gives a document that
    parses back to an equal Contract.
    """

    name: str
    trigger: dict
    selector: Selector
    action: ActionSpec
    on_failure: tuple[ActionSpec, ...] = ()
    limits: Limits = Limits()
    priority: int = 100
    enabled: bool = True
    description: str = ''

    @property
    def trigger_type(self) -> str:
        """The trigger plugin name, e.g. ``host_down``."""
        return self.trigger['type']

    def to_dict(self) -> dict:
        """The contract as a plain, JSON-serialisable dict (a copy)."""
        doc = {
            'name': self.name,
            'description': self.description,
            'priority': self.priority,
            'enabled': self.enabled,
            'trigger': copy.deepcopy(self.trigger),
            'selector': self.selector.to_dict(),
            'action': self.action.to_dict(),
            'limits': self.limits.to_dict(),
        }
        if self.on_failure:
            doc['on_failure'] = [rung.to_dict() for rung in self.on_failure]
        return doc


def _frozen(values: Any) -> frozenset:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        return frozenset([values])
    return frozenset(values)


@dataclass(frozen=True)
class ServerFacts:
    """What matching needs to know about one server.

    ``server_groups`` holds the names *and* ids of its server groups,
    ``aggregates`` the names of its host's aggregates, ``tags`` its Nova
    server tags; ``flavor_*`` and ``image_*`` describe its flavor and image
    (None when unknown, e.g. a server booted from a volume has no image).
    ``image_tags`` and ``image_owner`` (the project owning the image) serve
    service-VM detection, and ``owner`` is a hint set by whoever
    gathered the facts when another controller manages the server (e.g.
    ``octavia``); both serve service-VM detection.
    """

    id: str
    name: str = ''
    project_id: str = ''
    metadata: Mapping[str, str] = field(default_factory=dict)
    host: str | None = None
    status: str = 'ACTIVE'
    availability_zone: str | None = None
    server_groups: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    flavor_id: str | None = None
    flavor_name: str | None = None
    image_id: str | None = None
    image_name: str | None = None
    image_tags: frozenset[str] = frozenset()
    image_owner: str | None = None
    owner: str | None = None

    def __post_init__(self):
        # Accept lists from callers but compare as sets: matching must not
        # depend on the order a cloud API happened to list things in.
        for name in ('server_groups', 'aggregates', 'tags', 'image_tags'):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, 'metadata', dict(self.metadata or {}))

    @classmethod
    def from_dict(cls, doc: Mapping) -> 'ServerFacts':
        """Build from a dict with the field names (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in doc.items() if key in names})

    def to_dict(self) -> dict:
        """The facts as a JSON-serialisable dict (sets as sorted lists)."""
        doc = dataclasses.asdict(self)
        for name in ('server_groups', 'aggregates', 'tags', 'image_tags'):
            doc[name] = sorted(doc[name])
        doc['metadata'] = dict(self.metadata)
        return doc

    def label(self) -> str:
        """``name (id)`` for messages."""
        return f'{self.name} ({self.id})' if self.name else self.id
