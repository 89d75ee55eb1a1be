"""fip_failover moves the pair's floating IP to the standby, once."""

import uuid

import pytest
from oslo_config import cfg

from tests.labfixtures import boot, port_of
from tests.support.actions import context, fence, floating_ip, run
from vmr_common.conf import etcd as etcd_conf
from vmr_common.store import Store
from vmr_coordinator.actions import base
from vmr_keepalived import pair as vrrp_pair


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


def _vrrp_pair(conn):
    """The pair in vrrp mode: its floating IP on the VIP port."""
    active, standby = _pair(conn)
    public = conn.network.find_network('public')
    setup = vrrp_pair.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                      floating_network=public.id)
    (fip,) = list(conn.network.ips(port_id=setup.vip_port_id))
    return active, standby, setup, fip


def test_vrrp_pair_that_cannot_agree_gets_the_fip_on_the_standby(lab, conn):
    """No MASTER report from the standby: the FIP leaves the VIP port."""
    active, standby, setup, fip = _vrrp_pair(conn)
    fence(lab, conn, 'compute-1')

    action, result = run('fip_failover', {'mode': 'vrrp'},
                         context(conn, active, 'compute-1'))
    assert result.startswith('VRRP pair vpn cannot agree (vpn-b reported '
                             'nothing): moved %s to vpn-b'
                             % fip.floating_ip_address), result
    assert 'roles swapped' in result
    assert conn.network.get_ip(fip.id).port_id == port_of(conn, standby).id

    action, result = run('fip_failover', {'mode': 'vrrp'},
                         context(conn, active, 'compute-1'))
    assert 'already on vpn-b' in result and 'roles already swapped' in result
    assert action.request_ids == []


def test_vrrp_pair_that_agreed_keeps_the_fip_on_the_vip(lab, conn,
                                                        etcd_server):
    """The standby reported MASTER: only the roles swap."""
    active, standby, setup, fip = _vrrp_pair(conn)
    cluster = 'fip-' + uuid.uuid4().hex[:8]
    store = Store([etcd_server.endpoint], cluster=cluster)
    # What POST /v1/alarms/keepalived stores for the standby's notify hook.
    store.put(store.keys.root + 'vrrp/vpn/vpn-b',
              {'pair': 'vpn', 'instance': 'vpn-b', 'state': 'MASTER'})
    etcd_conf.register_opts(cfg.CONF)
    cfg.CONF.set_override('endpoints', [etcd_server.endpoint], 'etcd')
    cfg.CONF.set_override('cluster', cluster, 'etcd')
    try:
        fence(lab, conn, 'compute-1')
        action, result = run('fip_failover', {'mode': 'vrrp'},
                             context(conn, active, 'compute-1'))
    finally:
        cfg.CONF.clear_override('endpoints', 'etcd')
        cfg.CONF.clear_override('cluster', 'etcd')
    assert result.startswith('VRRP pair vpn agreed: vpn-b reported MASTER, '
                             'floating IP %s stays on the VIP port'
                             % fip.floating_ip_address), result
    assert 'roles swapped' in result
    assert conn.network.get_ip(fip.id).port_id == setup.vip_port_id
    assert conn.compute.get_server(standby.id).metadata['vmr_role'] == \
        'active'
