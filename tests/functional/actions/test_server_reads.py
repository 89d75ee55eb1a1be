"""The waits' shared server reader (:mod:`vmr_coordinator.actions.reads`)
on the lab's Nova: one list call answers every step waiting at once, what
it returns is read after the step asked, and a deleted server is still the
404 the step expects."""

import concurrent.futures
import threading

import pytest

from tests.labfixtures import boot
from tests.support.actions import context, fence, run
from vmr_coordinator.actions import base
from vmr_coordinator.actions import reads as reads_mod


def test_a_first_read_is_direct_then_lists_carry_the_changes(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    reads = reads_mod.ServerReads()
    first = reads.get(conn.compute, web.id)
    assert first.status == 'ACTIVE' and reads.lists == 0
    conn.compute.stop_server(web)
    conn.compute.wait_for_server(web, status='SHUTOFF', interval=0.05,
                                 wait=30)
    # asked after the stop: a list call that started after it answers
    assert reads.get(conn.compute, web.id).status == 'SHUTOFF'
    assert reads.lists == 1


def test_waits_at_once_share_the_list_calls(lab, conn):
    servers = [boot(conn, 'web-%d' % i, 'compute-1') for i in range(6)]
    reads = reads_mod.ServerReads()
    for server in servers:
        reads.get(conn.compute, server.id)      # each one's first read
    rounds = 5
    barrier = threading.Barrier(len(servers))

    def poll(server):
        seen = []
        for _ in range(rounds):
            barrier.wait()
            seen.append(reads.get(conn.compute, server.id).id)
        return seen

    with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
        results = list(pool.map(poll, servers))
    assert results == [[s.id] * rounds for s in servers]
    # 30 reads; each round's six share one or two list calls
    assert rounds <= reads.lists <= 2 * rounds, reads.lists


def test_a_deleted_server_is_still_a_404(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    other = boot(conn, 'web-2', 'compute-1')
    reads = reads_mod.ServerReads()
    reads.get(conn.compute, web.id)
    reads.get(conn.compute, other.id)
    conn.compute.delete_server(web)
    conn.compute.wait_for_delete(web, interval=0.05, wait=30)
    with pytest.raises(base.ActionError, match='404'):
        reads.get(conn.compute, web.id)
    assert reads.get(conn.compute, other.id).status == 'ACTIVE'


def test_a_server_not_asked_for_lately_is_forgotten(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    now = [100.0]
    reads = reads_mod.ServerReads(forget_after=30, clock=lambda: now[0])
    reads.get(conn.compute, web.id)
    reads.get(conn.compute, web.id)
    assert reads.lists == 1
    now[0] += 31
    other = boot(conn, 'web-2', 'compute-1')
    reads.get(conn.compute, other.id)
    reads.get(conn.compute, other.id)
    # the list no longer waited on web-1: only web-2 holds it back
    assert set(reads._waited) == {other.id}


def test_evacuations_waiting_together_share_one_reader(lab, conn):
    servers = [boot(conn, 'web-%d' % i, 'compute-1') for i in range(4)]
    fence(lab, conn, 'compute-1')
    reads = reads_mod.ServerReads()

    def evacuate(server):
        ctx = context(conn, server, 'compute-1')
        ctx.reads = reads
        return run('evacuate', {}, ctx)[1]

    with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
        results = list(pool.map(evacuate, servers))
    assert all(r.startswith('evacuated to ') for r in results), results
    for server in servers:
        moved = conn.compute.get_server(server.id)
        assert moved.compute_host != 'compute-1' and \
            moved.status == 'ACTIVE'
        assert lab.server_running(server.id)
    assert reads.lists > 0
    assert lab.monitor.violations() == []


def test_a_failed_list_costs_its_waiters_nothing(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    reads = reads_mod.ServerReads()
    reads.get(conn.compute, web.id)
    # nova-api's 500 (e.g. Neutron refusing the ports of a long list):
    # the waiter reads its server alone and the next wait lists again
    lab.nova.inject_fault(500, count=1, method='GET',
                          path_contains='/servers/detail')
    assert reads.get(conn.compute, web.id).status == 'ACTIVE'
    assert reads.listing and reads.lists == 1
    assert reads.get(conn.compute, web.id).status == 'ACTIVE'
    assert reads.lists == 2 and reads._failures == 0


def test_lists_failing_in_a_row_turn_listing_off(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    reads = reads_mod.ServerReads()
    reads.get(conn.compute, web.id)
    lab.nova.inject_fault(500, count=reads_mod.MAX_LIST_FAILURES,
                          method='GET', path_contains='/servers/detail')
    for _ in range(reads_mod.MAX_LIST_FAILURES):
        assert reads.get(conn.compute, web.id).status == 'ACTIVE'
    assert not reads.listing
    # from now on one read per wait, no list
    assert reads.get(conn.compute, web.id).status == 'ACTIVE'
    assert reads.lists == reads_mod.MAX_LIST_FAILURES


def test_a_failed_list_still_raises_the_servers_own_error(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    reads = reads_mod.ServerReads()
    reads.get(conn.compute, web.id)
    # the list fails, and so does the server's own read: that error is
    # the step's to handle (a wait polls through a 500)
    lab.nova.inject_fault(500, count=2, method='GET', path_contains='/servers')
    with pytest.raises(base.ServerError, match='500'):
        reads.get(conn.compute, web.id)
    assert reads.listing
