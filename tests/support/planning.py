"""Capacity-planning inputs for tests: hosts, servers and contracts as the
planner takes them, built in one line each (pure, no I/O)."""

from vmr_coordinator import contracts
from vmr_coordinator.planning import HostCapacity, ServerLoad

SMALL = {'vcpus': 2, 'ram': 4096, 'disk': 20}
BIG = {'vcpus': 8, 'ram': 16384, 'disk': 80}


def host(name, vcpus=16, ram=32768, disk=400, used=(0, 0, 0), **state):
    return HostCapacity(name=name, vcpus=vcpus, ram_mb=ram, disk_gb=disk,
                        vcpus_used=used[0], ram_mb_used=used[1],
                        disk_gb_used=used[2], **state)


def server(name, on='c1', flavor=SMALL, metadata=None, **extra):
    doc = {'id': 'id-' + name, 'name': name, 'host': on,
           'metadata': metadata or {'ha': 'true'}, 'flavor': flavor}
    doc.update(extra)
    return ServerLoad.from_dict(doc)


def contract(name, action='evacuate', priority=100, params=None, **selector):
    return contracts.parse_contract({
        'name': name, 'priority': priority, 'trigger': {'type': 'host_down'},
        'selector': selector or {'metadata': {'ha': 'true'}},
        'action': {'type': action, 'params': params or {}}})


def by_name(result):
    return {s['server_name']: s for s in result['steps']}
