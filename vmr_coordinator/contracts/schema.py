"""The contract JSON Schema and what its errors mean to a person.

Loads ``vmr_common/schema/contract.json``, reads YAML or JSON text with
size, depth and alias limits, turns the schema's first error into one
sentence naming the field and the fix, and builds the model from a valid
document (:func:`_build`).
"""

import copy
import datetime
import difflib
import functools
import importlib.resources
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
import yaml

from vmr_coordinator.contracts.model import (
    ActionSpec, Contract, ContractError, Limits, Selector)

SCHEMA_PACKAGE = 'vmr_common.schema'
SCHEMA_FILE = 'contract.json'

#: Largest contract document accepted, in characters (a contract is a few hundred).
MAX_DOCUMENT_CHARS = 256 * 1024

# libyaml's loader when present: same safe subset, and fast enough that a
# large hostile document cannot stall the API.
_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


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
