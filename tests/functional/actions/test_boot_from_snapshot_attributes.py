"""boot_from_snapshot gives the replacement what the old server was booted
with: security groups, metadata, key name and user data.

Nova takes a ``key_name`` only from the calling user's key pairs: when
VMR's user has no such key pair (or one with another key), the replacement
boots without it and the step says so, instead of failing the recovery.
"""

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from openstack import exceptions

from tests.support.actions import context, events, fence, group_ids, run

USER_DATA = base64.b64encode(b'#cloud-config\nhostname: web-1\n').decode()

def _public_key():
    """A fresh OpenSSH public key: at 2.95 Nova generates none."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()


def _web_server(conn):
    """web-1 on compute-1 with two groups, a key, user data and a snapshot.

    Two groups of the project are named ``web``: the action must pass
    ids, not the names Nova shows.
    """
    web = conn.network.create_security_group(name='web')
    conn.network.create_security_group(name='web')       # same name
    ssh = conn.network.create_security_group(name='ssh')
    conn.compute.create_keypair(name='ops-key', public_key=_public_key())
    net = conn.network.find_network('private')
    image = next(conn.image.images(status='active'))
    flavor = sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
    server = conn.compute.create_server(
        name='web-1', image_id=image.id, flavor_id=flavor.id,
        networks=[{'uuid': net.id}], metadata={'tier': 'web'},
        security_groups=[{'name': web.id}, {'name': 'ssh'}],
        key_name='ops-key', user_data=USER_DATA,
        availability_zone='nova:compute-1')
    server = conn.compute.wait_for_server(server, interval=0.05, wait=30)
    conn.compute.create_server_image(server, 'web-1-nightly', wait=True)
    conn.compute.wait_for_server(server, interval=0.05)
    return conn.compute.get_server(server.id), web, ssh


def assert_second_run_boots_nothing(lab, ctx, new):
    """Idempotent: a second run finds the replacement and boots nothing."""
    created = len(events(lab, 'server_created'))
    action, result = run('boot_from_snapshot', {}, ctx)
    assert 'found replacement %s' % new.id in result
    assert action.request_ids == []
    assert len(events(lab, 'server_created')) == created
    assert lab.monitor.violations() == []

def test_replacement_keeps_groups_metadata_key_and_user_data(lab, conn):
    server, web, ssh = _web_server(conn)
    assert server.user_data == USER_DATA
    assert server.key_name == 'ops-key'
    assert sorted(g['name'] for g in server.security_groups) == ['ssh', 'web']
    ctx = context(conn, server, 'compute-1')
    fence(lab, conn, 'compute-1')

    _, result = run('boot_from_snapshot', {}, ctx)
    assert 'booted' in result and 'deleted %s' % server.id in result
    (new,) = [s for s in conn.compute.servers(details=True, all_projects=True)
              if (s.metadata or {}).get('vmr_replaces') == server.id]
    new = conn.compute.get_server(new.id)
    assert new.status == 'ACTIVE' and new.compute_host != 'compute-1'
    assert new.metadata == {'tier': 'web', 'vmr_replaces': server.id}
    assert new.key_name == 'ops-key'
    assert new.user_data == USER_DATA
    assert sorted(g['name'] for g in new.security_groups) == ['ssh', 'web']
    # The very groups, not another group of the same name.
    assert group_ids(conn, new) == sorted([web.id, ssh.id])

    assert_second_run_boots_nothing(lab, ctx, new)


def test_lab_nova_refuses_what_nova_refuses(conn):
    """The lab's Nova checks these fields like Nova does."""
    net = conn.network.find_network('private')
    image = next(conn.image.images(status='active'))
    flavor = sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
    conn.network.create_security_group(name='twin')
    conn.network.create_security_group(name='twin')
    common = dict(name='bad', image_id=image.id, flavor_id=flavor.id,
                  networks=[{'uuid': net.id}])
    with pytest.raises(exceptions.BadRequestException,
                       match='Security group nosuch not found'):
        conn.compute.create_server(security_groups=[{'name': 'nosuch'}],
                                   **common)
    with pytest.raises(exceptions.ConflictException,
                       match="Multiple security groups found matching "
                             "'twin'"):
        conn.compute.create_server(security_groups=[{'name': 'twin'}],
                                   **common)
    with pytest.raises(exceptions.BadRequestException,
                       match="is not a 'base64'"):
        conn.compute.create_server(user_data='not base64!', **common)
    assert [s for s in conn.compute.servers() if s.name == 'bad'] == []


def test_default_group_only_server_shows_default(conn):
    """Without a request Nova still shows the group Neutron put on the port."""
    net = conn.network.find_network('private')
    image = next(conn.image.images(status='active'))
    flavor = sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
    server = conn.compute.create_server(
        name='plain', image_id=image.id, flavor_id=flavor.id,
        networks=[{'uuid': net.id}])
    server = conn.compute.wait_for_server(server, interval=0.05, wait=30)
    assert [g['name'] for g in server.security_groups] == ['default']
    assert server.user_data is None
    none = conn.compute.create_server(
        name='isolated', image_id=image.id, flavor_id=flavor.id,
        networks='none')
    conn.compute.wait_for_server(none, interval=0.05, wait=30)
    # No port, no group: Nova leaves the key out of the show.
    assert conn.compute.get_server(none.id).security_groups is None


def _replace(lab, conn, server):
    """Fence the server's host and run boot_from_snapshot as the engine."""
    ctx = context(conn, server, server.compute_host)
    fence(lab, conn, server.compute_host)
    action, result = run('boot_from_snapshot', {}, ctx)
    (new,) = [s for s in conn.compute.servers(details=True, all_projects=True)
              if (s.metadata or {}).get('vmr_replaces') == server.id]
    return ctx, action, result, conn.compute.get_server(new.id)


def _members_server(conn, member_conn, key_name):
    """A server the project member booted with their own key pair.

    Without a network: the security groups of the member's project are
    test_boot_from_snapshot_project's matter. The replacement is booted in
    the demo project, but by VMR's user: Nova still takes the key name
    from VMR's user's key pairs.
    """
    image = next(member_conn.image.images(status='active'))
    flavor = sorted(member_conn.compute.flavors(), key=lambda f: f.ram)[0]
    server = member_conn.compute.create_server(
        name='app-1', image_id=image.id, flavor_id=flavor.id,
        networks='none', key_name=key_name)
    server = member_conn.compute.wait_for_server(server, interval=0.05,
                                                 wait=30)
    member_conn.compute.create_server_image(server, 'app-1-nightly',
                                            wait=True)
    member_conn.compute.wait_for_server(server, interval=0.05)
    return conn.compute.get_server(server.id)


def test_key_pair_of_another_user_is_left_out_with_a_warning(
        lab, conn, member_conn, vmr_is_member_of_demo):
    member_conn.compute.create_keypair(name='demo-key',
                                       public_key=_public_key())
    server = _members_server(conn, member_conn, 'demo-key')
    assert server.key_name == 'demo-key'
    assert server.user_id == member_conn.current_user_id != \
        conn.current_user_id
    # What the action used to do: Nova refuses VMR's user that name.
    with pytest.raises(exceptions.BadRequestException,
                       match='Invalid key_name provided.'):
        conn.compute.create_server(
            name='probe', image_id=server.image.id, networks='none',
            flavor_id=sorted(conn.compute.flavors(), key=lambda f: f.ram)[0].id,
            key_name='demo-key')

    ctx, action, result, new = _replace(lab, conn, server)
    assert new.status == 'ACTIVE' and new.key_name is None
    assert 'deleted %s' % server.id in result
    (warning,) = action.warnings
    assert "booted without key pair 'demo-key'" in warning
    assert "has no key pair of that name" in warning
    assert conn.current_user_id in warning
    # The journal keeps the result text: the warning is in it.
    assert 'warning: %s' % warning in result

    # Idempotent: found again, nothing booted twice.
    assert_second_run_boots_nothing(lab, ctx, new)


def test_same_name_with_another_key_is_not_copied(
        lab, conn, member_conn, vmr_is_member_of_demo):
    """VMR's own key pair of that name must not reach the member's server."""
    member_conn.compute.create_keypair(name='deploy',
                                       public_key=_public_key())
    conn.compute.create_keypair(name='deploy', public_key=_public_key())
    server = _members_server(conn, member_conn, 'deploy')

    _, action, result, new = _replace(lab, conn, server)
    assert new.status == 'ACTIVE' and new.key_name is None
    (warning,) = action.warnings
    assert "booted without key pair 'deploy'" in warning
    assert 'holds another key' in warning
    assert 'warning: ' in result


def test_same_key_under_vmr_user_is_copied(
        lab, conn, member_conn, vmr_is_member_of_demo):
    """The member's public key imported for VMR's user too: kept."""
    public_key = _public_key()
    member_conn.compute.create_keypair(name='shared-key',
                                       public_key=public_key)
    conn.compute.create_keypair(name='shared-key', public_key=public_key)
    server = _members_server(conn, member_conn, 'shared-key')

    _, action, result, new = _replace(lab, conn, server)
    assert new.status == 'ACTIVE' and new.key_name == 'shared-key'
    assert action.warnings == [] and 'warning' not in result
