"""Matching (pure): which contract heals which server for one trigger event.

:func:`match` takes contracts, an event and :class:`ServerFacts` and returns
a :class:`MatchPlan`; no I/O, the caller gathers the facts.
"""

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vmr_coordinator.contracts.model import (
    ActionSpec, Contract, ContractError, ServerFacts, _frozen)
from vmr_coordinator.triggers.base import TriggerEventError, load_trigger


@dataclass(frozen=True)
class ServiceVmPolicy:
    """How to recognise VMs that belong to another controller (DESIGN §7b).

    Such VMs (Octavia amphorae and the like) are skipped unless a contract
    selects them explicitly: ``include_service_vms: true`` or listing them in
    ``selector.servers``.
    """

    project_ids: frozenset[str] = frozenset()
    image_tags: frozenset[str] = frozenset({'amphora'})
    name_prefixes: tuple[str, ...] = ('amphora-',)
    honour_owner_hint: bool = True

    def __post_init__(self):
        object.__setattr__(self, 'project_ids', _frozen(self.project_ids))
        object.__setattr__(self, 'image_tags', _frozen(self.image_tags))
        prefixes = (self.name_prefixes,) if isinstance(self.name_prefixes, str) \
            else self.name_prefixes
        object.__setattr__(self, 'name_prefixes', tuple(sorted(set(prefixes))))

    @classmethod
    def from_conf(cls, conf: Any) -> 'ServiceVmPolicy':
        """Build from the ``[cloud]`` options (``service_vm_*``).

        ``conf`` is the oslo.config object (or anything with a ``cloud``
        attribute carrying those options).
        """
        group = conf.cloud
        return cls(project_ids=frozenset(group.service_vm_projects or ()),
                   image_tags=frozenset(group.service_vm_image_tags or ()),
                   name_prefixes=tuple(group.service_vm_name_prefixes or ()))

    def reason(self, server: ServerFacts) -> str | None:
        """Why ``server`` looks service-owned, or None when it does not."""
        for prefix in self.name_prefixes:
            if prefix and server.name.startswith(prefix):
                if prefix.startswith('amphora'):
                    return f'looks like an Octavia amphora (name {server.name})'
                return f'looks service-owned (name starts with {prefix!r})'
        for prefix in self.name_prefixes:
            # Octavia's images are named like its VMs (amphora-x64-haproxy).
            if prefix and server.image_name and server.image_name.startswith(prefix):
                if prefix.startswith('amphora'):
                    return f'looks like an Octavia amphora (image {server.image_name})'
                return f'looks service-owned (image name starts with {prefix!r})'
        tags = sorted(self.image_tags & server.image_tags)
        if tags:
            if 'amphora' in tags:
                return "looks like an Octavia amphora (image tagged 'amphora')"
            return f'looks service-owned (image tagged {tags[0]!r})'
        if server.project_id and server.project_id in self.project_ids:
            return (f'belongs to service project {server.project_id} '
                    '(cloud.service_vm_projects)')
        if server.image_owner and server.image_owner in self.project_ids:
            # Octavia uploads its amphora image to its own service project.
            return (f'runs image {server.image_name or server.image_id} of service project '
                    f'{server.image_owner} (cloud.service_vm_projects)')
        if self.honour_owner_hint and server.owner:
            return f'is managed by {server.owner}'
        return None


@dataclass(frozen=True)
class PlannedStep:
    """One server and the contract that heals it.

    ``shadowed`` names the lower-priority contracts that matched too.
    """

    server: ServerFacts
    contract: Contract
    action: ActionSpec
    on_failure: tuple[ActionSpec, ...]
    shadowed: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """A JSON-serialisable summary for the journal."""
        return {'server_id': self.server.id, 'server_name': self.server.name,
                'contract': self.contract.name, 'priority': self.contract.priority,
                'action': self.action.to_dict(),
                'on_failure': [rung.to_dict() for rung in self.on_failure],
                'shadowed': list(self.shadowed)}


@dataclass(frozen=True)
class SkippedServer:
    """A server deliberately left alone, and why (one line for the journal)."""

    server: ServerFacts
    reason: str

    def to_dict(self) -> dict:
        """A JSON-serialisable summary for the journal."""
        return {'server_id': self.server.id, 'server_name': self.server.name,
                'reason': self.reason}


@dataclass(frozen=True)
class MatchPlan:
    """The outcome of :func:`match` for one event.

    ``steps`` are ordered by contract priority (highest first), then server
    name and id; ``unmatched`` servers match no enabled contract; ``skipped``
    servers were left alone on purpose (service VMs, outside the event).
    """

    event: dict
    description: str
    steps: tuple[PlannedStep, ...] = ()
    unmatched: tuple[ServerFacts, ...] = ()
    skipped: tuple[SkippedServer, ...] = ()

    def summary(self) -> str:
        """One sentence for logs: what happened and what will be done."""
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.contract.name] = counts.get(step.contract.name, 0) + 1
        detail = ', '.join(f'{name} ×{count}' for name, count in counts.items())
        plural = 's' if len(self.steps) != 1 else ''
        text = f'{self.description}: {len(self.steps)} step{plural}'
        if detail:
            text += f' ({detail})'
        return f'{text}, {len(self.unmatched)} unmatched, {len(self.skipped)} skipped'

    def to_dict(self) -> dict:
        """A JSON-serialisable form for the journal."""
        return {'event': copy.deepcopy(self.event), 'description': self.description,
                'steps': [step.to_dict() for step in self.steps],
                'unmatched': [{'server_id': s.id, 'server_name': s.name}
                              for s in self.unmatched],
                'skipped': [skip.to_dict() for skip in self.skipped]}


def _server_order(server: ServerFacts) -> tuple:
    return (server.name, server.id, json.dumps(server.to_dict(), sort_keys=True, default=str))


def _scope_reason(trigger, event: Mapping, server: ServerFacts) -> str:
    if event.get('host'):
        return (f'not concerned by this event: it is about host {event["host"]}, the server '
                f'is on {server.host or "no known host"}')
    return f'not concerned by this event ({trigger.describe(event)})'


def match(contracts: Iterable[Contract], event: Mapping, servers: Iterable[ServerFacts],
          policy: ServiceVmPolicy | None = None) -> MatchPlan:
    """Decide which contract heals which server for one trigger event.

    Only enabled contracts whose trigger reacts to ``event`` count. For each
    server the event concerns, the highest-priority matching contract wins
    (ties: contract name); the others are recorded as shadowed. Service-owned
    VMs (``policy``) are skipped unless the winning candidates select them
    explicitly. The result does not depend on the order of ``contracts`` or
    ``servers``. An event that names a ``contract`` (a manual request) is
    matched by that contract only. Raises :class:`TriggerEventError` for a malformed event and
    :class:`ContractError` when two contracts share a name.
    """
    policy = policy if policy is not None else ServiceVmPolicy()
    if not isinstance(event, Mapping):
        raise TriggerEventError(f'event must be a mapping, got {type(event).__name__}')
    trigger = load_trigger(event.get('type'))
    trigger.validate_event(event)

    ordered = sorted(contracts, key=lambda c: (-c.priority, c.name))
    names: set[str] = set()
    for contract in ordered:
        if contract.name in names:
            raise ContractError('name', 'duplicate name: two contracts in the batch use it',
                                contract.name)
        names.add(contract.name)
    active = [c for c in ordered if c.enabled and c.trigger_type == trigger.type
              and trigger.matches(c.trigger, event)]
    if event.get('contract'):
        # A request that names its contract (vmr recover) is that contract's alone.
        active = [c for c in active if c.name == event['contract']]

    unique: dict[str, ServerFacts] = {}
    for server in sorted(servers, key=_server_order):
        unique.setdefault(server.id, server)

    steps, unmatched, skipped = [], [], []
    for server in sorted(unique.values(), key=_server_order):
        if not trigger.affects(event, server):
            skipped.append(SkippedServer(server, _scope_reason(trigger, event, server)))
            continue
        candidates = [c for c in active if c.selector.matches(server)]
        service_reason = policy.reason(server)
        if service_reason:
            explicit = [c for c in candidates if c.selector.selects_service_vms(server)]
            if candidates and not explicit:
                names = ', '.join(c.name for c in candidates)
                skipped.append(SkippedServer(
                    server, f'skipped: {service_reason}; matched by {names} but not selected '
                            'explicitly; select it explicitly (selector.servers or '
                            'include_service_vms: true) to heal it'))
                continue
            candidates = explicit
        if not candidates:
            unmatched.append(server)
            continue
        winner = candidates[0]
        steps.append(PlannedStep(server=server, contract=winner, action=winner.action,
                                 on_failure=winner.on_failure,
                                 shadowed=tuple(c.name for c in candidates[1:])))

    steps.sort(key=lambda s: (-s.contract.priority, s.contract.name) + _server_order(s.server))
    return MatchPlan(event=copy.deepcopy(dict(event)), description=trigger.describe(event),
                     steps=tuple(steps), unmatched=tuple(unmatched), skipped=tuple(skipped))
