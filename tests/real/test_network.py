"""Floating IPs and VRRP pairs against real Neutron 29: the lab's referee.

Servers boot with a port on the ``private`` network, routed to ``public``
by ``router1`` (RealServices makes that topology at start-up).  Each test
drives an action or the pair setup exactly as VMR does, then checks what
Neutron says, and that every request id the action recorded is in the log
of the service that answered it (Neutron's comes from gunicorn's access
log, Nova's from nova-api's request log).
"""

import uuid

import pytest

from tests.support.actions import context, run
from tests.support.real_tier import (assert_logged, fence, floating_ip,
                                     port_of)
from vmr_keepalived import pair as vrrp_pair


def _pair(cloud, **server_args):
    active = cloud.boot('vpn-a', 'compute-1', {
        'vmr_pair': 'vpn', 'vmr_role': 'active', 'app': 'vpn'},
        **server_args)
    standby = cloud.boot('vpn-b', 'compute-2', {
        'vmr_pair': 'vpn', 'vmr_role': 'standby', 'app': 'vpn'},
        **server_args)
    return active, standby


def test_neutron_takes_the_port_query_of_a_long_server_list(conn):
    """nova-api answers a list of servers by asking Neutron for the ports
    of up to 150 of them in one URL (``device_id`` 150 times, about 7 KB).
    Behind gunicorn's default ``limit_request_line`` (4094) Neutron refused
    it and nova-api answered 500 to every list of about 85 servers or more;
    the real tier serves its APIs with 8190, as production front ends do."""
    ids = [str(uuid.uuid4()) for _ in range(150)]
    assert list(conn.network.ports(device_id=ids)) == []


def test_fip_failover_moves_the_floating_ip(cloud, conn):
    active, standby = _pair(cloud)
    fip = floating_ip(conn, active)
    assert fip.router_id == cloud.openstack.networks['router']
    target = port_of(conn, standby)
    assert (target.status, target.binding_host_id) == ('ACTIVE', 'compute-2')
    fence(cloud, conn, 'compute-1')

    action, result = run('fip_failover', {}, context(
        conn, active, 'compute-1', timeout=60, poll=0.2))
    assert result.startswith('moved %s to vpn-b' % fip.floating_ip_address)
    assert 'roles swapped' in result
    # One floating IP update (Neutron), two metadata writes (Nova).
    assert len(action.request_ids) == 3, result
    assert_logged(cloud, result, exactly={'neutron-api': 1})
    moved = conn.network.get_ip(fip.id)
    assert (moved.port_id, moved.fixed_ip_address) == (
        target.id, target.fixed_ips[0]['ip_address'])
    assert list(conn.network.ips(port_id=port_of(conn, active).id)) == []
    assert conn.compute.get_server(standby.id).metadata['vmr_role'] == \
        'active'

    # A new leader resuming: nothing to send.
    action, result = run('fip_failover', {}, context(conn, active,
                                                     'compute-1'))
    assert 'already on vpn-b' in result and 'roles already swapped' in result
    assert action.request_ids == []
    assert conn.network.get_ip(fip.id).revision_number == \
        moved.revision_number
    assert cloud.monitor.violations() == []


@pytest.mark.slow
def test_vrrp_pair_setup_then_failover_without_agreement(cloud, conn):
    """setup_vrrp_pair on real Neutron, then fip_failover in vrrp mode."""
    group = conn.network.create_security_group(name='vpn-members')
    active, standby = _pair(cloud, security_groups=[{'name': group.name}])
    public = conn.network.find_network('public', ignore_missing=False)

    setup = vrrp_pair.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                      floating_network=public.id)
    vip = conn.network.get_port(setup.vip_port_id)
    assert vip.name == vrrp_pair.vip_port_name('vpn')
    assert setup.vip_address == vip.fixed_ips[0]['ip_address']
    for server in (active, standby):
        pairs = port_of(conn, server).allowed_address_pairs
        assert setup.vip_address in [p['ip_address'] for p in pairs], pairs
    (vrrp_rule,) = [r for r in conn.network.security_group_rules(
        security_group_id=group.id, direction='ingress')]
    assert (vrrp_rule.protocol, vrrp_rule.remote_group_id) == ('vrrp',
                                                               group.id)
    (fip,) = list(conn.network.ips(port_id=vip.id))
    assert setup.floating_ip == fip.floating_ip_address
    # Everything in place: a second run changes nothing.
    again = vrrp_pair.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                      floating_network=public.id)
    assert again.operations == () and again.vip_port_id == vip.id

    fence(cloud, conn, 'compute-1')
    action, result = run('fip_failover', {'mode': 'vrrp'}, context(
        conn, active, 'compute-1', timeout=60, poll=0.2))
    assert result.startswith('VRRP pair vpn cannot agree (vpn-b reported '
                             'nothing): moved %s to vpn-b'
                             % fip.floating_ip_address), result
    assert_logged(cloud, result, exactly={'neutron-api': 1})
    assert conn.network.get_ip(fip.id).port_id == port_of(conn, standby).id


@pytest.mark.slow
def test_boot_from_snapshot_keeps_key_pair_groups_user_data_and_fip(cloud,
                                                                     conn):
    """boot_from_snapshot on real Nova, Glance and Neutron: the replacement
    boots with the old server's key pair, security groups and user data,
    and its floating IP follows it to the new port."""
    import base64
    group = conn.network.create_security_group(name='web-members')
    # from microversion 2.92 on Nova imports a public key, never makes one
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    public_key = rsa.generate_private_key(
        public_exponent=65537, key_size=2048).public_key().public_bytes(
            serialization.Encoding.OpenSSH,
            serialization.PublicFormat.OpenSSH).decode()
    keypair = conn.compute.create_keypair(name='web-key',
                                          public_key=public_key)
    user_data = base64.b64encode(b'#cloud-config\nhostname: web-1\n').decode()
    try:
        server = cloud.boot('web-1', 'compute-2', {'app': 'web'}, wait=300,
                            key_name=keypair.name, user_data=user_data,
                            security_groups=[{'name': group.name}])
        fip = floating_ip(conn, server)
        snapshot = conn.compute.create_server_image(server, 'web-1-snap',
                                                    wait=True, timeout=300)
        fence(cloud, conn, 'compute-2')
        _, result = run('boot_from_snapshot', {'reattach_volumes': False,
                                               'move_floating_ips': True},
                        context(conn, server, 'compute-2', timeout=300,
                                poll=0.2))
        assert_logged(cloud, result)
        assert 'from %s (%s)' % (snapshot.name, snapshot.id) in result
        assert 'floating IPs %s' % fip.floating_ip_address in result, result
        (new,) = [s for s in conn.compute.servers(details=True)
                  if s.name == 'web-1']
        assert new.id != server.id and new.compute_host != 'compute-2'
        new = conn.compute.get_server(new.id)
        assert new.key_name == keypair.name
        assert {g['name'] for g in new.security_groups} == {group.name}
        assert new.user_data == user_data
        assert group.id in port_of(conn, new).security_group_ids
        assert conn.network.get_ip(fip.id).port_id == port_of(conn, new).id
        assert cloud.wait_running(new.id, new.compute_host, timeout=60)
        assert cloud.monitor.violations() == []
    finally:
        conn.compute.delete_keypair(keypair, ignore_missing=True)
