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
