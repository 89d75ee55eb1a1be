"""evacuate's microversion: with ``start_if_shutoff`` the evacuate goes at
2.94 so Nova brings an ACTIVE server back ACTIVE by itself; without it the
pinned 2.95 is kept and the server stays SHUTOFF, as Nova leaves it.

The lab's Nova models both (like real Nova 34: below 2.95 an evacuated
server keeps its state, from 2.95 it ends SHUTOFF)."""

import pytest

from tests.labfixtures import boot
from tests.support.actions import context, events, fence, run
from vmr_coordinator.actions import base
from vmr_coordinator.actions import evacuate


def test_start_if_shutoff_evacuates_at_2_94_and_sends_no_start(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    action, result = run('evacuate', {'start_if_shutoff': True},
                         context(conn, web, 'compute-1'))
    assert result.startswith('evacuated to ') and ', ACTIVE [' in result
    [sent] = events(lab, 'evacuate')
    assert sent['microversion'] == '2.94'
    # one request changed the cloud: the evacuate, no start
    assert len(action.request_ids) == 1
    server = conn.compute.get_server(web.id)
    assert (server.status, server.compute_host != 'compute-1') == \
        ('ACTIVE', True)
    assert lab.server_running(web.id)
    assert lab.monitor.violations() == []


def test_a_stopped_server_comes_back_stopped_and_is_started(lab, conn):
    db = boot(conn, 'db-1', 'compute-1')
    conn.compute.stop_server(db)
    conn.compute.wait_for_server(db, status='SHUTOFF', interval=0.05,
                                 wait=30)
    fence(lab, conn, 'compute-1')
    action, result = run('evacuate', {}, context(conn, db, 'compute-1'))
    [sent] = events(lab, 'evacuate')
    assert sent['microversion'] == '2.94'
    # at 2.94 a SHUTOFF server stays SHUTOFF: the start still follows
    assert len(action.request_ids) == 2
    assert ', ACTIVE [' in result
    assert conn.compute.get_server(db.id).status == 'ACTIVE'


def test_without_start_if_shutoff_the_pinned_2_95_leaves_it_shutoff(
        lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    action, result = run('evacuate', {'start_if_shutoff': False},
                         context(conn, web, 'compute-1'))
    [sent] = events(lab, 'evacuate')
    assert sent['microversion'] == '2.95'
    assert len(action.request_ids) == 1
    assert ', SHUTOFF [' in result
    server = conn.compute.get_server(web.id)
    assert (server.status, server.compute_host != 'compute-1') == \
        ('SHUTOFF', True)
    assert not lab.server_running(web.id)


def test_nova_believing_the_source_up_is_not_now_not_a_failure(lab, conn):
    """The host is off but the fence's force-down never reached Nova (its
    API away longer than the post step's time): Nova refuses the evacuation
    (400, "still in use") until it sees the compute down.  That is "not
    now" -- the same attempt again -- not a failed step."""
    web = boot(conn, 'web-1', 'compute-1')
    lab.hosts['compute-1'].set_power('off')      # fenced, not forced down
    with pytest.raises(base.NotNow) as caught:
        run('evacuate', {}, context(conn, web, 'compute-1'))
    assert 'Nova still believes nova-compute of compute-1 up' in \
        str(caught.value)
    assert 'is still in use' in str(caught.value)
    assert caught.value.retry_in == evacuate.COMPUTE_IN_USE_RETRY
    assert conn.compute.get_server(web.id).compute_host == 'compute-1'
    # once Nova sees it down, the same attempt heals the server
    fence(lab, conn, 'compute-1')
    _, result = run('evacuate', {}, context(conn, web, 'compute-1'))
    assert result.startswith('evacuated to ') and ', ACTIVE [' in result
