"""The fence ladder with fake fencers: order, deadlines, post steps, reasons.

Fake fencers replace the stevedore lookup (``base.load_fencer``): the
ladder's logic is what is under test here; the real drivers are exercised
against real BMCs in tests/functional/fencing.
"""

import pytest

from tests.support.ladder import SECRET, FakeFencer, profile
from tests.support.ladder import fake_loader  # noqa: F401 (autouse fixture)
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder

TARGET = base.FenceTarget(host='h1', now=1000.0)


def test_first_verified_rung_wins_and_stops_the_ladder():
    prof = profile([{'driver': 'a', 'tag': 1},
                    {'driver': 'b', 'verified': True, 'tag': 2},
                    {'driver': 'c', 'verified': True, 'tag': 3}])
    result = ladder.run_ladder(TARGET, prof, None)
    assert result.verified and result.method == 'b'
    assert [c[1] for c in FakeFencer.calls] == [1, 2]
    assert [a.method for a in result.attempts] == ['a', 'b']
    assert result.reason.startswith('fenced h1 via b (rung 2 of 3)')


def test_rung_timeout_and_default_timeout_are_passed():
    prof = profile([{'driver': 'a', 'timeout': 3, 'tag': 1},
                    {'driver': 'b', 'tag': 2}])
    ladder.run_ladder(TARGET, prof, None)
    assert [c[2] for c in FakeFencer.calls] == [3.0, 10.0]


def test_post_steps_run_only_after_a_verified_fence():
    failing = profile([{'driver': 'a'}], post=[{'driver': 'post1'}])
    result = ladder.run_ladder(TARGET, failing, None)
    assert not result.verified and result.post == []
    assert [c[0] for c in FakeFencer.calls] == ['a']

    FakeFencer.calls = []
    ok = profile([{'driver': 'a', 'verified': True}],
                 post=[{'driver': 'post1', 'verified': True},
                       {'driver': 'post2', 'error': 'nova said no'}])
    result = ladder.run_ladder(TARGET, ok, None)
    assert result.verified
    assert [c[0] for c in FakeFencer.calls] == ['a', 'post1', 'post2']
    assert [p.verified for p in result.post] == [True, False]
    assert 'post step failed: post2: nova said no' in result.reason


def test_all_rungs_failing_gives_an_actionable_reason():
    prof = profile([{'driver': 'ipmi_fake', 'error': 'BMC 127.0.0.1:6231 '
                                                     'unreachable after 5.0 s'},
                    {'driver': 'broken'},
                    {'driver': 'boom', 'raise': 'kaput %s' % SECRET,
                     'password': SECRET}])
    result = ladder.run_ladder(TARGET, prof, None)
    assert not result.verified and result.method is None
    assert result.reason.startswith('all 3 rungs failed: ipmi_fake: BMC '
                                    '127.0.0.1:6231 unreachable after 5.0 s; ')
    assert "fence profile 'p', rung 2 (broken): missing option" in \
        result.reason
    assert 'unexpected RuntimeError: kaput ***' in result.reason
    assert SECRET not in result.reason
    assert SECRET not in str(result.to_dict())


def test_a_non_fence_in_the_ladder_never_counts():
    prof = profile([{'driver': 'post_in_ladder', 'verified': True}])
    result = ladder.run_ladder(TARGET, prof, None)
    assert not result.verified
    assert "move it under 'post'" in result.reason


def test_result_dict_is_journal_ready():
    prof = profile([{'driver': 'a', 'verified': True}])
    data = ladder.run_ladder(TARGET, prof, None).to_dict()
    assert data['verified'] is True and data['method'] == 'a'
    assert data['attempts'][0]['power_state'] == 'unknown'


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def monotonic(self):
        self.t += 0.25
        return self.t


def test_injected_clock_measures_the_duration():
    prof = profile([{'driver': 'a', 'verified': True}])
    result = ladder.run_ladder(TARGET, prof, None, clock=FakeClock())
    assert result.duration == pytest.approx(0.75)


@pytest.mark.parametrize('attempt, delay', [
    (1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (50, 300), (10 ** 6, 300),
])
def test_blocked_backoff_is_exponential_with_a_cap(attempt, delay):
    assert ladder.BlockedBackoff().delay(attempt) == delay


def test_blocked_backoff_from_conf_and_next_retry():
    from oslo_config import cfg

    from vmr_common.conf import fencing as fencing_conf
    conf = cfg.ConfigOpts()
    fencing_conf.register_opts(conf)
    conf([])
    conf.set_override('blocked_retry_initial', 1, 'fencing')
    conf.set_override('blocked_retry_factor', 3, 'fencing')
    conf.set_override('blocked_retry_max', 20, 'fencing')
    backoff = ladder.BlockedBackoff.from_conf(conf)
    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [1, 3, 9, 20]
    assert backoff.next_retry_at(2, now=1000.0) == 1003.0
