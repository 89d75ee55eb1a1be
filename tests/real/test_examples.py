"""Every shipped example contract's action against real Nova (issue 18).

The lab test (``tests/functional/actions/test_shipped_examples.py``)
validates and dry-runs each example and runs its action on the lab; here
the same action, with the example's own params, runs on the real tier --
the referee -- wherever the service it drives is real: Keystone,
Placement, Nova, Glance and Neutron always, Cinder and Mistral started for
the examples that need them (``real_services``); the Octavia example runs
in ``test_octavia.py``, whose tier has Octavia.

Site-specific values the real tier cannot have are replaced, and say so:
``target_host`` of the spares example names one of the tier's hosts.
"""

import json

import pytest

from tests.support.actions import context, run
from tests.support.examples import EXAMPLES, load
from tests.support.real_tier import (assert_logged, attach, delete_volume,
                                     fence, floating_ip, port_of)
from vmr_coordinator import contracts

# The first test also waits for the session's real tier to start (2-3
# minutes alone, more on a busy machine).
pytestmark = pytest.mark.timeout(1200)

SKIPPED = {
    'lb_failover.yaml': 'needs the real tier with Octavia: '
                        'tests/real/test_octavia.py runs it',
    'webhook.yaml': 'webhook calls no OpenStack service: its delivery to a '
                    'receiver is covered by the lab test',
}


def boot(cloud, conn, name, host, metadata=None, flavor='m1.tiny', **args):
    """Boot ``name`` on ``host`` in real Nova (no network); wait ACTIVE."""
    image = conn.image.find_image(cloud.openstack.image_name)
    zone = args.pop('zone', 'nova')
    server = conn.compute.create_server(
        name=name, image_id=image.id,
        flavor_id=conn.compute.find_flavor(flavor).id, networks='none',
        metadata=metadata or {}, availability_zone='%s:%s' % (zone, host),
        **args)
    server = conn.compute.wait_for_server(server, interval=0.2, wait=60)
    assert server.compute_host == host
    return server


def status(conn, server, wanted):
    return conn.compute.wait_for_server(conn.compute.get_server(server.id),
                                        status=wanted, interval=0.2, wait=60)


def moved_off(cloud, conn, server, host):
    now = status(conn, server, 'ACTIVE')
    assert now.compute_host != host
    assert cloud.wait_running(now.id, now.compute_host)
    assert now.id not in cloud.hosts[host].running


def stayed_on(cloud, conn, server, host):
    now = status(conn, server, 'ACTIVE')
    assert now.compute_host == host
    assert cloud.wait_running(now.id, host)
    return now


# -- one setup per example: (server, host, event, params, check) -------------
def live_migrate_web(cloud, conn, request, params):
    server = boot(cloud, conn, 'web-1', 'compute-1', {'ha': 'true'})
    return server, params, lambda: moved_off(cloud, conn, server,
                                             'compute-1')


def reboot_from_error(cloud, conn, request, params):
    server = boot(cloud, conn, 'replica-1', 'compute-1',
                  {'role': 'db-replica'})
    conn.compute.reset_server_state(server, 'error')
    status(conn, server, 'ERROR')
    return server, params, lambda: stayed_on(cloud, conn, server,
                                             'compute-1')


def evacuate_large(cloud, conn, request, params):
    flavor = conn.compute.create_flavor(name='m1.large', vcpus=4, ram=8192,
                                        disk=1)
    request.addfinalizer(lambda: conn.compute.delete_flavor(flavor))
    server = boot(cloud, conn, 'web-1', 'compute-1', flavor='m1.large',
                  tags=['evacuable'])
    fence(cloud, conn, 'compute-1')
    return server, params, lambda: moved_off(cloud, conn, server,
                                             'compute-1')


def evacuate_web(cloud, conn, request, params):
    server = boot(cloud, conn, 'web-1', 'compute-1', {'ha': 'true'})
    fence(cloud, conn, 'compute-1')
    return server, params, lambda: moved_off(cloud, conn, server,
                                             'compute-1')


def rebuild_frontend(cloud, conn, request, params):
    group = conn.compute.create_server_group(name='frontends',
                                             policy='soft-anti-affinity')
    request.addfinalizer(lambda: conn.compute.delete_server_group(group))
    server = boot(cloud, conn, 'fe-1', 'compute-1',
                  scheduler_hints={'group': group.id})
    conn.compute.reset_server_state(server, 'error')
    status(conn, server, 'ERROR')
    return server, params, lambda: stayed_on(cloud, conn, server,
                                             'compute-1')


def live_migrate_to_spare(cloud, conn, request, params):
    """The example's spare host is compute-spare-1; here it is compute-3."""
    aggregate = conn.compute.create_aggregate(name='az1',
                                              availability_zone='az1')
    for host in sorted(cloud.hosts):
        conn.compute.add_host_to_aggregate(aggregate, host)
    group = conn.compute.create_server_group(name='db-anti-affinity',
                                             policy='anti-affinity')
    server = boot(cloud, conn, 'db-1', 'compute-1', zone='az1',
                  scheduler_hints={'group': group.id})

    def cleanup():
        # Nova keeps hosts with servers in their zone: servers go first.
        for s in list(conn.compute.servers(all_projects=True)):
            conn.compute.delete_server(s)
            conn.compute.wait_for_delete(s, interval=0.2, wait=60)
        for host in sorted(cloud.hosts):
            conn.compute.remove_host_from_aggregate(aggregate, host)
        conn.compute.delete_aggregate(aggregate)
        conn.compute.delete_server_group(group)
    request.addfinalizer(cleanup)
    assert params['target_host'] == 'compute-spare-1'
    params = dict(params, target_host='compute-3')
    return server, params, lambda: stayed_on(cloud, conn, server,
                                             'compute-3')


def fip_pair(cloud, conn, request, params):
    """An active/standby pair on the private network, the active one's
    floating IP from public; the active one's host is fenced."""
    def member(name, host, role):
        return cloud.boot(name, host, {'vmr_pair': 'vpn', 'vmr_role': role,
                                       'app': 'vpn'})
    active = member('vpn-a', 'compute-1', 'active')
    standby = member('vpn-b', 'compute-2', 'standby')
    fip = floating_ip(conn, active)
    request.addfinalizer(lambda: conn.network.delete_ip(fip))
    target = port_of(conn, standby)
    fence(cloud, conn, 'compute-1')

    def check():
        moved = conn.network.get_ip(fip.id)
        assert (moved.port_id, moved.fixed_ip_address) == (
            target.id, target.fixed_ips[0]['ip_address'])
        roles = {s.name: conn.compute.get_server(s.id).metadata['vmr_role']
                 for s in (active, standby)}
        assert roles == {'vpn-a': 'standby', 'vpn-b': 'active'}
    return active, params, check


def hard_reboot_db(cloud, conn, request, params):
    server = boot(cloud, conn, 'db-3', 'compute-1', {'tier': 'db'})
    return server, params, lambda: stayed_on(cloud, conn, server,
                                             'compute-1')


def reboot_shutoff(cloud, conn, request, params):
    server = boot(cloud, conn, 'fw-1', 'compute-1', {'role': 'appliance'})
    conn.compute.stop_server(server)
    status(conn, server, 'SHUTOFF')
    assert cloud.wait_stopped(server.id, 'compute-1')
    return server, params, lambda: stayed_on(cloud, conn, server,
                                             'compute-1')


def rebuild_golden(cloud, conn, request, params):
    golden = conn.image.create_image(
        name=params['image'], data=b'golden kiosk image\n' * 64,
        disk_format='raw', container_format='bare')
    request.addfinalizer(lambda: conn.image.delete_image(golden))
    server = boot(cloud, conn, 'kiosk-1', 'compute-1', {'role': 'kiosk'})

    def check():
        now = stayed_on(cloud, conn, server, 'compute-1')
        assert now.image['id'] == golden.id
    return server, params, check


def resume_suspended(cloud, conn, request, params):
    server = boot(cloud, conn, 'batch-1', 'compute-1',
                  {'preemptible': 'true'})
    conn.compute.suspend_server(server)
    status(conn, server, 'SUSPENDED')
    return server, params, lambda: stayed_on(cloud, conn, server,
                                             'compute-1')


def suspend_batch(cloud, conn, request, params):
    server = boot(cloud, conn, 'batch-1', 'compute-1',
                  {'preemptible': 'true'})

    def check():
        assert status(conn, server, 'SUSPENDED').compute_host == 'compute-1'
        assert cloud.wait_stopped(server.id, 'compute-1')
    return server, params, check


def snapshot_with_volume(cloud, conn, request, params):
    """A batch worker with a data volume, a floating IP and a snapshot of
    its own; its host is fenced.  The example's ``project`` selector names
    the site's project: the action is run here on a server of the tier's."""
    server = cloud.boot('batch-1', 'compute-1', {'recovery': 'snapshot'},
                        wait=300)
    volume = attach(conn, server)
    request.addfinalizer(lambda: delete_volume(conn, volume.id))
    fip = floating_ip(conn, server)
    request.addfinalizer(lambda: conn.network.delete_ip(fip))
    snapshot = conn.compute.create_server_image(server, 'batch-1-snap',
                                                wait=True, timeout=300)
    request.addfinalizer(lambda: conn.image.delete_image(snapshot))
    fence(cloud, conn, 'compute-1')

    def check():
        (new,) = [s for s in conn.compute.servers(details=True)
                  if s.name == 'batch-1']
        assert new.id != server.id and new.image['id'] == snapshot.id
        moved_off(cloud, conn, new, 'compute-1')
        volume_now = conn.block_storage.get_volume(volume.id)
        assert [a['server_id'] for a in volume_now.attachments] == [new.id]
        assert conn.network.get_ip(fip.id).port_id == port_of(conn, new).id
    return server, params, check


SAP_WORKFLOW = """\
version: '2.0'
sap_recover:
  input: [event, server, notify]
  output:
    notified: <% $.notify %>
    server: <% $.server.id %>
  tasks:
    start_in_order:
      action: std.noop
"""


def sap_workflow(cloud, conn, request, params):
    """The example's ``sap_recover`` workflow, registered in real Mistral;
    its execution must end SUCCESS with the example's input."""
    conn.workflow.create_workflow(definition=SAP_WORKFLOW, scope='private')
    workflow = conn.workflow.find_workflow('sap_recover')

    def cleanup():
        for execution in conn.workflow.executions():
            if execution.workflow_id == workflow.id:
                conn.workflow.delete_execution(execution)
        conn.workflow.delete_workflow(workflow)
    request.addfinalizer(cleanup)
    server = cloud.boot('sap-1', 'compute-1', {'app': 'sap'}, network=None)

    def check():
        (listed,) = [e for e in conn.workflow.executions()
                     if e.workflow_id == workflow.id]
        # the list leaves the output out: the execution itself has it
        execution = conn.workflow.get_execution(listed.id)
        assert execution.status == 'SUCCESS'
        assert json.loads(execution.output) == {
            'notified': 'sap-oncall', 'server': server.id}
    return server, params, check


SETUPS = {
    'alarm-alertmanager.yaml': live_migrate_web,
    'alarm-aodh.yaml': reboot_from_error,
    'boot_from_snapshot.yaml': snapshot_with_volume,
    'evacuable.yaml': evacuate_large,
    'evacuate.yaml': evacuate_web,
    'fip_failover.yaml': fip_pair,
    'instance-down-rebuild.yaml': rebuild_frontend,
    'live_migrate.yaml': live_migrate_web,
    'maintenance-live-migrate-spares.yaml': live_migrate_to_spare,
    'manual-rebuild.yaml': hard_reboot_db,
    'mistral.yaml': sap_workflow,
    'reboot.yaml': reboot_shutoff,
    'rebuild.yaml': rebuild_golden,
    'resume.yaml': resume_suspended,
    'suspend.yaml': suspend_batch,
}


def test_every_example_is_run_or_skipped_with_a_reason():
    assert set(EXAMPLES) == set(SETUPS) | set(SKIPPED)
    assert not set(SETUPS) & set(SKIPPED)


#: the optional services an example's action drives
SERVICES = {'boot_from_snapshot.yaml': 'cinder', 'mistral.yaml': 'mistral'}
#: the API logs an example's request ids are looked for in; Mistral
#: answers no request ids (test_mistral.py): its check reads the execution
LOGS = {'boot_from_snapshot.yaml': ('nova-api', 'neutron-api', 'cinder-api'),
        'mistral.yaml': ()}


def _params():
    return [pytest.param(name, marks=pytest.mark.real_services(
        SERVICES[name])) if name in SERVICES else name for name in EXAMPLES]


# slow: each fenced host must come back for the next test (real
# nova-compute restarts); the set took minutes, not seconds, here.
@pytest.mark.slow
@pytest.mark.parametrize('name', _params())
def test_example_action_on_real_nova(name, cloud, conn, request):
    if name in SKIPPED:
        pytest.skip(SKIPPED[name])
    text, _doc = load(name)
    contract = contracts.parse_contract(text)
    server, params, check = SETUPS[name](cloud, conn, request,
                                         dict(contract.action.params))
    _, result = run(contract.action.type, params, context(
        conn, server, 'compute-1', timeout=600, poll=0.2))
    logs = LOGS.get(name, ('nova-api', 'neutron-api'))
    if logs:
        assert_logged(cloud, result, logs=logs)
    check()
    assert cloud.monitor.violations() == []
