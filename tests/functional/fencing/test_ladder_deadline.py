"""The fence ladder abandons a rung stuck in its driver at the rung's
deadline (a thread with a deadline: real time, so not in the unit tier)."""

import time

from tests.support.ladder import FakeFencer  # noqa: F401
from tests.support.ladder import fake_loader  # noqa: F401 (autouse fixture)
from tests.support.ladder import profile
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder

TARGET = base.FenceTarget(host='h1', now=1000.0)


def test_hanging_rung_is_abandoned_at_its_deadline():
    prof = profile([{'driver': 'hang', 'sleep': 30, 'timeout': 0.3},
                    {'driver': 'ok', 'verified': True}])
    start = time.monotonic()
    result = ladder.run_ladder(TARGET, prof, None)
    elapsed = time.monotonic() - start
    assert result.verified and result.method == 'ok'
    # the stuck rung sleeps 30 s: its deadline, not its end, moved on
    assert elapsed < 10, elapsed
    assert 'no answer within 0.3 s' in result.attempts[0].error
