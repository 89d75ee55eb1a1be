"""Contract validation: the rules a schema cannot express, and the
public parsing API (:func:`parse_contract`, :func:`validate_many`).
"""

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from vmr_coordinator.contracts.model import ActionSpec, Contract, ContractError
from vmr_coordinator.contracts.schema import (
    _build, _explain, _first_error, _load_text, _name_of, _path, _shown, _too_big,
    trigger_types)
from vmr_coordinator.triggers.base import trigger_class
from vmr_coordinator.triggers.process_down import COMPUTE_PROCESSES  # noqa: F401 (public)


def _refused_pairs() -> dict[tuple[str, str], str]:
    pairs = {}
    for kind in trigger_types():
        for action, reason in trigger_class(kind).refused_actions.items():
            pairs[(kind, action)] = reason
    return pairs


#: (trigger type, action type) -> why that pair is refused, and what to use,
#: as each trigger declares it (``refused_actions``). Only refusals are listed:
#: every other pair is allowed, except what a trigger's incompatibility()
#: refuses under a condition (process_down, instance_down).
REFUSED_PAIRS: dict[tuple[str, str], str] = _refused_pairs()


_CREDENTIAL_HEADERS = frozenset({'authorization', 'proxy-authorization', 'cookie',
                                 'x-auth-token', 'x-subject-token', 'x-api-key'})
_SELECTOR_CRITERIA = ('metadata, project(s), server_group, aggregate, availability_zone, '
                      'servers, tags, flavors, images')


def incompatibility(trigger: Mapping, action: str) -> str | None:
    """Why ``action`` makes no sense for ``trigger``, or None when it does:
    the trigger plugin decides (:meth:`Trigger.incompatibility`)."""
    return trigger_class(trigger['type'])().incompatibility(trigger, action)


def _check_action(contract: Contract, spec: ActionSpec, where: str) -> None:
    reason = incompatibility(contract.trigger, spec.type)
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
