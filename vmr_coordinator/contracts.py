"""Contracts: ``<trigger> -> <action>`` documents, their validation and matching.

A contract says what VMR does (``action``, then ``on_failure``) with which
servers (``selector``) when something fails (``trigger``). This module is pure:
it parses and validates documents against the JSON Schema shipped in
``vmr_common/schema/contract.json`` plus the semantic rules a schema cannot
express, and decides for a trigger event which contract heals which server
(:func:`match`). Storage (etcd), execution (engine) and the actions themselves
live elsewhere.

Reference documentation is rendered from the schema by
:func:`schema_reference_rst` (``python -m vmr_coordinator.contracts rst``).
"""

import copy
import dataclasses
import datetime
import difflib
import functools
import importlib.resources
import itertools
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml

from vmr_coordinator.triggers.base import TriggerEventError, load_trigger
from vmr_coordinator.triggers.instance_down import DEFAULT_STATUSES

SCHEMA_PACKAGE = 'vmr_common.schema'
SCHEMA_FILE = 'contract.json'

#: Largest contract document accepted, in characters (a contract is a few hundred).
MAX_DOCUMENT_CHARS = 256 * 1024

# libyaml's loader when present: same safe subset, and fast enough that a
# large hostile document cannot stall the API.
_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)

#: Processes without which Nova cannot act on the servers of a host.
COMPUTE_PROCESSES = frozenset({'nova-compute', 'libvirtd', 'virtqemud'})

# Actions that act on the server where it is, through its own compute service.
_IN_PLACE = ('rebuild', 'reboot', 'suspend', 'resume')

#: (trigger type, action type) -> why that pair is refused, and what to use.
#: Only refusals are listed: every other pair is allowed. process_down and
#: instance_down have extra conditional rules in _incompatibility().
REFUSED_PAIRS: dict[tuple[str, str], str] = {
    ('host_down', 'live_migrate'):
        'the source host is dead, nothing can be live-migrated off it; '
        'use evacuate or boot_from_snapshot',
    **{('host_down', action):
       f'{action} needs the server\'s own host, which is dead; '
       'use evacuate or boot_from_snapshot'
       for action in _IN_PLACE},
    ('instance_down', 'evacuate'):
        'the server\'s host is alive and Nova refuses to evacuate from a live compute '
        'service; use rebuild, reboot or boot_from_snapshot',
    ('instance_down', 'live_migrate'):
        'a server that is down cannot be live-migrated; use rebuild, reboot or '
        'boot_from_snapshot',
    ('instance_down', 'suspend'):
        'a server that is down cannot be suspended; use rebuild or reboot',
    ('maintenance', 'evacuate'):
        'a host in maintenance is alive: Nova refuses to evacuate from it and the VMs '
        'would run twice; use live_migrate',
    ('maintenance', 'rebuild'):
        'rebuild leaves the server on the host being drained; use live_migrate',
    ('maintenance', 'reboot'):
        'reboot leaves the server on the host being drained; use live_migrate',
    ('maintenance', 'resume'):
        'nothing was suspended when a host enters maintenance; use live_migrate or suspend',
    ('process_down', 'resume'):
        'nothing was suspended when a process dies; use evacuate or boot_from_snapshot',
}


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


# --------------------------------------------------------------------------
# The document model
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Schema and validation
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _schema_text() -> str:
    return (importlib.resources.files(SCHEMA_PACKAGE) / SCHEMA_FILE).read_text('utf-8')


def load_schema() -> dict:
    """The contract JSON Schema (draft 2020-12), as a fresh dict."""
    return json.loads(_schema_text())


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _defs() -> dict:
    return _validator().schema['$defs']


def action_types() -> list[str]:
    """Action types the schema knows, in schema order."""
    return list(_defs()['action']['properties']['type']['enum'])


def trigger_types() -> list[str]:
    """Trigger types the schema knows, in schema order."""
    return list(_defs()['trigger']['properties']['type']['enum'])


_PLAIN_KEY = re.compile(r'^[A-Za-z0-9_-]{1,64}$')


def _path(parts: Iterable) -> str:
    """JSON path of a field: ``action.params.workflow``, ``on_failure[1]``.

    Keys that are not plain words are quoted (``metadata["a key"]``) so a user's
    key can never break the one-line error message.
    """
    text = ''
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f'[{part}]'
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            text += f'.{part}' if text else part
        else:
            text += f'[{_shown(part, 66)}]'
    return text


def _render(value: Any, depth: int) -> str:
    # Bounded on purpose: the value may be huge or deeply nested (YAML
    # aliases), and an error message must stay one short line.
    if isinstance(value, Mapping):
        if depth <= 0 or not value:
            return '{…}' if value else '{}'
        items = [f'{_render(k, 0)}: {_render(v, depth - 1)}'
                 for k, v in itertools.islice(value.items(), 3)]
        return '{' + ', '.join(items) + (', …}' if len(value) > 3 else '}')
    if isinstance(value, (list, tuple)):
        if depth <= 0 or not value:
            return '[…]' if value else '[]'
        items = [_render(v, depth - 1) for v in value[:3]]
        return '[' + ', '.join(items) + (', …]' if len(value) > 3 else ']')
    if value is None or isinstance(value, (bool, int, float, str)):
        try:
            text = json.dumps(value[:200] if isinstance(value, str) else value,
                              ensure_ascii=False)
        except ValueError:
            text = repr(value)
        return text
    return f'<{type(value).__name__}>'


def _shown(value: Any, limit: int = 40) -> str:
    """A short rendering of a user value for error messages."""
    text = _render(value, 2)
    return text if len(text) <= limit else text[:limit - 1] + '…'


#: Most values (counting every use of a YAML alias) a document may expand to.
MAX_DOCUMENT_NODES = 100_000
#: Deepest nesting accepted (a contract needs about 5 levels).
MAX_DOCUMENT_DEPTH = 32


def _too_big(document: Any) -> str | None:
    """Why ``document`` is too large to handle safely, or None."""
    # Iterative and bounded: a few YAML aliases can expand to billions of
    # nodes, and deep nesting would exhaust the stack in copy/json later.
    stack, seen = [(document, 0)], 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_DOCUMENT_NODES:
            return (f'expands to more than {MAX_DOCUMENT_NODES} values (YAML aliases?); '
                    'a contract holds a few dozen')
        if depth > MAX_DOCUMENT_DEPTH:
            return f'is nested more than {MAX_DOCUMENT_DEPTH} levels deep'
        if isinstance(node, Mapping):
            stack.extend((child, depth + 1) for child in node.values())
            seen += len(node)
        elif isinstance(node, (list, tuple)):
            stack.extend((child, depth + 1) for child in node)
    return None


_JSON_TYPES = {'string': 'a string', 'integer': 'an integer', 'number': 'a number',
               'boolean': 'true or false', 'object': 'a mapping', 'array': 'a list',
               'null': 'null'}


def _suggest(word: Any, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ''
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f'did you mean "{close[0]}"? ' if close else ''


def _explain(error: jsonschema.ValidationError, doc: Any) -> tuple[list, str]:
    """Turn a jsonschema error into (path parts, one-line problem with a fix)."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    hint = schema.get('x-hint')
    kind, value, instance = error.validator, error.validator_value, error.instance

    if 'propertyNames' in error.schema_path:
        return path, f'has an invalid key {_shown(instance)}: keys are 1 to 255 characters'

    if kind == 'required':
        missing = [key for key in value if key not in instance]
        key = missing[0] if missing else value[0]
        sub = schema.get('properties', {}).get(key, {})
        if 'enum' in sub:
            return path + [key], 'is required; one of: ' + ', '.join(map(str, sub['enum']))
        return path + [key], 'is required' + (f' ({hint})' if hint else '')

    if kind == 'additionalProperties':
        known = sorted(schema.get('properties', {}))
        extras = [key for key in instance if key not in known]
        extra = min(extras, key=str) if extras else '?'
        if not known or known == ['type']:
            if path and path[-1] == 'params':
                owner = _shown(_walk(doc, path[:-1]).get('type'))
                return path + [extra], f'unknown field: action {owner} takes no parameters'
            owner = _shown(instance.get('type')) if isinstance(instance, Mapping) else ''
            return path + [extra], f'unknown field: {_path(path)} {owner} takes no other fields'
        return path + [extra], (f'unknown field; {_suggest(extra, known)}'
                                f'valid fields: {", ".join(known)}')

    if kind == 'enum':
        choices = ', '.join(_shown(choice) if not isinstance(choice, str) else choice
                            for choice in value)
        if path and path[-1] == 'type' and 'params' not in path:
            owner = 'trigger' if path[0] == 'trigger' else 'action'
            return path, (f'unknown {owner} type {_shown(instance)}; '
                          f'{_suggest(instance, map(str, value))}valid types: {choices}')
        return path, (f'{_shown(instance)} is not allowed; '
                      f'{_suggest(instance, map(str, value))}use one of: {choices}')

    if kind == 'const':
        return path, f'must be {_shown(value)} (got {_shown(instance)})'

    if kind == 'type':
        wanted = value if isinstance(value, list) else [value]
        want = ' or '.join(_JSON_TYPES.get(w, w) for w in wanted)
        problem = f'must be {want} (got {_shown(instance)})'
        if 'string' in wanted and isinstance(instance, (bool, int, float)):
            problem += f'; quote it in YAML: "{_shown(instance)}"'
        elif 'string' in wanted and isinstance(instance, datetime.date):
            problem += f'; quote it in YAML: "{instance.isoformat()}"'
        elif hint:
            problem += f'; {hint}'
        return path, problem

    if kind == 'pattern':
        if hint:
            return path, f'{_shown(instance)} is not valid: {hint}'
        return path, f'{_shown(instance)} must match the pattern {value}'

    if kind in ('minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'):
        low, high = schema.get('minimum'), schema.get('maximum')
        if low is not None and high is not None:
            return path, f'must be between {low} and {high} (got {_shown(instance)})'
        word = 'at least' if kind.endswith('inimum') else 'at most'
        return path, f'must be {word} {value} (got {_shown(instance)})'

    if kind in ('minLength', 'minItems', 'minProperties'):
        if value == 1:
            return path, 'must not be empty'
        unit = {'minLength': 'characters', 'minItems': 'items',
                'minProperties': 'entries'}[kind]
        return path, f'needs at least {value} {unit}'

    if kind in ('maxLength', 'maxItems', 'maxProperties'):
        unit = {'maxLength': 'characters', 'maxItems': 'items',
                'maxProperties': 'entries'}[kind]
        return path, f'is too long: at most {value} {unit}'

    if kind == 'uniqueItems':
        return path, 'has duplicate items; list each once'

    return path, error.message if len(error.message) <= 120 else error.message[:119] + '…'


def _walk(doc: Any, path: list) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _first_error(doc: Any) -> jsonschema.ValidationError | None:
    # Report the shallowest error first: an outer mistake (wrong action type)
    # usually explains the inner ones, and the operator fixes one line at a time.
    best = None
    best_key = None
    for number, error in enumerate(_validator().iter_errors(doc)):
        key = (len(error.absolute_path), number)
        if best_key is None or key < best_key:
            best, best_key = error, key
    return best


def _bracket_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` in ``text`` (quotes ignored, on purpose:
    a contract never holds dozens of unbalanced brackets in a string)."""
    depth = deepest = 0
    for char in text:
        if char in '[{':
            depth += 1
            deepest = max(deepest, depth)
        elif char in ']}' and depth:
            depth -= 1
    return deepest


def _load_text(text: str) -> Any:
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ContractError('', f'document is too large ({len(text)} characters; '
                                f'at most {MAX_DOCUMENT_CHARS})')
    if _bracket_depth(text) > 2 * MAX_DOCUMENT_DEPTH:
        # Checked before parsing: PyYAML takes quadratic time on deep flow nesting.
        raise ContractError('', f'is nested more than {MAX_DOCUMENT_DEPTH} levels deep')
    stripped = text.lstrip()
    if stripped.startswith(('{', '[')):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass  # YAML flow style looks like JSON but is not always JSON
    try:
        documents = list(yaml.load_all(text, Loader=_YAML_LOADER))
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark else ''
        problem = getattr(exc, 'problem', None) or str(exc).splitlines()[0]
        raise ContractError('', f'is not valid YAML or JSON{where}: {problem}')
    except (RecursionError, ValueError, OverflowError) as exc:
        raise ContractError('', f'is not valid YAML or JSON: {exc}')
    if not documents or documents == [None]:
        raise ContractError('', 'is empty')
    if len(documents) != 1:
        raise ContractError('', f'holds {len(documents)} YAML documents; give exactly one '
                                '(use validate_many for several)')
    return documents[0]


def _name_of(doc: Any) -> str | None:
    if isinstance(doc, Mapping):
        name = doc.get('name')
        if isinstance(name, str) and name:
            return name if len(name) <= 64 else name[:63] + '…'
    return None


def _defaults(schema: Mapping, doc: Mapping) -> dict:
    """``doc`` with the schema's ``default`` values for absent properties."""
    out = dict(doc)
    for key, sub in schema.get('properties', {}).items():
        if key not in out and 'default' in sub:
            out[key] = copy.deepcopy(sub['default'])
    return out


def _action(doc: Mapping) -> ActionSpec:
    params = _defaults(_defs()[f'params_{doc["type"]}'], doc.get('params') or {})
    return ActionSpec(type=doc['type'], params=params)


def _number(value: Any) -> Any:
    # JSON Schema counts 5.0 as an integer; keep the document's meaning, not its spelling.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _build(doc: Mapping) -> Contract:
    top = _defaults(_validator().schema, doc)
    trigger = _defaults(_defs()[f'trigger_{doc["trigger"]["type"]}'], doc['trigger'])
    on_failure = doc.get('on_failure')
    if on_failure is None:
        rungs: tuple[ActionSpec, ...] = ()
    elif isinstance(on_failure, list):
        rungs = tuple(_action(rung) for rung in on_failure)
    else:
        rungs = (_action(on_failure),)
    limits = _defaults(_defs()['limits'], doc.get('limits') or {})
    return Contract(
        name=top['name'],
        description=top['description'],
        priority=_number(top['priority']),
        enabled=top['enabled'],
        trigger=copy.deepcopy(trigger),
        selector=Selector.from_dict(doc['selector']),
        action=_action(doc['action']),
        on_failure=rungs,
        limits=Limits(concurrency=_number(limits['concurrency']),
                      retries=_number(limits['retries']),
                      backoff=float(limits['backoff']),
                      timeout=_number(limits['timeout'])),
    )


# --------------------------------------------------------------------------
# Semantic checks: what the schema cannot say
# --------------------------------------------------------------------------

_CREDENTIAL_HEADERS = frozenset({'authorization', 'proxy-authorization', 'cookie',
                                 'x-auth-token', 'x-subject-token', 'x-api-key'})
_SELECTOR_CRITERIA = ('metadata, project(s), server_group, aggregate, availability_zone, '
                      'servers, tags, flavors, images')


def _incompatibility(trigger: Mapping, action: str) -> str | None:
    """Why ``action`` makes no sense for ``trigger``, or None when it does."""
    kind = trigger['type']
    reason = REFUSED_PAIRS.get((kind, action))
    if reason:
        return reason
    if kind == 'process_down' and action in ('live_migrate',) + _IN_PLACE:
        process = trigger.get('process')
        if process is None or process in COMPUTE_PROCESSES:
            which = process or 'any process (including nova-compute)'
            return (f'{action} needs the compute service, and this trigger fires when '
                    f'{which} is down; use evacuate or boot_from_snapshot, or set '
                    f'trigger.process to a process Nova does not need')
    if kind == 'instance_down' and action == 'resume':
        if set(trigger.get('statuses') or DEFAULT_STATUSES) - {'SUSPENDED'}:
            return ('resume only wakes SUSPENDED servers; set trigger.statuses: '
                    '[SUSPENDED] or use reboot')
    return None


def _check_action(contract: Contract, spec: ActionSpec, where: str) -> None:
    reason = _incompatibility(contract.trigger, spec.type)
    if reason:
        raise ContractError(f'{where}.type',
                            f'{spec.type} cannot follow trigger {contract.trigger_type}: '
                            f'{reason}')
    params = spec.params
    if spec.type == 'evacuate' and 'target_host' in params and 'target_aggregate' in params:
        raise ContractError(f'{where}.params.target_aggregate',
                            'give either target_host or target_aggregate, not both')
    if spec.type == 'fip_failover' and params['pair_metadata_key'] == params['role_key']:
        raise ContractError(f'{where}.params.role_key',
                            'must differ from pair_metadata_key (one names the pair, the '
                            'other the role)')
    if spec.type == 'webhook':
        _check_webhook(params, where)


def _check_webhook(params: Mapping, where: str) -> None:
    url = urlsplit(params['url'])
    if url.username is not None or url.password is not None:
        raise ContractError(f'{where}.params.url',
                            'must not carry credentials (user:password@); keep the secret '
                            'in the coordinator config and name it in secret_ref')
    if not url.hostname:
        raise ContractError(f'{where}.params.url', f'{_shown(params["url"])} has no host')
    secret_ref = params['secret_ref']
    # A long run of letters and digits with no separator is a key, not a name.
    if (len(secret_ref) >= 24 and not re.search(r'[_.-]', secret_ref)
            and re.search(r'\d', secret_ref) and re.search(r'[A-Za-z]', secret_ref)):
        raise ContractError(f'{where}.params.secret_ref',
                            'looks like a secret value, not the NAME of a secret: contracts '
                            'are stored in etcd, so put the secret in the coordinator config '
                            'and reference it by name')
    for header in params.get('headers') or {}:
        if header.lower() in _CREDENTIAL_HEADERS:
            raise ContractError(f'{where}.params.' + _path(['headers', header]),
                                'credentials do not belong in a contract (it is stored in '
                                'etcd); the request is signed with secret_ref instead')


def _check(contract: Contract, doc: Mapping) -> None:
    selector = doc['selector']
    if 'project' in selector and 'projects' in selector:
        raise ContractError('selector.projects',
                            'give either project or projects, not both')
    criteria = contract.selector.criteria()
    if contract.selector.all and criteria:
        raise ContractError('selector.all',
                            f'all: true cannot be combined with {", ".join(criteria)}; '
                            'drop one or the other')
    if not contract.selector.all and not criteria:
        raise ContractError('selector',
                            f'selects nothing: give at least one of {_SELECTOR_CRITERIA}, '
                            'or all: true')
    _check_action(contract, contract.action, 'action')
    single = not isinstance(doc.get('on_failure'), list)
    for index, rung in enumerate(contract.on_failure):
        where = 'on_failure' if single else f'on_failure[{index}]'
        _check_action(contract, rung, where)
        previous = contract.on_failure[index - 1] if index else contract.action
        if rung == previous:
            raise ContractError(where, f'repeats the {rung.type} action before it; raise '
                                       'limits.retries instead')


# --------------------------------------------------------------------------
# Public parsing API
# --------------------------------------------------------------------------

def parse_contract(doc: Mapping | str | bytes) -> Contract:
    """Validate one contract (a dict, or YAML/JSON text) and return it.

    Checks the JSON Schema, then the semantic rules (trigger/action
    compatibility, selector sanity, secrets by name only). Raises
    :class:`ContractError` naming the field, the problem and the fix; never
    anything else for bad input.
    """
    if isinstance(doc, (bytes, bytearray)):
        try:
            doc = doc.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ContractError('', f'is not UTF-8 text: {exc}')
    if isinstance(doc, str):
        doc = _load_text(doc)
    name = _name_of(doc)
    if not isinstance(doc, Mapping):
        raise ContractError('', f'must be a mapping of fields (got {_shown(doc)})')
    too_big = _too_big(doc)
    if too_big:
        raise ContractError('', too_big, contract=name)
    error = _first_error(doc)
    if error is not None:
        path, problem = _explain(error, doc)
        raise ContractError(_path(path), problem, contract=name)
    contract = _build(doc)
    try:
        _check(contract, doc)
    except ContractError as exc:
        raise ContractError(exc.field, exc.problem, contract=name)
    return contract


def validate_many(docs: Iterable[Mapping | str | bytes]) -> list[Contract]:
    """Parse a batch of contracts; names must be unique within it.

    Returns the contracts in input order. Raises :class:`ContractError` for the
    first bad document, with ``index`` set to its position.
    """
    contracts: list[Contract] = []
    seen: dict[str, int] = {}
    for index, doc in enumerate(docs):
        try:
            contract = parse_contract(doc)
        except ContractError as exc:
            raise ContractError(exc.field, exc.problem, exc.contract, index=index)
        if contract.name in seen:
            raise ContractError('name', f'duplicate name: document {seen[contract.name] + 1} '
                                        'already uses it; names must be unique',
                                contract.name, index=index)
        seen[contract.name] = index
        contracts.append(contract)
    return contracts


# --------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Reference documentation
# --------------------------------------------------------------------------

def _rst_type(sub: Mapping) -> str:
    if '$ref' in sub:
        target = sub['$ref'].rsplit('/', 1)[-1]
        return f'mapping, see :ref:`contract-{target}`'
    if 'const' in sub:
        return f'``{sub["const"]}``'
    if 'enum' in sub:
        return 'one of ' + ', '.join(f'``{json.dumps(v)}``' if not isinstance(v, str)
                                     else f'``{v}``' for v in sub['enum'])
    kind = sub.get('type')
    if kind == 'array':
        items = sub.get('items', {})
        return f'list of {_rst_type(items)}'
    if kind == 'object' and isinstance(sub.get('additionalProperties'), Mapping):
        return 'mapping of string to string'
    if kind == 'object':
        return 'mapping'
    if kind in ('integer', 'number') and 'minimum' in sub and 'maximum' in sub:
        return f'{kind}, {sub["minimum"]}..{sub["maximum"]}'
    if kind == 'string' and 'pattern' in sub:
        return f'string matching ``{sub["pattern"]}``'
    if 'if' in sub and 'else' in sub:
        return 'action mapping, or list of action mappings'
    return kind or 'any'


_MARKDOWN_CODE = re.compile(r'(?<!`)`([^`]+)`(?!`)')


def _rst_text(text: str) -> str:
    # Schema descriptions use Markdown's `code`; RST wants ``code``.
    return _MARKDOWN_CODE.sub(r'``\1``', text)


def _rst_table(schema: Mapping, skip: Iterable[str] = ()) -> list[str]:
    properties = {k: v for k, v in schema.get('properties', {}).items() if k not in skip}
    if not properties:
        return ['No fields.', '']
    required = set(schema.get('required', ()))
    lines = ['.. list-table::', '   :header-rows: 1', '   :widths: 20 25 15 40', '',
             '   * - Field', '     - Type', '     - Default', '     - Description']
    defs = _defs()
    for key, sub in properties.items():
        default = ('*required*' if key in required
                   else f'``{json.dumps(sub["default"])}``' if 'default' in sub else '')
        description = sub.get('description')
        if description is None and '$ref' in sub:
            description = defs[sub['$ref'].rsplit('/', 1)[-1]].get('description', '')
        cells = [f'``{key}``', _rst_type(sub), default, _rst_text(description or '')]
        lines.append(f'   * - {cells[0]}')
        lines += [f'     - {cell}'.rstrip() for cell in cells[1:]]
    return lines + ['']


def _rst_heading(text: str, char: str) -> list[str]:
    return [text, char * len(text), '']


def _rst_matrix() -> list[str]:
    triggers, actions = trigger_types(), action_types()
    lines = ['.. list-table::', '   :header-rows: 1', '', '   * - action']
    lines += [f'     - {t}' for t in triggers]
    for action in actions:
        lines.append(f'   * - ``{action}``')
        for kind in triggers:
            spec = {'type': kind}
            if kind == 'instance_down':
                spec['statuses'] = ['ERROR', 'SHUTOFF']
            if (kind, action) in REFUSED_PAIRS:
                mark = 'no'
            elif _incompatibility(spec, action):
                mark = 'no ¹' if kind == 'process_down' else 'no ²'
            else:
                mark = 'yes'
            lines.append(f'     - {mark}')
    lines += ['',
              '¹ allowed when ``trigger.process`` names a process Nova does not need '
              f'(anything but {", ".join(sorted(COMPUTE_PROCESSES))}).',
              '',
              '² ``resume`` is allowed with ``statuses: [SUSPENDED]``.', '',
              'Why each pair is refused:', '']
    for (kind, action), reason in REFUSED_PAIRS.items():
        lines.append(f'* ``{kind}`` → ``{action}``: {reason}.')
    return lines + ['']


def schema_reference_rst() -> str:
    """Render the contract schema (and the compatibility rules) as RST.

    ``doc/contracts.rst`` embeds this text between its ``BEGIN GENERATED`` and
    ``END GENERATED`` markers; regenerate with
    ``python -m vmr_coordinator.contracts rst``.
    """
    schema = _validator().schema
    defs = schema['$defs']
    out = _rst_heading('Contract fields', '-')
    out += [_rst_text(schema['description']), '']
    out += _rst_table(schema)
    sections = [('trigger', 'Triggers', 'trigger_', trigger_types()),
                ('action', 'Actions', 'params_', action_types())]
    for anchor, title, prefix, names in sections[:1]:
        out += [f'.. _contract-{anchor}:', ''] + _rst_heading(title, '-')
        out += [_rst_text(defs[anchor]['description']), '']
        for name in names:
            sub = defs[f'{prefix}{name}']
            out += [f'.. _contract-{prefix}{name}:', '']
            out += _rst_heading(f'``{name}``', '~') + [_rst_text(sub['description']), '']
            out += _rst_table(sub, skip=('type',))
    out += ['.. _contract-selector:', ''] + _rst_heading('Selector', '-')
    out += [_rst_text(defs['selector']['description']), '']
    out += _rst_table(defs['selector'])
    out += ['.. _contract-action:', ''] + _rst_heading('Actions', '-')
    out += [_rst_text(defs['action']['description'])
            + ' ``on_failure`` rungs have the same shape.', '']
    out += _rst_table(defs['action'])
    for name in action_types():
        sub = defs[f'params_{name}']
        out += [f'.. _contract-params_{name}:', '']
        out += _rst_heading(f'``{name}``', '~') + [_rst_text(sub['description']), '']
        out += _rst_table(sub)
    out += ['.. _contract-limits:', ''] + _rst_heading('Limits', '-')
    out += [_rst_text(defs['limits']['description']), '']
    out += _rst_table(defs['limits'])
    out += _rst_heading('Trigger and action compatibility', '-')
    out += ['``parse_contract`` refuses pairs that cannot work; ``on_failure`` rungs are '
            'checked the same way.', '']
    out += _rst_matrix()
    return '\n'.join(out).rstrip('\n') + '\n'


def main(argv: list[str] | None = None) -> int:
    """``python -m vmr_coordinator.contracts rst | validate FILE...``."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ['rst'] and len(args) == 1:
        sys.stdout.write(schema_reference_rst())
        return 0
    if args[:1] == ['validate'] and len(args) > 1:
        texts = []
        for path in args[1:]:
            with open(path, encoding='utf-8') as stream:
                texts.append(stream.read())
        try:
            contracts = validate_many(texts)
        except ContractError as exc:
            where = args[1 + exc.index] if exc.index is not None else '?'
            sys.stderr.write(f'{where}: {exc}\n')
            return 1
        for path, contract in zip(args[1:], contracts, strict=True):
            sys.stdout.write(f'{path}: ok ({contract.name}: {contract.trigger_type} -> '
                             f'{contract.action.type})\n')
        return 0
    sys.stderr.write('usage: python -m vmr_coordinator.contracts rst\n'
                     '       python -m vmr_coordinator.contracts validate FILE...\n')
    return 2


if __name__ == '__main__':
    sys.exit(main())
