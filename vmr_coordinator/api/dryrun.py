"""Which servers a contract would select: the ``dry_run=1`` answer.

:func:`selection` is pure (contract + server facts -> selected/skipped);
:func:`cloud_facts` is the I/O edge that lists every server through
openstacksdk.  The selection follows the engine's rules: the selector must
match, and servers that look owned by another controller (Octavia amphorae
and the like) are skipped unless the contract selects them explicitly.
"""


def selection(contract, servers, policy):
    """``{'selected': [...], 'skipped': [...]}`` for ``contract``.

    ``servers`` are :class:`~vmr_coordinator.contracts.ServerFacts`;
    ``policy`` a :class:`~vmr_coordinator.contracts.ServiceVmPolicy`.
    """
    selected, skipped = [], []
    for server in sorted(servers, key=lambda s: (s.name, s.id)):
        if not contract.selector.matches(server):
            continue
        why = None if contract.selector.selects_service_vms(server) else \
            policy.reason(server)
        entry = {'id': server.id, 'name': server.name, 'host': server.host,
                 'project_id': server.project_id, 'status': server.status}
        if why:
            skipped.append(dict(entry, reason=why))
        else:
            selected.append(entry)
    return {'selected': selected, 'skipped': skipped}


def cloud_facts(conn):
    """Server facts of every server in the cloud (all projects)."""
    from vmr_coordinator import cloud

    return cloud.describe_servers(conn, conn.compute.servers(
        details=True, all_projects=True))
