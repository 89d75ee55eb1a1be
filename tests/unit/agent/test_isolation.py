"""The isolation guard: after isolation_timeout without etcd the action is
applied once, contact ends it, and watchdog-reboot stops the feeding. Time
is an injected clock; no process is run here (see
tests/functional/foundation/test_isolation.py)."""

import pytest

from vmr_agent.isolation import IsolationGuard


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Watchdog:
    """Stands in for the agent's watchdog: the guard only asks whether
    there is one and answers may_feed_watchdog."""


def test_isolated_only_after_the_timeout_and_until_contact():
    clock = Clock()
    guard = IsolationGuard(30.0, 'none', clock=clock)
    clock.now += 29.9
    assert guard.check() is False and guard.isolated is False
    clock.now += 0.2
    assert guard.check() is True
    clock.now += 100
    assert guard.check() is True
    guard.contact()
    assert guard.check() is False
    clock.now += 29
    assert guard.check() is False


def test_watchdog_reboot_stops_feeding_only_while_isolated():
    clock = Clock()
    guard = IsolationGuard(5.0, 'watchdog-reboot', watchdog=Watchdog(),
                           clock=clock)
    assert guard.may_feed_watchdog
    clock.now += 6
    guard.check()
    assert not guard.may_feed_watchdog
    guard.contact()
    assert guard.may_feed_watchdog


def test_other_actions_keep_feeding_the_watchdog():
    clock = Clock()
    guard = IsolationGuard(5.0, 'none', watchdog=Watchdog(), clock=clock)
    clock.now += 6
    assert guard.check() is True
    assert guard.may_feed_watchdog


@pytest.mark.parametrize('action, kwargs, words', [
    ('stop-instances', {}, 'needs an isolation_command'),
    ('stop-instances', {'command': '  '}, 'needs an isolation_command'),
    ('watchdog-reboot', {}, 'needs a watchdog'),
])
def test_an_action_that_could_do_nothing_is_refused(action, kwargs, words):
    with pytest.raises(ValueError, match=words):
        IsolationGuard(30.0, action, **kwargs)
