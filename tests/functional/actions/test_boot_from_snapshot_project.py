"""boot_from_snapshot boots the replacement in the old server's project.

A tenant's server replaced into VMR's project would vanish from the
tenant's view, charge VMR's quota and lose the project's security groups
(Nova looks the ids up in the caller's project). VMR's user takes a token
scoped to the owner's project, which Keystone grants only with a role
there; ``boot_as: vmr`` keeps the old behaviour.
"""

import pytest

from tests.support.actions import context, events, fence, group_ids, run
from vmr_coordinator.actions import base


def _tenant_server(conn, member_conn, name='app-1', network=True):
    """A server the demo member booted, with a group of the demo project
    on its port, and its snapshot; returned as the admin sees it."""
    image = next(member_conn.image.images(status='active'))
    flavor = sorted(member_conn.compute.flavors(), key=lambda f: f.ram)[0]
    group = None
    attrs = {'networks': 'none'}
    if network:
        group = member_conn.network.create_security_group(name='app')
        net = member_conn.network.find_network('private')
        attrs = {'networks': [{'uuid': net.id}],
                 'security_groups': [{'name': group.id}]}
    server = member_conn.compute.create_server(
        name=name, image_id=image.id, flavor_id=flavor.id, **attrs)
    server = member_conn.compute.wait_for_server(server, interval=0.05,
                                                 wait=30)
    member_conn.compute.create_server_image(server, name + '-nightly',
                                            wait=True)
    member_conn.compute.wait_for_server(server, interval=0.05)
    return conn.compute.get_server(server.id), group


def _replacements(conn, server):
    return [conn.compute.get_server(s.id) for s in conn.compute.servers(
        details=True, all_projects=True)
        if (s.metadata or {}).get('vmr_replaces') == server.id]


def test_replacement_is_booted_in_the_owners_project(
        lab, conn, member_conn, vmr_is_member_of_demo):
    demo = member_conn.current_project_id
    server, group = _tenant_server(conn, member_conn)
    assert server.project_id == demo != conn.current_project_id
    assert group_ids(conn, server) == [group.id]
    ctx = context(conn, server, server.compute_host)
    fence(lab, conn, server.compute_host)

    action, result = run('boot_from_snapshot', {}, ctx)
    (new,) = _replacements(conn, server)
    assert 'booted %s from app-1-nightly' % new.id in result
    assert 'in project %s (demo)' % demo in result
    assert 'deleted %s' % server.id in result
    assert new.status == 'ACTIVE' and new.project_id == demo
    # The project's own group, which Nova found in the project.
    assert group_ids(conn, new) == [group.id]
    assert [g['name'] for g in new.security_groups] == ['app']
    # The tenant sees its server again; the boot's request id is evidence.
    assert [s.id for s in member_conn.compute.servers()] == [new.id]
    assert action.request_ids

    created = len(events(lab, 'server_created'))
    action, result = run('boot_from_snapshot', {}, ctx)
    assert 'found replacement %s in project %s' % (new.id, demo) in result
    assert action.request_ids == []
    assert len(events(lab, 'server_created')) == created
    assert lab.monitor.violations() == []


def test_boot_as_vmr_boots_in_vmrs_project(lab, conn, member_conn):
    """No role needed: the old behaviour, for clouds that want it."""
    server, _ = _tenant_server(conn, member_conn, network=False)
    ctx = context(conn, server, server.compute_host)
    fence(lab, conn, server.compute_host)

    _, result = run('boot_from_snapshot', {'boot_as': 'vmr'}, ctx)
    (new,) = _replacements(conn, server)
    assert new.status == 'ACTIVE'
    assert new.project_id == conn.current_project_id
    assert 'booted %s' % new.id in result and 'in project' not in result
    assert list(member_conn.compute.servers()) == []


def test_no_role_in_the_owners_project_is_one_clear_error(
        lab, conn, member_conn):
    demo = member_conn.current_project_id
    server, _ = _tenant_server(conn, member_conn)
    ctx = context(conn, server, server.compute_host)
    fence(lab, conn, server.compute_host)
    created = len(events(lab, 'server_created'))

    with pytest.raises(base.ActionError) as info:
        run('boot_from_snapshot', {}, ctx)
    message = str(info.value)
    assert not isinstance(info.value, base.RetryableError)
    me = conn.current_user_id
    assert "VMR's user %s (admin) cannot act in project %s (demo)" % (
        me, demo) in message
    assert 'openstack role add --user %s --project %s member' % (
        me, demo) in message
    assert 'boot_as: vmr' in message
    assert 'vmr-lab-admin' not in message        # the password
    assert '\n' not in message
    assert _replacements(conn, server) == []
    assert len(events(lab, 'server_created')) == created
    assert conn.compute.get_server(server.id).status == 'ACTIVE'


def test_resume_finds_the_replacement_in_the_owners_project(
        lab, conn, member_conn, vmr_is_member_of_demo):
    """A crash between the boot and the rest; the retry boots nothing."""
    demo = member_conn.current_project_id
    server, group = _tenant_server(conn, member_conn, name='db-1')
    volume = member_conn.block_storage.create_volume(size=1, name='db-data')
    member_conn.block_storage.wait_for_status(volume, 'available',
                                              interval=0.05, wait=30)
    member_conn.compute.create_volume_attachment(server, volume_id=volume.id)
    member_conn.block_storage.wait_for_status(volume, 'in-use',
                                              interval=0.05, wait=30)
    public = member_conn.network.find_network('public')
    port = next(member_conn.network.ports(device_id=server.id))
    fip = member_conn.network.create_ip(floating_network_id=public.id,
                                        port_id=port.id)
    # The facts the engine keeps: the old record is gone after the first
    # attempt (its host is down: deleting it frees the volume).
    ctx, retry = (context(conn, server, server.compute_host)
                  for _ in range(2))
    fence(lab, conn, server.compute_host)
    created = len(events(lab, 'server_created'))

    lab.nova.inject_fault(503, count=1, method='POST',
                          path_contains='/os-volume_attachments')
    with pytest.raises(base.RetryableError, match='HTTP 503'):
        run('boot_from_snapshot', {}, ctx)
    (new,) = _replacements(conn, server)
    assert new.project_id == demo
    assert len(events(lab, 'server_created')) == created + 1

    _, result = run('boot_from_snapshot', {}, retry)
    assert 'found replacement %s in project %s' % (new.id, demo) in result
    assert 'booted' not in result
    assert len(events(lab, 'server_created')) == created + 1
    # VMR's admin connection moved the project's volume and address.
    attached = conn.block_storage.get_volume(volume.id)
    assert [a['server_id'] for a in attached.attachments] == [new.id]
    new_port = next(conn.network.ports(device_id=new.id))
    assert conn.network.get_ip(fip.id).port_id == new_port.id
    assert group_ids(conn, new) == [group.id]
    assert conn.compute.find_server(server.id, ignore_missing=True) is None
    assert lab.monitor.violations() == []


def _other_host(lab, server):
    return next(h for h in sorted(lab.hosts) if h != server.compute_host)


def test_target_host_is_kept_when_nova_allows_it(lab, conn, member_conn):
    """VMR's own project: its admin token may name the host (2.74)."""
    server, _ = _tenant_server(conn, member_conn, network=False)
    ctx = context(conn, server, server.compute_host)
    target = _other_host(lab, server)
    fence(lab, conn, server.compute_host)

    action, result = run('boot_from_snapshot',
                         {'boot_as': 'vmr', 'target_host': target}, ctx)
    (new,) = _replacements(conn, server)
    assert new.compute_host == target
    assert 'not booted on' not in result and not action.warnings


def test_target_host_refused_in_the_owners_project_boots_and_says_so(
        lab, conn, member_conn, vmr_is_member_of_demo):
    """A member of the owner's project may not name a host: Nova answers
    403; the replacement boots where the scheduler chooses, and the
    result says it was not booted where asked."""
    server, _ = _tenant_server(conn, member_conn, network=False)
    ctx = context(conn, server, server.compute_host)
    target = _other_host(lab, server)
    fence(lab, conn, server.compute_host)

    _, result = run('boot_from_snapshot', {'target_host': target}, ctx)
    (new,) = _replacements(conn, server)
    assert new.status == 'ACTIVE'
    assert new.project_id == member_conn.current_project_id
    assert 'warning: not booted on %s as asked' % target in result
    assert 'HTTP 403' in result and 'boot_as: vmr' in result
