"""reboot in place, against the lab's Nova.

Real Nova 34 accepts a soft reboot only from ACTIVE (409 from ERROR,
FACTS.md) and lets a hard reboot interrupt a soft one.
"""

import pytest

from tests.labfixtures import boot
from tests.support.actions import context, events, run
from vmr_coordinator.actions import base


def _reboots(lab, server):
    return [e['kind'] for e in events(lab, 'reboot')
            if e['server'] == server.id]


def test_soft_then_hard_stops_at_soft_when_the_server_comes_back(lab, conn):
    server = boot(conn, 'app-1', 'compute-1')
    _, result = run('reboot', {}, context(conn, server, 'compute-1'))
    assert result.startswith('soft reboot: ACTIVE')
    assert _reboots(lab, server) == ['SOFT']


def test_soft_then_hard_goes_hard_after_soft_timeout(lab, conn):
    server = boot(conn, 'app-1', 'compute-1')
    # A guest that ignores the ACPI signal: the soft reboot never ends.
    lab.delays['soft_reboot'] = 3600
    _, result = run('reboot', {'type': 'soft_then_hard', 'soft_timeout': 1},
                    context(conn, server, 'compute-1'))
    assert result.startswith('hard reboot (no ACTIVE within the 1s '
                             'soft_timeout): ACTIVE')
    assert _reboots(lab, server) == ['SOFT', 'HARD']


def test_soft_then_hard_respects_the_action_deadline(lab, conn):
    server = boot(conn, 'app-1', 'compute-1')
    lab.delays['soft_reboot'] = 3600
    with pytest.raises(base.RetryableError) as err:
        run('reboot', {'soft_timeout': 120},
            context(conn, server, 'compute-1', timeout=0.5))
    assert 'soft reboot' in str(err.value)
    assert _reboots(lab, server) == ['SOFT']


def test_from_error_soft_then_hard_goes_hard_at_once(lab, conn):
    server = boot(conn, 'app-1', 'compute-1')
    conn.compute.reset_server_state(server, 'error')
    _, result = run('reboot', {}, context(conn, server, 'compute-1'))
    assert result.startswith('hard reboot (a soft one is refused from '
                             'ERROR): ACTIVE')
    assert _reboots(lab, server) == ['HARD']


def test_soft_from_error_is_a_clear_final_error(lab, conn):
    server = boot(conn, 'app-1', 'compute-1')
    conn.compute.reset_server_state(server, 'error')
    with pytest.raises(base.ActionError) as err:
        run('reboot', {'type': 'soft'}, context(conn, server, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert 'accepts a soft reboot only from ACTIVE' in str(err.value)
    assert _reboots(lab, server) == []


def test_hard_sends_hard_only(lab, conn):
    server = boot(conn, 'app-1', 'compute-1')
    _, result = run('reboot', {'type': 'hard'},
                    context(conn, server, 'compute-1'))
    assert result.startswith('hard reboot: ACTIVE')
    assert _reboots(lab, server) == ['HARD']
