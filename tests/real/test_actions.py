"""Every compute action against real Nova: the referee for the lab.

Each test drives an action exactly as the engine does
(``load_action(name, params).run(ctx)``) on servers booted in real Nova,
and checks the outcome three ways: what Nova says, what the hypervisors
really run (the fake driver's guest journal, read by the invariant
monitor), and that the request ids the action recorded are in nova-api's
own log.
"""

import pytest

from tests.support.actions import context, run
from tests.support.real_tier import REQUEST_IDS, fence
from vmr_coordinator.actions import base
from vmr_coordinator.actions import evacuate


def assert_logged_by_nova(cloud, result):
    """Every request id in ``result`` is in nova-api's log."""
    ids = REQUEST_IDS.findall(result)
    assert ids, result
    log = cloud.openstack.log_text('nova-api')
    missing = [i for i in ids if i not in log]
    assert not missing, 'request ids not in nova-api.log: %s' % missing


def test_startup(cloud, conn):
    up = sorted(s.host for s in conn.compute.services(binary='nova-compute')
                if s.state == 'up' and s.status == 'enabled')
    assert up == ['compute-1', 'compute-2', 'compute-3']
    providers = sorted(p.name for p in conn.placement.resource_providers())
    assert providers == up
    assert conn.image.find_image(cloud.openstack.image_name).status == \
        'active'
    print('real tier start-up (s): %s' % cloud.openstack.timings)


def test_evacuate_after_fence_runs_each_server_once(cloud, conn):
    servers = [cloud.boot('web-%d' % i, 'compute-2') for i in (1, 2)]
    # The watcher reads the fake hypervisors every 0.2 s: wait for it.
    assert all(cloud.wait_running(s.id, 'compute-2') for s in servers)
    fence(cloud, conn, 'compute-2')
    for server in servers:
        action, result = run('evacuate', {'start_if_shutoff': True},
                             context(conn, server, 'compute-2', timeout=90,
                                     poll=0.2))
        assert_logged_by_nova(cloud, result)
    for server in servers:
        server = conn.compute.get_server(server.id)
        assert server.status == 'ACTIVE'
        assert server.compute_host in ('compute-1', 'compute-3')
        assert cloud.wait_running(server.id, server.compute_host)
        # A second run (a new leader resuming) sends nothing.
        action, result = run('evacuate', {}, context(conn, server,
                                                     'compute-2'))
        assert action.request_ids == []
    assert cloud.monitor.violations() == []


def _lose_an_evacuation(cloud, conn, server):
    """Evacuate ``server`` the way a restart loses it: nova-api accepts it
    (task ``rebuilding``, an ``accepted`` migration) and casts to a
    stopped nova-conductor; RabbitMQ restarts and its queue, with the cast,
    is gone.  The conductor then comes back to nothing."""
    from openstack.compute.v2 import server as server_mod
    conductor = cloud.openstack.procs['nova-conductor']
    conductor.stop()
    try:
        server_mod.Server.existing(id=server.id).evacuate(
            conn.compute)
        stuck = conn.compute.get_server(server.id)
        assert stuck.task_state == 'rebuilding', stuck.task_state
        cloud.openstack.restart('rabbitmq')
    finally:
        conductor.start()
        cloud.openstack._wait_consuming('conductor', conductor)
        # the computes report through the conductor: until they do again
        # the scheduler finds no host
        for host in ('compute-1', 'compute-3'):
            cloud.openstack.wait_compute_up(host)


@pytest.mark.slow
def test_evacuate_finds_a_lost_evacuation_and_evacuates_again(cloud, conn):
    """An evacuation Nova accepted and no conductor ever took: after
    ``lost_after`` seconds with the conductors up, the action resets the
    server's state and evacuates it again, once, and says so."""
    server = cloud.boot('lost-1', 'compute-2')
    assert cloud.wait_running(server.id, 'compute-2')
    fence(cloud, conn, 'compute-2')
    _lose_an_evacuation(cloud, conn, server)
    _, result = run('evacuate', {'lost_after': 30},
                    context(conn, server, 'compute-2', timeout=180,
                            poll=0.5))
    assert 'lost (accepted ' in result and 'state reset to active, ' \
        'evacuated again' in result, result
    assert_logged_by_nova(cloud, result)
    server = conn.compute.get_server(server.id)
    assert server.status == 'ACTIVE'
    assert server.compute_host in ('compute-1', 'compute-3')
    assert cloud.wait_running(server.id, server.compute_host)
    evacuations = [m for m in conn.compute.migrations(server_id=server.id)
                   if m.migration_type == 'evacuation']
    assert sorted(m.status for m in evacuations) == ['accepted', 'done'], \
        [(m.id, m.status, m.dest_compute) for m in evacuations]
    assert cloud.monitor.violations() == []


def test_live_migrate_moves_the_guest(cloud, conn):
    server = cloud.boot('db-1', 'compute-1')
    _, result = run('live_migrate', {}, context(conn, server, 'compute-1',
                                                timeout=90, poll=0.2))
    assert result.startswith('live-migrated from compute-1 to ')
    assert_logged_by_nova(cloud, result)
    server = conn.compute.get_server(server.id)
    assert server.status == 'ACTIVE'
    assert server.compute_host != 'compute-1'
    assert cloud.wait_running(server.id, server.compute_host)
    assert server.id not in cloud.hosts['compute-1'].running
    assert cloud.monitor.violations() == []


def test_rebuild_with_the_image_id(cloud, conn):
    server = cloud.boot('app-1', 'compute-3')
    image = conn.image.find_image(cloud.openstack.image_name)
    _, result = run('rebuild', {'image': image.id},
                    context(conn, server, 'compute-3', timeout=60, poll=0.2))
    assert_logged_by_nova(cloud, result)
    server = conn.compute.get_server(server.id)
    assert (server.status, server.compute_host) == ('ACTIVE', 'compute-3')
    assert cloud.wait_running(server.id, 'compute-3')


def test_hard_reboot_from_error(cloud, conn):
    server = cloud.boot('app-2', 'compute-1')
    conn.compute.reset_server_state(server, 'error')
    server = conn.compute.wait_for_server(server, status='ERROR',
                                          interval=0.2, wait=30)
    _, result = run('reboot', {'type': 'hard'},
                    context(conn, server, 'compute-1', timeout=60, poll=0.2))
    assert_logged_by_nova(cloud, result)
    server = conn.compute.wait_for_server(server, status='ACTIVE',
                                          interval=0.2, wait=60)
    assert cloud.wait_running(server.id, 'compute-1')


def test_suspend_then_resume(cloud, conn):
    server = cloud.boot('batch-1', 'compute-3')
    _, result = run('suspend', {}, context(conn, server, 'compute-3',
                                           timeout=60, poll=0.2))
    assert_logged_by_nova(cloud, result)
    server = conn.compute.get_server(server.id)
    assert server.status == 'SUSPENDED'
    assert cloud.wait_stopped(server.id, 'compute-3')
    _, result = run('resume', {}, context(conn, server, 'compute-3',
                                          timeout=60, poll=0.2))
    assert_logged_by_nova(cloud, result)
    server = conn.compute.get_server(server.id)
    assert server.status == 'ACTIVE'
    assert cloud.wait_running(server.id, 'compute-3')


@pytest.mark.slow
def test_evacuate_refused_while_the_source_is_up(cloud, conn):
    """Real Nova's rule the engine is built on: fence and force down first."""
    import openstack.exceptions
    server = cloud.boot('web-9', 'compute-2')
    with pytest.raises(openstack.exceptions.HttpException) as err:
        conn.compute.evacuate_server(server)
    assert err.value.status_code == 400
    assert cloud.wait_running(server.id, 'compute-2')
    # The evacuate action takes that 400 for "not now" (a force-down that
    # never reached Nova), not a failed step; fenced, it heals the server.
    with pytest.raises(base.NotNow) as caught:
        run('evacuate', {}, context(conn, server, 'compute-2'))
    assert 'Compute service of compute-2 is still in use' in \
        str(caught.value)
    assert caught.value.retry_in == evacuate.COMPUTE_IN_USE_RETRY
    fence(cloud, conn, 'compute-2')
    _, result = run('evacuate', {}, context(conn, server, 'compute-2',
                                            timeout=90, poll=0.2))
    assert result.startswith('evacuated to compute-'), result
    assert cloud.monitor.violations() == []


def test_boot_from_snapshot_replaces_the_server_from_its_glance_snapshot(
        cloud, conn):
    """The compute and image parts (no Cinder or Neutron in the tier yet):
    a real snapshot in Glance's file store, a real boot from it."""
    server = cloud.boot('legacy-1', 'compute-2', metadata={'app': 'legacy'})
    snapshot = conn.compute.create_server_image(server, 'legacy-1-snap',
                                                wait=True, timeout=120)
    snapshot = conn.image.get_image(snapshot)
    assert snapshot.status == 'active'
    assert snapshot.instance_uuid == server.id
    fence(cloud, conn, 'compute-2')
    params = {'reattach_volumes': False, 'move_floating_ips': False}
    # The engine keeps the server's facts from before the recovery: a new
    # leader resuming has them even once the old record is deleted.
    first, resumed = (context(conn, server, 'compute-2', timeout=180,
                              poll=0.2) for _ in range(2))
    _, result = run('boot_from_snapshot', params, first)
    assert_logged_by_nova(cloud, result)
    assert 'from %s (%s)' % (snapshot.name, snapshot.id) in result
    (new,) = [s for s in conn.compute.servers(details=True)
              if s.name == 'legacy-1']
    assert new.id != server.id
    assert new.metadata['vmr_replaces'] == server.id
    assert new.metadata['app'] == 'legacy'
    assert new.image.id == snapshot.id
    assert new.status == 'ACTIVE' and new.compute_host != 'compute-2'
    assert cloud.wait_running(new.id, new.compute_host)
    assert 'deleted %s' % server.id in result
    # A new leader resuming finds the replacement and boots nothing.
    action, again = run('boot_from_snapshot', params, resumed)
    assert 'found replacement %s' % new.id in again
    assert action.request_ids == []
    assert cloud.monitor.violations() == []
