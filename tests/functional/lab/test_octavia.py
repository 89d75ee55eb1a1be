"""Octavia through openstacksdk: the member flip of VMR's ``lb_failover``.

Disable the dead server's member, enable the standby's, and read the
operating statuses Octavia derives from its health monitor.
"""

import json

import openstack.exceptions
import pytest

try:
    from . import _services_harness as h
except ImportError:  # the lab test directory is not a package
    import _services_harness as h


@pytest.fixture(autouse=True)
def _needs_octavia(conn):
    h.require_service(conn, 'load-balancer')


def _load_balancer(conn, cleanup, name):
    subnet_id = h.network(conn).subnet_ids[0]
    lb = conn.load_balancer.create_load_balancer(name=name,
                                                 vip_subnet_id=subnet_id)
    cleanup.add(_delete_lb, conn, lb.id)
    return lb, subnet_id


def _delete_lb(conn, lb_id):
    h.wait_lb(conn, lb_id)
    conn.load_balancer.delete_load_balancer(lb_id, cascade=True)


def _statuses(conn, pool):
    return {m.address: (m.is_admin_state_up, m.operating_status)
            for m in conn.load_balancer.members(pool)}


def test_member_flip(request, conn, unique_name):
    lab = h.lab_or_none(request)
    cleanup = h.Cleanup(request)
    active = h.boot_server(conn, cleanup, unique_name + '-active')
    standby = h.boot_server(conn, cleanup, unique_name + '-standby')
    active_ip = next(conn.network.ports(device_id=active.id)) \
        .fixed_ips[0]['ip_address']
    standby_ip = next(conn.network.ports(device_id=standby.id)) \
        .fixed_ips[0]['ip_address']

    lb, subnet_id = _load_balancer(conn, cleanup, unique_name)
    assert lb.provisioning_status == 'PENDING_CREATE'
    assert lb.vip_address and lb.vip_port_id
    h.wait_lb(conn, lb.id)
    listener = conn.load_balancer.create_listener(
        loadbalancer_id=lb.id, protocol='HTTP', protocol_port=80,
        name=unique_name)
    h.wait_lb(conn, lb.id)
    pool = conn.load_balancer.create_pool(
        listener_id=listener.id, protocol='HTTP', lb_algorithm='ROUND_ROBIN',
        name=unique_name)
    h.wait_lb(conn, lb.id)
    m_active = conn.load_balancer.create_member(
        pool, address=active_ip, protocol_port=80, subnet_id=subnet_id,
        weight=10)
    h.wait_lb(conn, lb.id)
    m_standby = conn.load_balancer.create_member(
        pool, address=standby_ip, protocol_port=80, subnet_id=subnet_id,
        admin_state_up=False)
    h.wait_lb(conn, lb.id)
    if lab is not None:
        # No health monitor yet: Octavia cannot tell, so NO_MONITOR.
        assert _statuses(conn, pool) == {active_ip: (True, 'NO_MONITOR'),
                                         standby_ip: (False, 'OFFLINE')}
    conn.load_balancer.create_health_monitor(
        pool_id=pool.id, type='HTTP', delay=5, timeout=3, max_retries=2)
    h.wait_lb(conn, lb.id)
    if lab is not None:
        assert _statuses(conn, pool) == {active_ip: (True, 'ONLINE'),
                                         standby_ip: (False, 'OFFLINE')}
        assert conn.load_balancer.get_pool(pool).operating_status == 'ONLINE'

        # The active server dies (its VM stops): its member goes ERROR.
        lab.hosts[active.compute_host].stop_server(active.id,
                                                   reason='crashed')
        assert _statuses(conn, pool)[active_ip] == (True, 'ERROR')
        assert conn.load_balancer.get_pool(pool).operating_status == 'ERROR'
        assert conn.load_balancer.get_load_balancer(lb).operating_status \
            == 'ERROR'

    # The flip: one change at a time, each waiting for ACTIVE again.
    conn.load_balancer.update_member(m_active, pool, admin_state_up=False)
    h.wait_lb(conn, lb.id)
    conn.load_balancer.update_member(m_standby, pool, admin_state_up=True,
                                     weight=10)
    h.wait_lb(conn, lb.id)
    members = {m.address: m for m in conn.load_balancer.members(pool)}
    assert members[active_ip].is_admin_state_up is False
    assert members[standby_ip].is_admin_state_up is True
    assert members[standby_ip].weight == 10
    if lab is not None:
        assert _statuses(conn, pool) == {active_ip: (False, 'OFFLINE'),
                                         standby_ip: (True, 'ONLINE')}
        assert conn.load_balancer.get_pool(pool).operating_status == 'ONLINE'
        assert conn.load_balancer.get_load_balancer(lb).operating_status \
            == 'ONLINE'


def test_immutable_while_pending(request, lab, conn, unique_name):
    lab.octavia.provisioning_delay = 0.5
    cleanup = h.Cleanup(request)
    lb, _ = _load_balancer(conn, cleanup, unique_name)
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.load_balancer.create_listener(loadbalancer_id=lb.id,
                                           protocol='TCP', protocol_port=22)
    assert 'is immutable and cannot be updated' in str(err.value)
    lb = h.wait_lb(conn, lb.id)
    assert lb.provisioning_status == 'ACTIVE'
    conn.load_balancer.update_load_balancer(lb, description='changed')
    assert conn.load_balancer.get_load_balancer(lb).provisioning_status \
        == 'PENDING_UPDATE'
    assert h.wait_lb(conn, lb.id).description == 'changed'


def test_member_change_locks_its_pool(request, conn, unique_name):
    """A member change locks the load balancer, its listener and the pool:
    a second member change meanwhile gets 409 naming the pool (real
    Octavia 19; the lab named the load balancer)."""
    lab = h.lab_or_none(request)
    if lab is not None:
        lab.octavia.provisioning_delay = 0.5
    cleanup = h.Cleanup(request)
    lb, subnet_id = _load_balancer(conn, cleanup, unique_name)
    h.wait_lb(conn, lb.id)
    listener = conn.load_balancer.create_listener(
        loadbalancer_id=lb.id, protocol='HTTP', protocol_port=80)
    h.wait_lb(conn, lb.id)
    pool = conn.load_balancer.create_pool(
        listener_id=listener.id, protocol='HTTP', lb_algorithm='ROUND_ROBIN')
    h.wait_lb(conn, lb.id)
    member = conn.load_balancer.create_member(
        pool, address='10.0.0.98', protocol_port=80, subnet_id=subnet_id)
    h.wait_lb(conn, lb.id)
    changed = conn.load_balancer.update_member(member, pool,
                                               admin_state_up=False)
    assert changed.provisioning_status == 'PENDING_UPDATE'
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.load_balancer.create_member(
            pool, address='10.0.0.99', protocol_port=80, subnet_id=subnet_id)
    assert 'Pool %s is immutable and cannot be updated.' % pool.id \
        in str(err.value)
    h.wait_lb(conn, lb.id)
    assert conn.load_balancer.get_pool(pool).provisioning_status == 'ACTIVE'
    assert conn.load_balancer.get_listener(listener).provisioning_status \
        == 'ACTIVE'
    member = conn.load_balancer.get_member(member, pool)
    assert (member.provisioning_status, member.is_admin_state_up) == (
        'ACTIVE', False)


def test_errors(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.load_balancer.get_load_balancer(
            '00000000-0000-0000-0000-000000000000')
    assert 'not found' in str(err.value)
    lb, subnet_id = _load_balancer(conn, cleanup, unique_name)
    h.wait_lb(conn, lb.id)
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.load_balancer.create_pool(protocol='HTTP',
                                       lb_algorithm='ROUND_ROBIN')
    pool = conn.load_balancer.create_pool(
        loadbalancer_id=lb.id, protocol='TCP', lb_algorithm='ROUND_ROBIN')
    h.wait_lb(conn, lb.id)
    conn.load_balancer.create_member(pool, address='10.0.0.99',
                                     protocol_port=22, subnet_id=subnet_id)
    h.wait_lb(conn, lb.id)
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.load_balancer.create_member(pool, address='10.0.0.99',
                                         protocol_port=22,
                                         subnet_id=subnet_id)
    assert 'already using' in str(err.value)
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.load_balancer.create_member(pool, address='not-an-ip',
                                         protocol_port=22)
    with pytest.raises(openstack.exceptions.BadRequestException) as err:
        conn.load_balancer.delete_load_balancer(lb)
    assert 'has children' in str(err.value)


def test_state_snapshot_round_trip(request, lab, conn, unique_name):
    lab.octavia.provisioning_delay = 0.0
    cleanup = h.Cleanup(request)
    lb, _ = _load_balancer(conn, cleanup, unique_name)
    state = json.loads(json.dumps(lab.octavia.snapshot()))
    lab.octavia.restore({key: {} for key in state})
    assert list(conn.load_balancer.load_balancers()) == []
    lab.octavia.restore(state)
    assert conn.load_balancer.get_load_balancer(lb.id).name == unique_name


def test_error_bodies(conn):
    """Malformed requests: Octavia's WSME fault bodies."""
    # Bodies openstacksdk would never build, sent through its own session.
    subnet_id = h.network(conn).subnet_ids[0]
    response = conn.load_balancer.post('/lbaas/loadbalancers', json={
        'loadbalancer': {'vip_subnet_id': subnet_id, 'no_such': 1}})
    assert response.status_code == 400
    assert response.json()['faultcode'] == 'Client'
    response = conn.load_balancer.post('/lbaas/listeners', json={
        'listener': {'loadbalancer_id': 42, 'protocol': 'HTTP',
                     'protocol_port': 80}})
    assert response.status_code == 400
    response = conn.load_balancer.get(
        '/lbaas/pools/00000000-0000-0000-0000-00000000000f')
    assert response.status_code == 404
    assert 'not found' in response.json()['faultstring']
