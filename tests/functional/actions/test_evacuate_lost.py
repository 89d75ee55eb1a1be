"""An evacuation still ``accepted`` with no destination long after it was
asked for is *lost* only when no Nova service ever started on it.

Real Nova's conductor records a ``rebuild_server`` event in the request's
instance action when it takes the cast, and the destination nova-compute
fills the migration's destination in only when it takes the rebuild: an
evacuation queued at a slow or hung compute looks lost by its migration
alone.  Evacuating it again would rebuild the server twice.  (A truly lost
one -- no event at all -- is tested on real Nova: tests/real/test_actions.)
"""

import datetime

from openstack.compute.v2 import server as server_mod

from tests.labfixtures import boot
from tests.support.actions import context, events, fence, run
from vmr_coordinator.actions import evacuate


def _age_records(lab, server_id, seconds):
    """Make the pending evacuation of ``server_id`` look ``seconds`` old."""
    delta = datetime.timedelta(seconds=seconds)
    with lab.nova.state_lock:
        for migration in lab.nova.migrations:
            if migration['instance_uuid'] == server_id:
                migration['created_at'] -= delta
        for action in lab.nova.actions.get(server_id, []):
            action['start_time'] -= delta


def test_an_evacuation_a_service_took_is_waited_for_not_done_again(lab,
                                                                   conn):
    server = boot(conn, 'slow-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    # An earlier attempt (or leader) asked for it; the conductor took it
    # (the lab records its event at once) and the compute is slow.
    lab.delays['evacuate'] = 8.0
    server_mod.Server.existing(id=server.id).evacuate(conn.compute)
    (pending,) = [m for m in conn.compute.migrations(server_id=server.id)]
    assert (pending.status, pending.dest_compute) == ('accepted', None)
    _age_records(lab, server.id, 40)

    _, result = run('evacuate', {'lost_after': 30},
                    context(conn, server, 'compute-1', timeout=60, poll=0.2))

    assert 'lost' not in result, result
    assert len(events(lab, 'evacuate')) == 1
    done = conn.compute.get_server(server.id)
    assert done.status == 'ACTIVE' and done.compute_host != 'compute-1'
    (migration,) = [m for m in conn.compute.migrations(server_id=server.id)]
    assert (migration.status, migration.dest_compute) == (
        'done', done.compute_host)
    assert lab.monitor.violations() == []


def test_an_evacuation_the_conductor_dropped_is_evacuated_again(lab, conn):
    """nova-conductor took the cast and failed on it (Keystone restarting
    while it asked Neutron for the ports, seen on the real tier): its
    ``rebuild_server`` event ended in Error, no compute was sent the
    rebuild, and the server stays ``rebuilding`` on the dead host for
    ever.  That is lost too: reset, evacuated again, once."""
    server = boot(conn, 'dropped-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    lab.delays['evacuate'] = 3600.0        # nobody carries it out
    server_mod.Server.existing(id=server.id).evacuate(conn.compute)
    lab.delays['evacuate'] = 0.05
    with lab.nova.state_lock:              # what the conductor left
        (action,) = [a for a in lab.nova.actions[server.id]
                     if a['action'] == 'evacuate']
        action['events'] = [{'event': 'rebuild_server', 'result': 'Error',
                             'start_time': action['start_time'],
                             'finish_time': action['start_time'],
                             'host': 'controller', 'hostId': '',
                             'details': None}]
    _age_records(lab, server.id, 40)

    _, result = run('evacuate', {'lost_after': 30},
                    context(conn, server, 'compute-1', timeout=60, poll=0.2))

    assert 'lost (accepted 4' in result, result
    assert 'dropped by nova-conductor (rebuild_server: Error)' in result
    assert len(events(lab, 'evacuate')) == 2      # the dropped one, again
    done = conn.compute.get_server(server.id)
    assert done.status == 'ACTIVE' and done.compute_host != 'compute-1'
    assert lab.monitor.violations() == []


def test_a_conductor_error_after_a_compute_started_is_not_lost(lab, conn):
    """A compute's event means the rebuild reached a compute: whatever
    the conductor said, evacuating again could rebuild it twice."""
    server = boot(conn, 'started-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    lab.delays['evacuate'] = 6.0
    server_mod.Server.existing(id=server.id).evacuate(conn.compute)
    with lab.nova.state_lock:
        (action,) = [a for a in lab.nova.actions[server.id]
                     if a['action'] == 'evacuate']
        action['events'].insert(0, {
            'event': 'rebuild_server', 'result': 'Error',
            'start_time': action['start_time'],
            'finish_time': action['start_time'], 'host': 'controller',
            'hostId': '', 'details': None})
    _age_records(lab, server.id, 40)

    _, result = run('evacuate', {'lost_after': 30},
                    context(conn, server, 'compute-1', timeout=60, poll=0.2))

    assert 'lost' not in result, result
    assert len(events(lab, 'evacuate')) == 1
    assert lab.monitor.violations() == []


def test_an_evacuation_asked_before_that_nova_gives_up_on_is_said(lab,
                                                                   conn):
    """An earlier attempt sent the evacuation; this one finds it under way
    and Nova then gives up on it (no valid host: the server in ERROR on
    the dead host, no task).  The attempt says so at once (NotNow: the
    same attempt again later, no retry spent) instead of waiting its
    whole timeout for a server that will not move."""
    import threading

    import pytest

    from vmr_coordinator.actions import base
    server = boot(conn, 'gave-up-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    lab.delays['evacuate'] = 3600.0
    server_mod.Server.existing(id=server.id).evacuate(conn.compute)

    def nova_gives_up():
        with lab.nova.state_lock:
            record = lab.nova.servers[server.id]
            record.update(task_state=None, vm_state='error', _op=None)
    timer = threading.Timer(1.0, nova_gives_up)
    timer.start()
    try:
        with pytest.raises(base.NotNow) as caught:
            run('evacuate', {}, context(conn, server, 'compute-1',
                                        timeout=30, poll=0.2))
    finally:
        timer.cancel()
    assert 'evacuation failed in Nova' in str(caught.value)
    # asked again after the other computes have had time to report (the
    # request ids added to the text keep it)
    assert caught.value.retry_in == evacuate.EVACUATION_FAILED_RETRY
    assert len(events(lab, 'evacuate')) == 1


def test_an_evacuation_nova_gave_up_on_before_is_named(lab, conn):
    """An evacuation whose answer never came (nova-api restarted under the
    request) that Nova then gave up on (the server in ERROR on the dead
    host, the migration ``error``): the next attempt evacuates again and
    its result names the failed one."""
    server = boot(conn, 'earlier-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    lab.delays['evacuate'] = 3600.0
    server_mod.Server.existing(id=server.id).evacuate(conn.compute)
    lab.delays['evacuate'] = 0.05
    with lab.nova.state_lock:              # what the conductor left
        record = lab.nova.servers[server.id]
        record.update(task_state=None, vm_state='error', _op=None)
        (migration,) = [m for m in lab.nova.migrations
                        if m['instance_uuid'] == server.id]
        migration['status'] = 'error'

    _, result = run('evacuate', {},
                    context(conn, server, 'compute-1', timeout=30, poll=0.2))

    assert 'evacuation failed in Nova: migration %s error' % migration['id'] \
        in result, result
    assert len(events(lab, 'evacuate')) == 2
    done = conn.compute.get_server(server.id)
    assert done.compute_host != 'compute-1'
    assert lab.monitor.violations() == []
