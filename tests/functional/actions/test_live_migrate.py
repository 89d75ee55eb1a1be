"""live_migrate drains a live host; no fence, nothing twice."""

import pytest

from tests.labfixtures import boot
from tests.support.actions import context, events, run
from vmr_coordinator.actions import base


def test_drains_host_and_second_run_does_nothing(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    db = boot(conn, 'db-1', 'compute-1')

    action, result = run('live_migrate', {}, context(conn, web, 'compute-1'))
    assert action.needs_fence is False
    assert result.startswith('live-migrated from compute-1 to ')
    assert '[request ids: req-' in result
    _, result = run('live_migrate', {'block_migration': True,
                                     'target_host': 'compute-3'},
                    context(conn, db, 'compute-1'))
    assert 'to compute-3' in result

    web = conn.compute.get_server(web.id)
    db = conn.compute.get_server(db.id)
    assert web.compute_host in ('compute-2', 'compute-3')
    assert db.compute_host == 'compute-3'
    assert (web.status, db.status) == ('ACTIVE', 'ACTIVE')
    assert len(events(lab, 'live_migrate')) == 2

    # A new leader resuming the same steps: goal holds, nothing is sent.
    for server in (web, db):
        action, result = run('live_migrate', {},
                             context(conn, server, 'compute-1'))
        assert result.startswith('already on ')
        assert action.request_ids == []
    assert len(events(lab, 'live_migrate')) == 2
    assert lab.monitor.violations() == []


def test_nova_503_is_retryable_then_succeeds(lab, conn):
    server = boot(conn, 'web-1', 'compute-1')
    lab.nova.inject_fault(503, count=2, method='POST',
                          path_contains='/action')
    for _ in range(2):
        with pytest.raises(base.RetryableError) as err:
            run('live_migrate', {}, context(conn, server, 'compute-1'))
        assert 'HTTP 503' in str(err.value)
        # The failed call's request id is kept as evidence.
        assert 'request ids: req-' in str(err.value)
    assert events(lab, 'live_migrate') == []
    _, result = run('live_migrate', {}, context(conn, server, 'compute-1'))
    assert result.startswith('live-migrated from compute-1')
    assert len(events(lab, 'live_migrate')) == 1
    assert lab.monitor.violations() == []


def test_refuses_a_stopped_server(lab, conn):
    server = boot(conn, 'web-1', 'compute-1')
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status='SHUTOFF', interval=0.05)
    with pytest.raises(base.ActionError) as err:
        run('live_migrate', {}, context(conn, server, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert 'is SHUTOFF' in str(err.value)


def test_resumes_a_migration_under_way(lab, conn):
    """A new leader finds the migration the old one started: it waits."""
    server = boot(conn, 'web-1', 'compute-1')
    conn.compute.live_migrate_server(server, block_migration='auto')
    action, result = run('live_migrate', {},
                         context(conn, server, 'compute-1'))
    assert result.startswith('live-migrated from compute-1')
    assert action.request_ids == []
    assert len(events(lab, 'live_migrate')) == 1
    assert lab.monitor.violations() == []
