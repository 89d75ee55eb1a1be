"""Contracts: ``<trigger> -> <action>`` documents, their validation and matching.

A contract says what VMR does (``action``, then ``on_failure``) with which
servers (``selector``) when something fails (``trigger``). This package is
pure: it parses and validates documents against the JSON Schema shipped in
``vmr_common/schema/contract.json`` plus the semantic rules a schema cannot
express, and decides for a trigger event which contract heals which server
(:func:`match`). Storage (etcd), execution (engine) and the actions
themselves live elsewhere.

* :mod:`.model` — :class:`Contract` and its parts, :class:`ServerFacts`,
  :class:`ContractError`;
* :mod:`.schema` — the JSON Schema, reading documents, explaining errors;
* :mod:`.validation` — :func:`parse_contract`, :func:`validate_many` and the
  rules the schema cannot say (:data:`REFUSED_PAIRS`);
* :mod:`.matching` — :func:`match`, :class:`ServiceVmPolicy`,
  :class:`MatchPlan`;
* :mod:`.reference` — :func:`schema_reference_rst`, the reference in
  ``doc/contracts.rst``;
* :mod:`.cli` — ``python -m vmr_coordinator.contracts rst | validate FILE...``.

Everything callers use is importable from this package itself.
"""

from vmr_coordinator.contracts.matching import (
    MatchPlan, PlannedStep, ServiceVmPolicy, SkippedServer, match)
from vmr_coordinator.contracts.model import (
    ActionSpec, Contract, ContractError, Limits, Selector, ServerFacts)
from vmr_coordinator.contracts.reference import schema_reference_rst
from vmr_coordinator.contracts.schema import (
    MAX_DOCUMENT_CHARS, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES, action_types,
    load_schema, trigger_types)
from vmr_coordinator.contracts.validation import (
    COMPUTE_PROCESSES, REFUSED_PAIRS, incompatibility, parse_contract,
    validate_many)
from vmr_coordinator.contracts.cli import main

__all__ = [
    'COMPUTE_PROCESSES', 'MAX_DOCUMENT_CHARS', 'MAX_DOCUMENT_DEPTH',
    'MAX_DOCUMENT_NODES', 'REFUSED_PAIRS', 'ActionSpec', 'Contract',
    'ContractError', 'Limits', 'MatchPlan', 'PlannedStep', 'Selector',
    'ServerFacts', 'ServiceVmPolicy', 'SkippedServer', 'action_types',
    'incompatibility', 'load_schema', 'main', 'match', 'parse_contract',
    'schema_reference_rst', 'trigger_types', 'validate_many',
]
