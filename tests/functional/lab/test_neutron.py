"""Neutron through openstacksdk: ports, allowed address pairs, floating IPs.

What VMR's ``fip_failover`` action and the keepalived guest pairs rely on:
a port keeps its allowed address pairs, and a floating IP moves from the
dead server's port to the standby's port directly (no disassociate first).
"""

import json

import openstack.exceptions
import pytest

try:
    from . import _services_harness as h
except ImportError:  # the lab test directory is not a package
    import _services_harness as h


@pytest.fixture(autouse=True)
def _needs_neutron(conn):
    h.require_service(conn, 'network')


def _port(conn, cleanup, net, name, **attrs):
    port = conn.network.create_port(network_id=net.id, name=name, **attrs)
    cleanup.add(conn.network.delete_port, port.id)
    return port


def test_ports_keep_allowed_address_pairs(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    port = _port(conn, cleanup, net, unique_name + '-a',
                 allowed_address_pairs=[{'ip_address': '10.0.0.200'}])
    assert port.fixed_ips and port.fixed_ips[0]['subnet_id'] in net.subnet_ids
    # The pair's MAC defaults to the port's own MAC, as in Neutron.
    assert port.allowed_address_pairs == [
        {'ip_address': '10.0.0.200', 'mac_address': port.mac_address}]

    revision = port.revision_number
    port = conn.network.update_port(port, allowed_address_pairs=[
        {'ip_address': '10.0.0.201'}, {'ip_address': '10.0.0.0/28'}])
    # Neutron answers them in its table's key order (MAC, then address),
    # not in the order sent.
    assert [p['ip_address'] for p in port.allowed_address_pairs] == [
        '10.0.0.0/28', '10.0.0.201']
    assert port.revision_number > revision

    fixed = port.fixed_ips[0]['ip_address']
    found = list(conn.network.ports(fixed_ips='ip_address=%s' % fixed))
    assert [p.id for p in found] == [port.id]
    assert conn.network.get_port(port.id).allowed_address_pairs == \
        port.allowed_address_pairs

    port = conn.network.update_port(port, allowed_address_pairs=[])
    assert port.allowed_address_pairs == []

    # Compare-and-swap on the revision, as two writers of one port need.
    stale = port.revision_number - 1
    with pytest.raises(openstack.exceptions.HttpException) as err:
        conn.network.update_port(port, if_revision=stale, name='stale')
    assert err.value.status_code == 412
    port = conn.network.update_port(port, if_revision=port.revision_number,
                                    name='fresh')
    assert port.name == 'fresh'


def test_port_filters_and_device_fields(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    device = 'vmr-test-device-' + unique_name
    port = _port(conn, cleanup, net, unique_name, device_id=device,
                 device_owner='compute:test')
    _port(conn, cleanup, net, unique_name + '-other')
    by_device = list(conn.network.ports(device_id=device))
    assert [p.id for p in by_device] == [port.id]
    assert by_device[0].device_owner == 'compute:test'
    by_net = {p.id for p in conn.network.ports(network_id=net.id)}
    assert port.id in by_net
    port = conn.network.update_port(port, device_id='', device_owner='')
    assert port.device_id == '' and port.device_owner == ''


def test_fixed_ip_conflicts_and_not_found(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    first = _port(conn, cleanup, net, unique_name + '-1')
    taken = first.fixed_ips[0]
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        _port(conn, cleanup, net, unique_name + '-2', fixed_ips=[taken])
    assert 'IP address %s already allocated in subnet %s' % (
        taken['ip_address'], taken['subnet_id']) in str(err.value)

    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.network.get_port('00000000-0000-0000-0000-000000000000')
    assert 'could not be found' in str(err.value)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.create_port(network_id='00000000-0000-0000-0000-'
                                            '000000000001')
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.network.create_port(network_id=net.id, allowed_address_pairs=[
            {'ip_address': 'not-an-address'}])
    # Pairs need port security: Neutron answers 409, not 400.
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.network.create_port(
            network_id=net.id, port_security_enabled=False,
            allowed_address_pairs=[{'ip_address': '10.0.0.210'}])
    assert 'Port Security' in str(err.value)


def test_floating_ip_associate_disassociate_reassociate(request, conn,
                                                        unique_name):
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    ext = h.external_network(conn)
    active = _port(conn, cleanup, net, unique_name + '-active')
    standby = _port(conn, cleanup, net, unique_name + '-standby')
    fip = conn.network.create_ip(floating_network_id=ext.id)
    cleanup.add(conn.network.delete_ip, fip.id)
    assert fip.port_id is None and fip.fixed_ip_address is None

    fip = conn.network.update_ip(fip, port_id=active.id)
    assert fip.port_id == active.id
    assert fip.fixed_ip_address == active.fixed_ips[0]['ip_address']
    assert fip.router_id
    assert [i.id for i in conn.network.ips(port_id=active.id)] == [fip.id]
    found = list(conn.network.ips(
        floating_ip_address=fip.floating_ip_address))
    assert [i.id for i in found] == [fip.id]

    fip = conn.network.update_ip(fip, port_id=None)
    assert fip.port_id is None and fip.fixed_ip_address is None
    assert list(conn.network.ips(port_id=active.id)) == []

    # The failover: straight from the active port to the standby's.
    conn.network.update_ip(fip, port_id=active.id)
    fip = conn.network.update_ip(fip, port_id=standby.id)
    assert fip.port_id == standby.id
    assert fip.fixed_ip_address == standby.fixed_ips[0]['ip_address']
    assert list(conn.network.ips(port_id=active.id)) == []
    fetched = conn.network.get_ip(fip.id)
    assert (fetched.port_id, fetched.fixed_ip_address) == (
        standby.id, standby.fixed_ips[0]['ip_address'])

    # A fixed IP holds one floating IP per external network: 409.
    second = conn.network.create_ip(floating_network_id=ext.id)
    cleanup.add(conn.network.delete_ip, second.id)
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.network.update_ip(second, port_id=standby.id)
    assert 'already has a floating IP' in str(err.value)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.update_ip(second, port_id='00000000-0000-0000-0000-'
                                               '000000000002')

    # Deleting the port frees the floating IP, which stays allocated.
    conn.network.delete_port(standby)
    fetched = conn.network.get_ip(fip.id)
    assert fetched.port_id is None and fetched.status == 'DOWN'


def test_server_ports_and_addresses(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    ext = h.external_network(conn)
    port = _port(conn, cleanup, net, unique_name + '-srv')
    fip = conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
    cleanup.add(conn.network.delete_ip, fip.id)

    server = h.boot_server(conn, cleanup, unique_name, port_id=port.id)
    bound = conn.network.get_port(port.id)
    assert bound.device_id == server.id
    assert bound.device_owner == 'compute:nova'
    assert bound.binding_host_id == server.compute_host
    assert bound.status == 'ACTIVE'
    addresses = conn.compute.get_server(server.id).addresses[net.name]
    assert {(a['addr'], a['OS-EXT-IPS:type']) for a in addresses} == {
        (port.fixed_ips[0]['ip_address'], 'fixed'),
        (fip.floating_ip_address, 'floating')}

    # A port the user passed in survives the server, unbound.
    h.delete_server(conn, server.id)
    left = conn.network.get_port(port.id)
    assert left.device_id == '' and left.binding_host_id == ''
    assert conn.network.get_ip(fip.id).port_id == port.id

    # A port Nova created for the server goes with it.
    server = h.boot_server(conn, cleanup, unique_name + '-2')
    ports = list(conn.network.ports(device_id=server.id))
    assert len(ports) == 1 and ports[0].network_id == net.id
    h.delete_server(conn, server.id)
    assert list(conn.network.ports(device_id=server.id)) == []


def test_member_sees_only_own_ports(request, conn, member_conn, unique_name):
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    admin_port = _port(conn, cleanup, net, unique_name + '-admin')
    mine = _port(member_conn, cleanup, net, unique_name + '-member')
    visible = {p.id for p in member_conn.network.ports()}
    assert mine.id in visible and admin_port.id not in visible
    with pytest.raises(openstack.exceptions.NotFoundException):
        member_conn.network.get_port(admin_port.id)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        member_conn.network.update_port(mine, binding_host_id='compute-1')


def test_state_snapshot_round_trip(lab, conn, unique_name):
    net = h.network(conn)
    port = conn.network.create_port(network_id=net.id, name=unique_name)
    state = json.loads(json.dumps(lab.neutron.snapshot()))
    conn.network.delete_port(port)
    lab.neutron.restore(state)
    assert conn.network.get_port(port.id).name == unique_name


def test_error_bodies(conn):
    """Malformed requests: Neutron's status codes and ``NeutronError``."""
    net = h.network(conn)
    # Bodies openstacksdk would never build, sent through its own session.
    response = conn.network.post('/ports', json={
        'port': {'network_id': net.id, 'no_such_attribute': 1}})
    assert response.status_code == 400
    error = response.json()['NeutronError']
    assert error['type'] == 'HTTPBadRequest'
    assert 'no_such_attribute' in error['message']
    response = conn.network.post('/ports', json={
        'port': {'network_id': net.id, 'fixed_ips': 'not-a-list'}})
    assert response.status_code == 400
    response = conn.network.post('/ports', data=b'{not json')
    assert response.status_code == 400
    response = conn.network.get('/ports/00000000-0000-0000-0000-00000000000f')
    assert response.status_code == 404
    assert response.json()['NeutronError']['type'] == 'PortNotFound'
    assert response.headers.get('x-openstack-request-id', '').startswith(
        'req-')


def test_concurrent_ports_get_distinct_addresses(request, conn, unique_name):
    """Parallel creates (VMR's engine runs steps in a pool) never share an IP."""
    from concurrent.futures import ThreadPoolExecutor
    cleanup = h.Cleanup(request)
    net = h.network(conn)

    def create(i):
        port = conn.network.create_port(network_id=net.id,
                                        name='%s-%d' % (unique_name, i))
        cleanup.add(conn.network.delete_port, port.id)
        return port.fixed_ips[0]['ip_address']

    with ThreadPoolExecutor(max_workers=8) as pool:
        addresses = list(pool.map(create, range(16)))
    assert len(set(addresses)) == 16


def test_reader_cannot_write(request, conn, reader_conn, unique_name):
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    assert net.is_shared
    assert net.id in {n.id for n in reader_conn.network.networks()}
    with pytest.raises(openstack.exceptions.ForbiddenException) as err:
        reader_conn.network.create_network(name=unique_name)
    assert 'rule:create_network is disallowed by policy' in str(err.value)
    # Neutron's create_port policy ends in "or rule:shared": a reader may
    # put a port on a shared network (in its own project).
    port = reader_conn.network.create_port(network_id=net.id,
                                           name=unique_name)
    cleanup.add(conn.network.delete_port, port.id)
    assert port.project_id == reader_conn.current_project_id
