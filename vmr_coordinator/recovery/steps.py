"""Stage 4: run the steps in the bounded pool under each contract's
limits, with retries and the contract's ``on_failure`` rungs.

A part of :class:`vmr_coordinator.recovery.Recovery`; it uses the
engine's journal, store, pool and connection.
"""

import logging
import threading
import time

from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator import journal as journal_mod
from vmr_coordinator.detection import HostState
from vmr_coordinator.journal import RecoveryState, StepState
from vmr_coordinator.recovery import decide

LOG = logging.getLogger(__name__)

#: what a step keeps while it waits out a back-off (or when its leader dies
#: meanwhile): where to go on; dropped once it is done or failed
_RESUME_FIELDS = ('rung', 'next_attempt', 'errors_so_far', 'retry_at',
                  'away_since')


class Steps:
    """The acting stage of the recovery engine (mixed into ``Recovery``)."""

    # -- 4. act ---------------------------------------------------------------
    def _drive_steps(self, rid, rec):
        """Dispatch what the acting record ``rec`` needs now."""
        self._dispatch(rid, rec, decide.step_intents(rid, rec, self.clock()))

    def _dispatch(self, rid, rec, wanted):
        """Carry out the step intents of the acting record ``rec``
        (:func:`decide.step_intents`): finish it, or queue each step due
        that has a slot of its contract."""
        steps = rec.get('steps') or []
        for intent in wanted:
            if intent.kind == 'finish':
                self._submit(('finish', rid), self._finish, rid)
                return
        for intent in wanted:
            i = intent.step
            with self._lock:
                if ('step', rid, i) in self.inflight:
                    continue
            # A step takes one of its contract's slots before it is
            # queued, never in a worker: a contract at its concurrency
            # leaves the rest waiting here, holding no thread, and the
            # step that frees a slot dispatches them (_release).
            step = steps[i]
            contract = step.get('contract')
            slot = self._limit(contract, (step.get('limits') or {}).get(
                'concurrency', 10))
            if not slot.acquire(blocking=False):
                with self._lock:
                    self._waiting.setdefault(contract, set()).add(rid)
                continue
            with self._lock:
                # The step pool takes jobs first in, first out: the
                # submission order is the dispatch order, recorded in
                # each step to show higher priorities went first.
                self._seq += 1
                self._queued[(rid, i)] = self._seq
            if not self._submit(('step', rid, i), self._step_in_slot, rid,
                                i, contract, slot):
                slot.release()

    def _step_in_slot(self, rid, index, contract, slot):
        """Run a step holding its contract's slot; then give the slot
        back and dispatch the steps that waited for one."""
        try:
            self._run_step(rid, index)
        finally:
            slot.release()
            self._release(contract)

    def _release(self, contract):
        """Dispatch the waiting steps of ``contract`` (their records as
        stored now)."""
        with self._lock:
            waiting = self._waiting.pop(contract, set())
        for rid in sorted(waiting):
            rec = self._current(rid)
            if rec is not None and rec.get('state') == RecoveryState.ACTING:
                self._drive_steps(rid, rec)

    def _limit(self, contract, concurrency):
        with self._lock:
            sem = self._limits.get(contract)
            if sem is None:
                sem = self._limits[contract] = threading.BoundedSemaphore(
                    max(1, int(concurrency or 1)))
            return sem

    def _run_step(self, rid, index):
        from vmr_coordinator.actions import base as actions
        rec = self.journal.read(rid)
        step = rec['steps'][index]
        if step.get('state') in StepState.TERMINAL:
            return
        limits = step.get('limits') or {}
        dispatched = self._queued.get((rid, index))
        server = contracts_mod.ServerFacts.from_dict(step['server'])
        ladder = [{'type': step['action'], 'params': step['params']}] + \
            list(step.get('on_failure') or [])
        retries = int(limits.get('retries', 3))
        backoff = float(limits.get('backoff', 2.0))
        timeout = float(limits.get('timeout', 600))
        # where an earlier run of this step stopped to wait out a back-off
        # (or where the previous leader got to): its rung and attempt
        first_rung = int(step.get('rung') or 0)
        first_attempt = int(step.get('next_attempt') or 0)
        errors = list(step.get('errors_so_far') or [])
        request_ids = []
        result = None
        for rung_index in range(first_rung, len(ladder)):
            rung = ladder[rung_index]
            action = actions.load_action(rung['type'],
                                         rung.get('params'))
            if action.needs_fence and not rec.get('fencing', {}).get(
                    'verified'):
                errors.append('%s refused: the host is not verified '
                              'off' % rung['type'])
                break
            start = first_attempt if rung_index == first_rung else 0
            for attempt in range(start, retries + 1):
                started = self.clock()
                self._mark(rid, index, state=StepState.RUNNING,
                           started_at=started, current=rung['type'],
                           dispatched=dispatched, leader=self.healer.member,
                           bump=True)
                ctx = actions.ActionContext(
                    conn=self.conn, server=server, host=rec['host'],
                    event=rec.get('trigger', {}),
                    deadline=time.monotonic() + timeout,
                    reads=self.server_reads)
                failure, retryable, away = None, False, False
                try:
                    result = '%s: %s' % (rung['type'], action.run(ctx))
                except actions.NotNow as exc:
                    failure, retryable, away = exc, True, True
                except actions.RetryableError as exc:
                    failure, retryable = exc, True
                except actions.ActionError as exc:
                    failure = exc
                request_ids.extend(getattr(action, 'request_ids', None) or [])
                if failure is None:
                    break
                if not retryable:
                    errors.append('%s: %s' % (rung['type'], failure))
                    break
                away_since = step.get('away_since')
                if away and (away_since is None or
                             decide.within(away_since, self.clock(),
                                           timeout)):
                    # The API is away (a service restarting): the same
                    # attempt again shortly, spending none of the
                    # contract's retries, for up to the step's timeout.
                    if away_since is None:
                        errors.append('%s attempt %d: %s; the same '
                                      'attempt again for up to the step\'s '
                                      'timeout, no retry spent'
                                      % (rung['type'], attempt + 1, failure))
                    self._mark(rid, index, state=StepState.PENDING,
                               rung=rung_index, next_attempt=attempt,
                               errors_so_far=errors,
                               away_since=away_since or self.clock(),
                               retry_at=self.clock() + (
                                   getattr(failure, 'retry_in', None) or
                                   decide.SERVICE_AWAY_RETRY),
                               request_ids=list(dict.fromkeys(
                                   step.get('request_ids', []) +
                                   request_ids)))
                    return
                errors.append('%s attempt %d: %s' % (
                    rung['type'], attempt + 1, failure))
                if attempt < retries:
                    # No sleep here: the worker and the contract's slot go
                    # back; the dispatcher runs the step again once the
                    # back-off is over (_drive_steps).
                    self._mark(rid, index, state=StepState.PENDING,
                               rung=rung_index, next_attempt=attempt + 1,
                               errors_so_far=errors, away_since=None,
                               retry_at=self.clock() + min(
                                   decide.STEP_BACKOFF_MAX,
                                   backoff ** attempt),
                               request_ids=list(dict.fromkeys(
                                   step.get('request_ids', []) +
                                   request_ids)))
                    return
            if result is not None:
                break
        finished = self.clock()
        if self.coordinator.metrics:
            self.coordinator.metrics('action', finished - rec.get(
                'created_at', finished))
        # x-openstack-request-id of every call: operators grep them
        # in Nova's logs (DESIGN §7b).
        ids = list(dict.fromkeys(step.get('request_ids', []) +
                                 request_ids))
        done = dict(finished_at=finished, request_ids=ids, rung=None,
                    next_attempt=None, errors_so_far=None, retry_at=None,
                    away_since=None)
        if result is not None:
            rec = self._mark(rid, index, state=StepState.DONE,
                             result=result, error='; '.join(errors) or None,
                             **done)
        else:
            rec = self._mark(rid, index, state=StepState.FAILED,
                             error='; '.join(errors), **done)
        if all(s.get('state') in StepState.TERMINAL
               for s in rec.get('steps', [])):
            # the last step: close the record now, not next cycle
            self._submit(('finish', rid), self._finish, rid)

    def _mark(self, rid, index, bump=False, **fields):
        def mutate(r):
            step = r['steps'][index]
            if bump:
                step['attempts'] = step.get('attempts', 0) + 1
            for key, value in fields.items():
                if value is None and key in _RESUME_FIELDS:
                    step.pop(key, None)
                else:
                    step[key] = value
            if fields.get('state') in StepState.TERMINAL:
                journal_mod.add_event(
                    r, fields.get('finished_at', self.clock()),
                    'step %s' % fields['state'],
                    '%s (%s): %s' % (step.get('server_name'),
                                     step.get('server_id'),
                                     fields.get('result') or
                                     fields.get('error')))
        return self.journal.update(rid, mutate)

    def _finish(self, rid):
        now = self.clock()
        outcome = {}

        def mutate(r):
            if r.get('state') != RecoveryState.ACTING:
                return False
            outcome['fenced_host'] = decide.trigger_of(r).needs_fence
            failed = [s for s in r['steps']
                      if s.get('state') == StepState.FAILED]
            r['state'] = RecoveryState.FAILED if failed else \
                RecoveryState.DONE
            outcome['state'] = r['state']
            outcome['host'] = r['host']
            journal_mod.add_event(
                r, now, r['state'], '%d of %d servers healed' % (
                    len(r['steps']) - len(failed), len(r['steps'])))
        self.journal.update(rid, mutate)
        if outcome:
            # a healed host is good news; a failed recovery needs a human
            (LOG.error if outcome['state'] == RecoveryState.FAILED
             else LOG.info)('recovery %s: %s', rid, outcome['state'])
            if outcome['fenced_host']:
                self._finish_host(outcome['host'], rid, outcome['state'])

    def _finish_host(self, host, rid, state):
        self._set_host(host, {
            'state': HostState.RECOVERED, 'state_since': self.clock(),
            'reason': 'recovery %s %s' % (rid, state)})
