"""Fixtures of the action tests: a lab cloud and openstacksdk against it.

Every test gets a fresh lab (3 hosts, short delays) and an admin
Connection pinned to the microversion the coordinator uses, then drives an
action exactly as the engine does: ``load_action(name, params).run(ctx)``.
Nothing of OpenStack is mocked.
"""

import time

from tests.functional.lab.conftest import FAST_DELAYS
from tests.labfixtures import boot, conn_fixture, lab_fixture, port_of
from vmr_coordinator import cloud
from vmr_coordinator.actions import base

__all__ = ['DELAYS', 'boot', 'port_of', 'floating_ip', 'fence', 'context',
           'run', 'events']

#: the lab's delays, plus fast Octavia, Glance, Cinder and Mistral
DELAYS = dict(FAST_DELAYS, lb_provisioning=0.1, image_snapshot=0.05,
              volume_create=0.05, workflow_execution=0.1)
COMPUTE_MICROVERSION = '2.95'

lab = lab_fixture(hosts=3, delays=DELAYS)
conn = conn_fixture(
    compute_api_version=COMPUTE_MICROVERSION,
    doc='Admin openstacksdk Connection, compute pinned like the coordinator.')


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
