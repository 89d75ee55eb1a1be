"""Whom a leader whose fence failed hands leadership to
(:func:`vmr_coordinator.recovery.decide.hand_over_to`): pure, branch by
branch."""

import pytest

from vmr_coordinator.recovery.decide import hand_over_to

LIVE = ['controller-1', 'controller-2', 'controller-3']


@pytest.mark.parametrize('tried,live,me,after,expected', [
    # the first failure from here: the first live standby that never tried
    ({'controller-1': 1}, LIVE, 'controller-1', 1, 'controller-2'),
    # it tried and failed too: the next one
    ({'controller-1': 1, 'controller-2': 1}, LIVE, 'controller-2', 1,
     'controller-3'),
    # every live coordinator tried: nobody, the leader keeps it (blocked)
    ({'controller-1': 1, 'controller-2': 1, 'controller-3': 1}, LIVE,
     'controller-3', 1, None),
    # handed back to a coordinator that tried is never done: no ping-pong
    ({'controller-1': 2, 'controller-2': 1}, LIVE[:2], 'controller-1', 1,
     None),
    # not yet as many failures as asked for
    ({'controller-1': 1}, LIVE, 'controller-1', 2, None),
    ({'controller-1': 2}, LIVE, 'controller-1', 2, 'controller-2'),
    # 0: never hand over
    ({'controller-1': 5}, LIVE, 'controller-1', 0, None),
    # alone: nobody to hand to
    ({'controller-1': 1}, ['controller-1'], 'controller-1', 1, None),
    # a dead standby (no presence key) is not a candidate
    ({'controller-1': 1}, ['controller-1', 'controller-3'], 'controller-1',
     1, 'controller-3'),
])
def test_hand_over_to(tried, live, me, after, expected):
    assert hand_over_to(tried, live, me, after) == expected
