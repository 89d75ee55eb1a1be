"""Fixtures of the action tests: a lab cloud and openstacksdk against it.

Every test gets a fresh lab (3 hosts, short delays) and an admin
Connection pinned to the microversion the coordinator uses, then drives an
action exactly as the engine does: ``load_action(name, params).run(ctx)``.
Nothing of OpenStack is mocked.
"""

import time

import openstack
import openstack.config
import pytest

from tests.functional.lab.conftest import FAST_DELAYS
from vmr_coordinator import cloud
from vmr_coordinator.actions import base
from vmr_lab.cloud import LabCloud

#: the lab's delays, plus fast Octavia, Glance, Cinder and Mistral
DELAYS = dict(FAST_DELAYS, lb_provisioning=0.1, image_snapshot=0.05,
              volume_create=0.05, workflow_execution=0.1)
COMPUTE_MICROVERSION = '2.95'


@pytest.fixture
def lab(tmp_path):
    """A started lab cloud with 3 hosts; stopped after the test."""
    cloud_ = LabCloud(hosts=3, servers=0, service_down_time=2.0,
                      report_interval=0.25, delays=DELAYS,
                      state_dir=str(tmp_path / 'lab-state'))
    cloud_.start()
    try:
        yield cloud_
    finally:
        cloud_.stop()


@pytest.fixture
def conn(lab, tmp_path):
    """Admin openstacksdk Connection, compute pinned like the coordinator."""
    path = lab.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
    config = openstack.config.OpenStackConfig(config_files=[path])
    region = config.get_one('vmr-lab',
                            compute_api_version=COMPUTE_MICROVERSION)
    connection = openstack.connection.Connection(config=region)
    yield connection
    connection.close()


def boot(conn, name, host, metadata=None, network='private'):
    """Boot ``name`` on ``host`` (admin ``zone:host``); wait ACTIVE."""
    net = conn.network.find_network(network)
    image = next(conn.image.images(status='active'))
    flavor = sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
    server = conn.compute.create_server(
        name=name, image_id=image.id, flavor_id=flavor.id,
        networks=[{'uuid': net.id}], metadata=metadata or {},
        availability_zone='nova:%s' % host)
    server = conn.compute.wait_for_server(server, interval=0.05, wait=30)
    assert server.compute_host == host
    return server


def port_of(conn, server):
    """The (first) port of ``server``."""
    return next(conn.network.ports(device_id=server.id))


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


def context(conn, server, host, timeout=30.0, event=None):
    """The ActionContext the engine would build for ``server``."""
    server = conn.compute.get_server(server.id)
    facts = cloud.server_facts(server)
    return base.ActionContext(
        conn=conn, server=facts, host=host,
        event=event or {'type': 'host_down', 'host': host,
                        'reason': 'power loss (test)'},
        deadline=time.monotonic() + timeout, poll=0.05)


def run(name, params, ctx):
    """Load and run an action like the engine; return (action, result)."""
    action = base.load_action(name, params)
    return action, action.run(ctx)


def events(lab, type_):
    """Lab events of one type."""
    return lab.events.since(0, type_)
