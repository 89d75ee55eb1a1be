"""Builders shared by the contract tests (plain data, no I/O)."""

import copy

from vmr_coordinator.contracts import ServerFacts, parse_contract

BASE = {
    'name': 'web-ha',
    'trigger': {'type': 'host_down'},
    'selector': {'metadata': {'ha': 'true'}},
    'action': {'type': 'evacuate'},
}


def doc(**changes):
    """BASE with top-level fields replaced (a value of None deletes the field)."""
    out = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def contract(name, priority=100, trigger=None, selector=None, action=None, **extra):
    """A parsed contract with sensible defaults for matching tests."""
    return parse_contract({
        'name': name, 'priority': priority,
        'trigger': trigger or {'type': 'host_down'},
        'selector': selector or {'all': True},
        'action': action or {'type': 'evacuate'},
        **extra,
    })


def server(name, host='compute-3', **facts):
    """ServerFacts whose id is derived from the name."""
    return ServerFacts(id=facts.pop('id', f'id-{name}'), name=name, host=host, **facts)
