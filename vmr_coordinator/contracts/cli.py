"""``python -m vmr_coordinator.contracts rst | validate FILE...``."""

import sys

from vmr_coordinator.contracts.model import ContractError
from vmr_coordinator.contracts.reference import schema_reference_rst
from vmr_coordinator.contracts.validation import validate_many


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
