"""lb_failover flips Octavia members: dead one off, standby on and ONLINE."""

import pytest

from tests.functional.actions.conftest import boot, context, fence, run
from vmr_coordinator.actions import base


def _wait_lb(conn, lb_id):
    conn.load_balancer.wait_for_load_balancer(lb_id, interval=0.05, wait=30)


def _setup(conn):
    active = boot(conn, 'api-a', 'compute-1',
                  {'app': 'api', 'vmr_pair': 'api', 'vmr_role': 'active'})
    standby = boot(conn, 'api-b', 'compute-2',
                   {'app': 'api', 'vmr_pair': 'api', 'vmr_role': 'standby'})
    # A standby of another pair, enabled in the same pool: left alone.
    other = boot(conn, 'api-x', 'compute-3',
                 {'app': 'api', 'vmr_pair': 'other', 'vmr_role': 'standby'})
    subnet = conn.network.find_subnet('private-subnet')
    lbaas = conn.load_balancer
    lb = lbaas.create_load_balancer(name='api-lb', vip_subnet_id=subnet.id)
    _wait_lb(conn, lb.id)
    listener = lbaas.create_listener(loadbalancer_id=lb.id, protocol='HTTP',
                                     protocol_port=80)
    _wait_lb(conn, lb.id)
    pool = lbaas.create_pool(listener_id=listener.id, protocol='HTTP',
                             lb_algorithm='ROUND_ROBIN', name='api-pool')
    _wait_lb(conn, lb.id)
    lbaas.create_health_monitor(pool_id=pool.id, type='HTTP', delay=5,
                                timeout=3, max_retries=2)
    _wait_lb(conn, lb.id)
    members = {}
    for server, enabled in ((active, True), (standby, False), (other, False)):
        address = next(conn.network.ports(device_id=server.id)) \
            .fixed_ips[0]['ip_address']
        members[server.name] = lbaas.create_member(
            pool, address=address, protocol_port=80, subnet_id=subnet.id,
            admin_state_up=enabled)
        _wait_lb(conn, lb.id)
    return active, pool, members


def _states(conn, pool):
    return {m.address: (m.is_admin_state_up, m.operating_status)
            for m in conn.load_balancer.members(pool)}


def test_flips_members_then_nothing(lab, conn):
    active, pool, members = _setup(conn)
    a, b, x = (members[n].address for n in ('api-a', 'api-b', 'api-x'))
    fence(lab, conn, 'compute-1')
    # Someone else's change holds the load balancer (PENDING_UPDATE) and
    # Octavia answers one more 409 after that: the action rides both out.
    conn.load_balancer.update_member(members['api-x'], pool, weight=2)
    lab.octavia.inject_fault(409, count=1, method='PUT',
                             path_contains='/members/')

    action, result = run('lb_failover', {'pool': 'api-pool'},
                         context(conn, active, 'compute-1'))
    assert action.needs_fence is True
    assert result.startswith('disabled %s, enabled %s; standby %s ONLINE'
                             % (a, b, b))
    assert _states(conn, pool) == {a: (False, 'OFFLINE'),
                                   b: (True, 'ONLINE'),
                                   x: (False, 'OFFLINE')}
    assert lab.octavia.injected_faults == []      # the 409 was answered
    lb = conn.load_balancer.get_load_balancer(pool.loadbalancers[0]['id'])
    assert lb.provisioning_status == 'ACTIVE'

    action, result = run('lb_failover', {'pool': pool.id},
                         context(conn, active, 'compute-1'))
    assert result.startswith('members already flipped; standby %s ONLINE'
                             % b)
    assert action.request_ids == []
    assert lab.monitor.violations() == []


def test_unknown_pool_and_no_standby(lab, conn):
    active, pool, members = _setup(conn)
    fence(lab, conn, 'compute-1')
    with pytest.raises(base.ActionError, match="pool 'nope' not found"):
        run('lb_failover', {'pool': 'nope'},
            context(conn, active, 'compute-1'))
    with pytest.raises(base.ActionError, match='no member belongs to a live'):
        run('lb_failover', {'pool': 'api-pool',
                            'standby_metadata': {'vmr_role': 'spare'}},
            context(conn, active, 'compute-1'))
