"""Driving a compute action exactly as the engine does, in the lab.

The action tests (``tests/functional/actions``), the recovery and keepalived
tests and the real tier share these: :data:`DELAYS` for their lab,
:func:`context` and :func:`run` for ``load_action(name, params).run(ctx)``,
and :func:`fence` for what the fencing stage does to a lab host.  Booting
and ports are in :mod:`tests.labfixtures` (``boot``, ``port_of``).
"""

import time

from tests.labfixtures import boot, port_of
from tests.support.lab import FAST_DELAYS
from vmr_coordinator import cloud
from vmr_coordinator.actions import base

#: the lab's delays, plus fast Octavia, Glance, Cinder and Mistral
DELAYS = dict(FAST_DELAYS, lb_provisioning=0.1, image_snapshot=0.05,
              volume_create=0.05, workflow_execution=0.1)
COMPUTE_MICROVERSION = '2.95'


def floating_ip(conn, server):
    """A new floating IP on the public network, on ``server``'s port."""
    public = conn.network.find_network('public')
    return conn.network.create_ip(floating_network_id=public.id,
                                  port_id=port_of(conn, server).id)


def fence(lab, conn, host):
    """What the fencing stage does: power off, then force the service down."""
    lab.hosts[host].set_power('off')
    service = next(s for s in conn.compute.services(binary='nova-compute')
                   if s.host == host)
    conn.compute.update_service_forced_down(service, forced=True)


def context(conn, server, host, timeout=30.0, event=None, poll=0.05):
    """The ActionContext the engine would build for ``server``."""
    server = conn.compute.get_server(server.id)
    facts = cloud.server_facts(server)
    return base.ActionContext(
        conn=conn, server=facts, host=host,
        event=event or {'type': 'host_down', 'host': host,
                        'reason': 'power loss (test)'},
        deadline=time.monotonic() + timeout, poll=poll)


def run(name, params, ctx):
    """Load and run an action like the engine; return (action, result)."""
    action = base.load_action(name, params)
    return action, action.run(ctx)


def events(lab, type_):
    """Lab events of one type."""
    return lab.events.since(0, type_)


def group_ids(conn, server):
    """The security group ids on ``server``'s ports, sorted."""
    return sorted({sg for port in conn.network.ports(device_id=server.id)
                   for sg in port.security_group_ids})


# -- an Octavia pool with an active/standby pair (lb_failover) -------------
def _wait_lb(conn, lb_id):
    conn.load_balancer.wait_for_load_balancer(lb_id, interval=0.05, wait=30)


def lb_pair(conn):
    """api-a (active, compute-1) and api-b (standby, compute-2) of pair
    ``api`` behind ``api-pool`` of a new load balancer, plus api-x, a standby
    of another pair in the same pool; ``(active, pool, {name: member})``."""
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


def member_states(conn, pool):
    """``{address: (admin_state_up, operating_status)}`` of ``pool``."""
    return {m.address: (m.is_admin_state_up, m.operating_status)
            for m in conn.load_balancer.members(pool)}
