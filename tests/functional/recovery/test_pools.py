"""The engine's two pools and its per-contract slots (issue 22).

A big recovery's steps fill the step pool; a new host's fence still starts
at once, from the control pool.  A contract at its concurrency leaves its
other steps waiting without a worker thread, and the step that frees a
slot dispatches the next.  The steps here are stand-ins that wait on an
event (what they would do is not the point); the record and the leader's
journal are real etcd.
"""

import threading
import time

from tests.procs import wait_for
from vmr_common.models import RecoveryState, StepState


def _record(recovery, rid, steps, concurrency):
    rec = {'id': rid, 'host': 'compute-1', 'state': RecoveryState.ACTING,
           'steps': [{'state': StepState.PENDING, 'contract': 'c-' + rid,
                      'limits': {'concurrency': concurrency},
                      'server_id': 's%d' % i} for i in range(steps)]}
    recovery.store.put(recovery.store.keys.recovery(rid), rec)
    return rec


class Steps:
    """Stand-in steps: each records that it started, waits for
    :attr:`gate`, then marks itself done in the journal."""

    def __init__(self, recovery):
        self.recovery = recovery
        self.gate = threading.Event()
        self.started = []
        self._lock = threading.Lock()
        recovery._run_step = self.run

    def run(self, rid, index):
        with self._lock:
            self.started.append((rid, index))
        self.gate.wait(60)
        self.recovery._mark(rid, index, state=StepState.DONE,
                            finished_at=time.time(), result='stand-in')


def _flaky(monkeypatch, clock, times=2, error='RetryableError',
           message='HTTP 503 from Nova'):
    """Every action is one that fails ``times`` times with ``error`` (by
    default a retryable one: Nova answers 503) and then succeeds; the list
    of ``clock()`` at each call."""
    from vmr_coordinator.actions import base as actions

    calls = []

    class Flaky:
        needs_fence = False
        request_ids = ()

        def run(self, ctx):
            calls.append(clock())
            if len(calls) <= times:
                raise getattr(actions, error)(message)
            return 'healed'

    monkeypatch.setattr(actions, 'load_action', lambda kind, params=None:
                        Flaky())
    return calls


def _retrying(recovery, rid, created_at, backoff):
    """An acting record of one pending evacuation that may retry 3 times
    with ``backoff``; stored, and returned."""
    rec = {'id': rid, 'host': 'compute-1', 'trigger': {},
           'state': RecoveryState.ACTING, 'created_at': created_at,
           'steps': [{'state': StepState.PENDING, 'contract': 'c-' + rid,
                      'server_id': 's0', 'server_name': 'vm-0',
                      'server': {'id': 's0', 'name': 'vm-0'},
                      'action': 'evacuate', 'params': {},
                      'limits': {'concurrency': 1, 'retries': 3,
                                 'backoff': backoff}}]}
    recovery.store.put(recovery.store.keys.recovery(rid), rec)
    return rec


def test_a_fence_never_waits_behind_steps(recovery):
    steps = Steps(recovery)
    rec = _record(recovery, 'big', 3 * recovery.max_workers, concurrency=100)
    try:
        recovery._drive_steps('big', rec)
        wait_for(lambda: len(steps.started) == recovery.max_workers, 10,
                 message='the step pool to be busy')
        fenced = threading.Event()
        assert recovery._submit(('fence', 'other'), fenced.set)
        # the step pool has 2x its size queued; the fence runs regardless
        assert fenced.wait(5), 'the fence waited behind the steps'
        assert len(steps.started) == recovery.max_workers
    finally:
        steps.gate.set()
    recovery.drain()
    assert len(steps.started) == 3 * recovery.max_workers


def test_a_contract_at_its_concurrency_holds_no_worker(recovery):
    steps = Steps(recovery)
    rec = _record(recovery, 'one', 3, concurrency=1)
    try:
        recovery._drive_steps('one', rec)
        wait_for(lambda: steps.started == [('one', 0)], 10,
                 message='the first step to start')
        # the other two wait for the contract's slot, not in the pool
        queued = {k for k in recovery.inflight if k[0] == 'step'}
        assert queued == {('step', 'one', 0)}
        assert recovery.pool._work_queue.qsize() == 0
        # the next cycle dispatches nothing more while the slot is taken
        recovery._drive_steps('one', rec)
        assert {k for k in recovery.inflight if k[0] == 'step'} == queued
    finally:
        steps.gate.set()
    # the step that frees the slot dispatches the next, and so on
    wait_for(lambda: len(steps.started) == 3, 10,
             message='the waiting steps to follow one by one')
    recovery.drain()
    assert [i for _, i in steps.started] == [0, 1, 2]


def test_a_retry_waits_out_its_back_off_without_a_worker(recovery,
                                                         monkeypatch):
    calls = _flaky(monkeypatch, time.time)
    rec = _retrying(recovery, 'flaky', time.time(), backoff=2.0)
    recovery._drive_steps('flaky', rec)

    # after the first 503 the step waits out its back-off (1 s) holding
    # no worker and no slot of its contract
    def waiting():
        step = _stored(recovery, 'flaky')['steps'][0]
        return step.get('retry_at') and not any(
            k[0] == 'step' for k in recovery.inflight) and step
    step = wait_for(waiting, 10, message='the step to wait out a back-off')
    assert step['state'] == StepState.PENDING
    assert (step['rung'], step['next_attempt']) == (0, 1)
    assert step['errors_so_far'] == ['evacuate attempt 1: HTTP 503 from Nova']
    assert recovery._limit('c-flaky', 1).acquire(blocking=False)
    recovery._limit('c-flaky', 1).release()
    # too early: the cycle leaves it alone
    recovery._drive_steps('flaky', _stored(recovery, 'flaky'))
    assert len(calls) == 1

    # the cycles after the back-off run it again, and again
    def done():
        stored = _stored(recovery, 'flaky')
        recovery._drive_steps('flaky', stored)
        return stored['steps'][0]['state'] == StepState.DONE and stored
    stored = wait_for(done, 20, interval=0.2, message='the step to be done')
    step = stored['steps'][0]
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 1.0 and calls[2] - calls[1] >= 2.0
    assert step['result'] == 'evacuate: healed'
    assert step['error'] == ('evacuate attempt 1: HTTP 503 from Nova; '
                             'evacuate attempt 2: HTTP 503 from Nova')
    assert step['attempts'] == 3
    assert not {'rung', 'next_attempt', 'errors_so_far', 'retry_at'} & set(
        step)


def _settled(recovery, rid, calls, attempts):
    """Drive a cycle; wait until ``attempts`` calls ran and the step is at
    rest (waiting out a back-off, or done); the step."""
    recovery._drive_steps(rid, _stored(recovery, rid))

    def at_rest():
        step = _stored(recovery, rid)['steps'][0]
        idle = not any(k[0] == 'step' for k in recovery.inflight)
        return len(calls) == attempts and idle and (
            step.get('retry_at') or step['state'] == StepState.DONE) and step
    return wait_for(at_rest, 10, message='%d attempts' % attempts)


def test_a_wall_clock_stepped_back_does_not_hold_a_retry(recovery,
                                                         monkeypatch):
    """A retry written for ``now + back-off`` is due at once when the wall
    clock steps back further than any back-off (30 s at most): it does not
    wait the hour out."""
    now = [1_000_000.0]
    recovery.clock = lambda: now[0]
    calls = _flaky(monkeypatch, lambda: now[0])
    _retrying(recovery, 'stepped', now[0], backoff=20.0)
    step = _settled(recovery, 'stepped', calls, 1)
    assert step['retry_at'] == 1_000_001.0
    now[0] -= 3600.0                      # NTP steps the clock back an hour
    step = _settled(recovery, 'stepped', calls, 2)
    assert step['retry_at'] == 1_000_000.0 - 3600.0 + 20.0
    now[0] -= 10.0                        # within the back-off: it waits
    recovery._drive_steps('stepped', _stored(recovery, 'stepped'))
    assert len(calls) == 2 and not recovery.inflight


def _stored(recovery, rid):
    return recovery.store.get(recovery.store.keys.recovery(rid)).json()


def test_the_back_off_runs_on_the_engines_clock(recovery, monkeypatch):
    """The engine reads the coordinator's injected clock: a back-off of
    seconds passes when that clock moves, with no wait in real time."""
    now = [1_000_000.0]
    recovery.clock = lambda: now[0]
    calls = _flaky(monkeypatch, lambda: now[0])
    _retrying(recovery, 'clocked', now[0], backoff=20.0)

    def settled(attempts):
        return _settled(recovery, 'clocked', calls, attempts)

    step = settled(1)
    assert step['retry_at'] == 1_000_000.0 + 1.0       # backoff ** 0
    now[0] += 0.5
    recovery._drive_steps('clocked', _stored(recovery, 'clocked'))
    assert len(calls) == 1 and not recovery.inflight    # too early
    now[0] += 0.5
    step = settled(2)
    assert step['retry_at'] == 1_000_001.0 + 20.0      # backoff ** 1
    now[0] += 19.0
    recovery._drive_steps('clocked', _stored(recovery, 'clocked'))
    assert len(calls) == 2 and not recovery.inflight
    now[0] += 1.0
    step = settled(3)
    assert step['state'] == StepState.DONE
    assert calls == [1_000_000.0, 1_000_001.0, 1_000_021.0]
    assert step['finished_at'] == 1_000_021.0


def _away_then(recovery, monkeypatch, rid, away, timeout):
    """A step of one retry and ``timeout`` whose action finds the API away
    (connection refused: a service restarting) for its first ``away``
    calls, then succeeds; on the engine's fake clock.  ``(now, calls)``:
    the clock to move, the clock at each call."""
    now = [1_000_000.0]
    recovery.clock = lambda: now[0]
    calls = _flaky(monkeypatch, lambda: now[0], away, 'ServiceAway',
                   'Unable to establish connection to http://127.0.0.1:8774')
    rec = _retrying(recovery, rid, now[0], backoff=2.0)
    rec['steps'][0]['limits'].update(retries=1, timeout=timeout)
    recovery.store.put(recovery.store.keys.recovery(rid), rec)
    return now, calls


def test_an_api_away_spends_none_of_the_retries(recovery, monkeypatch):
    """Nova restarting under a step: the same attempt again every
    SERVICE_AWAY_RETRY seconds, however often, without spending the
    contract's retries (one here); the error is kept once."""
    from vmr_coordinator.recovery import decide
    now, calls = _away_then(recovery, monkeypatch, 'away', 5, timeout=60)
    for attempt in range(1, 6):
        step = _settled(recovery, 'away', calls, attempt)
        assert step['state'] == StepState.PENDING
        assert step['next_attempt'] == 0          # no retry spent
        assert step['away_since'] == 1_000_000.0
        assert step['retry_at'] == now[0] + decide.SERVICE_AWAY_RETRY
        now[0] += decide.SERVICE_AWAY_RETRY
    step = _settled(recovery, 'away', calls, 6)
    assert step['state'] == StepState.DONE
    assert 'away_since' not in step and 'retry_at' not in step
    assert step['error'] == ('evacuate attempt 1: Unable to establish '
                             'connection to http://127.0.0.1:8774; the '
                             "same attempt again for up to the step's "
                             'timeout, no retry spent')


def test_an_api_away_past_the_step_timeout_spends_a_retry(recovery,
                                                          monkeypatch):
    """Away for longer than the step's timeout: that attempt fails as any
    retryable error does, and the next one has the usual back-off."""
    now, calls = _away_then(recovery, monkeypatch, 'gone', 100, timeout=10)
    step = _settled(recovery, 'gone', calls, 1)
    assert step['next_attempt'] == 0
    now[0] += 11.0                                 # past the timeout
    step = _settled(recovery, 'gone', calls, 2)
    assert step['next_attempt'] == 1 and 'away_since' not in step
    assert step['retry_at'] == now[0] + 1.0       # backoff ** 0
    now[0] += 1.0
    recovery._drive_steps('gone', _stored(recovery, 'gone'))
    step = wait_for(lambda: _stored(recovery, 'gone')['steps'][0]
                    if len(calls) == 3 and not recovery.inflight else None,
                    10, message='third call')
    # the last attempt finds the API away again: not past the timeout yet
    # (a new away period began), so it waits rather than failing
    assert step['state'] == StepState.PENDING and step['next_attempt'] == 1
