"""lb_failover flips Octavia members: dead one off, standby on and ONLINE."""

import pytest

from tests.support.actions import context, fence, lb_pair, member_states, run
from vmr_coordinator.actions import base


def test_flips_members_then_nothing(lab, conn):
    active, pool, members = lb_pair(conn)
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
    assert member_states(conn, pool) == {a: (False, 'OFFLINE'),
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
    active, pool, members = lb_pair(conn)
    fence(lab, conn, 'compute-1')
    with pytest.raises(base.ActionError, match="pool 'nope' not found"):
        run('lb_failover', {'pool': 'nope'},
            context(conn, active, 'compute-1'))
    with pytest.raises(base.ActionError, match='no member belongs to a live'):
        run('lb_failover', {'pool': 'api-pool',
                            'standby_metadata': {'vmr_role': 'spare'}},
            context(conn, active, 'compute-1'))
