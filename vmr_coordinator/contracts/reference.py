"""The contract reference documentation, rendered from the schema
(``python -m vmr_coordinator.contracts rst``)."""

import json
import re
from collections.abc import Iterable, Mapping

from vmr_coordinator.contracts.schema import _defs, _validator, action_types, trigger_types
from vmr_coordinator.contracts.validation import REFUSED_PAIRS, incompatibility
from vmr_coordinator.triggers.base import trigger_class


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


_MARKS = '¹²³⁴⁵⁶⁷⁸⁹'


def _rst_matrix() -> list[str]:
    triggers, actions = trigger_types(), action_types()
    # a footnote for each trigger that refuses some actions only under a condition
    noted = [kind for kind in triggers if trigger_class(kind).conditional_note]
    marks = {kind: _MARKS[i] for i, kind in enumerate(noted)}
    lines = ['.. list-table::', '   :header-rows: 1', '', '   * - action']
    lines += [f'     - {t}' for t in triggers]
    for action in actions:
        lines.append(f'   * - ``{action}``')
        for kind in triggers:
            if (kind, action) in REFUSED_PAIRS:
                mark = 'no'
            elif incompatibility({'type': kind}, action):
                mark = f'no {marks[kind]}'
            else:
                mark = 'yes'
            lines.append(f'     - {mark}')
    lines.append('')
    for kind in noted:
        lines += [f'{marks[kind]} {trigger_class(kind).conditional_note}', '']
    lines += ['Why each pair is refused:', '']
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
