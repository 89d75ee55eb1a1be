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
    from vmr_coordinator.actions import base as actions

    calls = []

    class Flaky:
        """Nova answers 503 twice, then the action succeeds."""
        needs_fence = False
        request_ids = ()

        def run(self, ctx):
            calls.append(time.time())
            if len(calls) < 3:
                raise actions.RetryableError('HTTP 503 from Nova')
            return 'healed'

    monkeypatch.setattr(actions, 'load_action', lambda kind, params=None:
                        Flaky())
    rec = {'id': 'flaky', 'host': 'compute-1', 'trigger': {},
           'state': RecoveryState.ACTING, 'created_at': time.time(),
           'steps': [{'state': StepState.PENDING, 'contract': 'c-flaky',
                      'server_id': 's0', 'server_name': 'vm-0',
                      'server': {'id': 's0', 'name': 'vm-0'},
                      'action': 'evacuate', 'params': {},
                      'limits': {'concurrency': 1, 'retries': 3,
                                 'backoff': 2.0}}]}
    recovery.store.put(recovery.store.keys.recovery('flaky'), rec)
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


def _stored(recovery, rid):
    return recovery.store.get(recovery.store.keys.recovery(rid)).json()
