"""fip_failover moves the pair's floating IP to the standby, once."""

import pytest

from tests.functional.actions.conftest import (boot, context, fence,
                                               floating_ip, port_of, run)
from vmr_coordinator.actions import base


def _pair(conn):
    active = boot(conn, 'vpn-a', 'compute-1',
                  {'vmr_pair': 'vpn', 'vmr_role': 'active', 'app': 'vpn'})
    standby = boot(conn, 'vpn-b', 'compute-2',
                   {'vmr_pair': 'vpn', 'vmr_role': 'standby', 'app': 'vpn'})
    # Another pair on the same hosts must not be touched.
    boot(conn, 'db-b', 'compute-3', {'vmr_pair': 'db', 'vmr_role': 'standby'})
    return active, standby


def test_moves_fip_swaps_roles_then_nothing(lab, conn):
    active, standby = _pair(conn)
    fip = floating_ip(conn, active)
    ctx = context(conn, active, 'compute-1')
    fence(lab, conn, 'compute-1')

    action, result = run('fip_failover', {}, ctx)
    assert action.needs_fence is True
    assert result.startswith('moved %s to vpn-b' % fip.floating_ip_address)
    assert 'roles swapped' in result
    assert len(action.request_ids) == 3      # 1 FIP update, 2 metadata
    fip = conn.network.get_ip(fip.id)
    assert fip.port_id == port_of(conn, standby).id
    assert conn.compute.get_server(standby.id).metadata['vmr_role'] == \
        'active'
    assert conn.compute.get_server(active.id).metadata['vmr_role'] == \
        'standby'

    # Second run (a new leader resuming): nothing changes.
    action, result = run('fip_failover', {},
                         context(conn, active, 'compute-1'))
    assert 'already on vpn-b' in result and 'roles already swapped' in result
    assert action.request_ids == []
    assert conn.network.get_ip(fip.id).updated_at == fip.updated_at
    assert lab.monitor.violations() == []


def test_fip_moved_but_roles_not_yet(lab, conn):
    """A leader died between the move and the role swap: fix roles only."""
    active, standby = _pair(conn)
    fip = floating_ip(conn, active)
    fence(lab, conn, 'compute-1')
    conn.network.update_ip(fip, port_id=port_of(conn, standby).id)

    action, result = run('fip_failover', {'swap_roles': True},
                         context(conn, active, 'compute-1'))
    assert 'already on vpn-b' in result and 'roles swapped' in result
    assert len(action.request_ids) == 2      # metadata only
    assert conn.compute.get_server(standby.id).metadata['vmr_role'] == \
        'active'


def test_no_live_standby_is_final(lab, conn):
    active = boot(conn, 'vpn-a', 'compute-1',
                  {'vmr_pair': 'vpn', 'vmr_role': 'active'})
    boot(conn, 'vpn-b', 'compute-1',
         {'vmr_pair': 'vpn', 'vmr_role': 'standby'})
    floating_ip(conn, active)
    fence(lab, conn, 'compute-1')
    with pytest.raises(base.ActionError) as err:
        run('fip_failover', {}, context(conn, active, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert 'no ACTIVE standby' in str(err.value)
    assert 'vpn-b ACTIVE on compute-1' in str(err.value)
