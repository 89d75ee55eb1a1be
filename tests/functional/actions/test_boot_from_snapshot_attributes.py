"""boot_from_snapshot gives the replacement what the old server was booted
with: security groups, metadata, key name and user data."""

import base64

import pytest
from openstack import exceptions

from tests.functional.actions.conftest import context, events, fence, run

USER_DATA = base64.b64encode(b'#cloud-config\nhostname: web-1\n').decode()


def _web_server(conn):
    """web-1 on compute-1 with two groups, a key, user data and a snapshot.

    Two groups of the project are named ``web``: the action must pass
    ids, not the names Nova shows.
    """
    web = conn.network.create_security_group(name='web')
    conn.network.create_security_group(name='web')       # same name
    ssh = conn.network.create_security_group(name='ssh')
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


def _group_ids(conn, server):
    return sorted({sg for port in conn.network.ports(device_id=server.id)
                   for sg in port.security_group_ids})


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
    assert _group_ids(conn, new) == sorted([web.id, ssh.id])

    # Idempotent: a second run finds the replacement and boots nothing.
    created = len(events(lab, 'server_created'))
    action, result = run('boot_from_snapshot', {}, ctx)
    assert 'found replacement %s' % new.id in result
    assert action.request_ids == []
    assert len(events(lab, 'server_created')) == created
    assert lab.monitor.violations() == []


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
