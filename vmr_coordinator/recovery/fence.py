"""Stage 2: fence the failed host with its profile, or block and retry;
an operator may confirm a fence by hand.

A part of :class:`vmr_coordinator.recovery.Recovery`; it uses the
engine's journal, store, pool and connection.
"""

import logging

from vmr_common import exceptions
from vmr_common.store import Op
from vmr_coordinator import journal as journal_mod
from vmr_coordinator.actions import evidence
from vmr_coordinator.detection import HostState
from vmr_coordinator.journal import RecoveryState
from vmr_coordinator.recovery import decide

LOG = logging.getLogger(__name__)


class Fence:
    """The fence stage of the recovery engine (mixed into ``Recovery``)."""

    # -- 2. fence -------------------------------------------------------------
    def _fence_job(self, rid, host, snap):
        """Fence ``host``; once the fence is verified, plan at once."""
        if self._fence(rid, host, snap):
            self._chain(('plan', rid), self._plan_job, rid, snap)

    def _fence(self, rid, host, snap):
        """Run the fence ladder for ``host``; True when verified off."""
        from vmr_coordinator.fencing.ladder import BlockedBackoff, run_ladder
        if not self.healer.election.is_leader():
            return False  # deposed while this job waited: the new leader fences
        current = self._current(rid)
        if current is None or current.get('state') not in (
                RecoveryState.DETECTED, RecoveryState.FENCING,
                RecoveryState.BLOCKED):
            # fenced (or confirmed) since the snapshot that sent us here
            return False
        started = self.clock()
        try:
            profile = self.profiles().profile_for(host)
        except Exception as exc:  # a config problem: blocked, with the fix
            profile, error = None, str(exc)
        else:
            error = None if profile is not None else (
                'no fence profile matches host %s in %s; add one (or a '
                '"default" profile)' % (host, self.conf.fencing.profiles_file))
        if profile is None:
            verified, fencing = False, {'verified': False, 'reason': error,
                                        'attempts': []}
        else:
            result = run_ladder(self._target(host, snap), profile, self.conf)
            verified, fencing = result.verified, result.to_dict()
        backoff = BlockedBackoff.from_conf(self.conf)
        done_at = self.clock()
        me = self.healer.member
        handed = {}
        if self.coordinator.metrics:
            self.coordinator.metrics('fence', done_at - started)
            # driver "none": no usable profile (as vmr_fence_path_ok says)
            failed = [a.get('method') or 'unknown'
                      for a in fencing.get('attempts') or ()
                      if not a.get('verified')] or ([] if verified
                                                    else ['none'])
            for driver in failed:
                self.coordinator.metrics('fence_failure', 1, driver=driver)

        def mutate(r):
            previous = r.get('fencing') or {}
            attempt = previous.get('attempt', 0) + 1
            fencing['attempt'] = attempt
            r['fencing'] = fencing
            if verified:
                r['state'] = RecoveryState.FENCED
                # the force-down/disable calls' request ids, for grep
                ids = [i for p in fencing.get('post', [])
                       for i in p.get('request_ids', [])]
                journal_mod.add_event(r, done_at, 'fenced', evidence.annotate(
                    fencing.get('reason', ''), ids))
            else:
                r['state'] = RecoveryState.BLOCKED
                tried = dict(previous.get('tried_by') or {})
                tried[me] = tried.get(me, 0) + 1
                fencing['tried_by'] = tried
                fencing['next_retry_at'] = backoff.next_retry_at(attempt,
                                                                 done_at)
                journal_mod.add_event(r, done_at, 'blocked',
                                      fencing.get('reason', ''))
                to = decide.hand_over_to(tried, snap.coordinators, me,
                                         self.conf.fencing.handover_after)
                handed.pop('to', None)
                if to is not None:
                    # the next leader tries at once, from where it runs
                    fencing['next_retry_at'] = done_at
                    handed['to'] = to
                    journal_mod.add_event(
                        r, done_at, 'handed over',
                        'the fence failed from %s (%d time(s)); leadership '
                        'goes to %s, which has not tried it: its BMC '
                        'network may reach the host' % (me, tried[me], to))
        self.journal.update(rid, mutate)
        if verified:
            self._set_host(host, {'state': HostState.FENCED,
                                  'state_since': done_at,
                                  'fenced_at': done_at,
                                  'reason': fencing.get('reason', '')})
            return True
        else:
            if handed:
                LOG.error('recovery %s: the fence of %s failed from here: '
                          '%s; handing leadership to %s to try it',
                          rid, host, fencing.get('reason'), handed['to'])
            else:
                LOG.critical('ALARM: recovery %s BLOCKED: %s; nothing will '
                             'be restarted until a fence is proven or an '
                             'operator runs `vmr host confirm-fenced %s`',
                             rid, fencing.get('reason'), host)
            self._set_host(host, {'state': HostState.BLOCKED,
                                  'state_since': done_at,
                                  'reason': fencing.get('reason', '')})
            if handed:
                self.healer.hand_over(handed['to'], 'the fence of %s failed '
                                      'from here' % host)
            return False

    def _target(self, host, snap):
        """The FenceTarget of ``host`` as ``snap`` saw it, with the cloud
        connection for the post steps."""
        from vmr_coordinator.fencing.base import FenceTarget
        record = snap.hosts.get(host)
        conn = None
        try:
            conn = self.conn
        except Exception as exc:  # nova_force_down will report it
            LOG.warning('cloud unavailable for fencing %s: %s', host, exc)
        return FenceTarget(
            host=host, record=record.data if record else {},
            absent_since=(record.data.get('suspect_since')
                          if record else None),
            now=self.clock(), cloud=conn)

    def _post_again(self, rid, snap):
        """Before the plan: run the fence profile's post steps again when
        they did not all go through after the verified fence (Nova away
        longer than their time: a restart under the fence), or never ran
        (an operator confirmed the fence).  The host is off either way,
        and Nova refuses every evacuation (400, "still in use") while it
        believes the compute up -- for up to its ``service_down_time``.
        What happened is written to the record either way; a failure again
        leaves it to the steps (evacuate asks again until Nova sees the
        compute down)."""
        from vmr_coordinator.fencing.ladder import run_post
        rec = self._current(rid)
        if rec is None or rec.get('state') != RecoveryState.FENCED:
            return
        fencing = rec.get('fencing') or {}
        post = fencing.get('post')
        if not fencing.get('verified') or (
                post and all(p.get('verified') for p in post)):
            return
        host = rec.get('host')
        try:
            profile = self.profiles().profile_for(host)
        except Exception:   # the fence said why; nothing to run again
            return
        if profile is None or not profile.post:
            return
        results = run_post(self._target(host, snap), profile, self.conf)
        done_at = self.clock()
        said = '; '.join(r.summary() for r in results)
        ids = [i for r in results for i in (r.request_ids or ())]
        why = 'they failed after the fence' if post else (
            'the fence was confirmed by hand'
            if fencing.get('method') == 'operator' else 'they never ran')

        def mutate(r):
            if r.get('state') != RecoveryState.FENCED:
                return False
            r.setdefault('fencing', {})['post'] = [
                x.to_dict() for x in results]
            journal_mod.add_event(r, done_at, 'post steps again',
                                  evidence.annotate('%s (%s)' % (said, why),
                                                    ids))
        self.journal.update(rid, mutate)
        (LOG.info if all(r.verified for r in results) else LOG.error)(
            'recovery %s: post steps of the fence of %s run again (%s): %s',
            rid, host, why, said)

    def _confirmations(self, snap, now):
        """Apply operators' ``confirm-fenced`` requests to blocked records."""
        prefix = self.store.keys.root + 'requests/confirm-fenced/'
        kvs, _ = self.store.get_prefix(prefix)
        for kv in kvs:
            host = kv.key[len(prefix):]
            try:
                req = kv.json()
            except exceptions.CorruptRecord:
                req = {}
            for rid, (rec, _) in snap.journal.items():
                if rec.get('host') != host or rec.get('state') not in (
                        RecoveryState.BLOCKED, RecoveryState.FENCING):
                    continue

                by = req.get('by') or 'operator'
                said = 'confirmed off by %s%s' % (
                    by, ': %s' % req['reason'] if req.get('reason') else '')

                def mutate(r, by=by, said=said):
                    r['state'] = RecoveryState.FENCED
                    r.setdefault('fencing', {}).update(
                        verified=True, method='operator', confirmed_by=by,
                        confirmed_at=now, reason=said)
                    # the operator's words belong in the timeline too
                    journal_mod.add_event(r, now, 'fenced', said)
                self.journal.update(rid, mutate, extra_ops=[
                    Op.delete(kv.key)])
                self._set_host(host, {'state': HostState.FENCED,
                                      'state_since': now, 'fenced_at': now,
                                      'reason': 'fence %s' % said})
                self._submit(('plan', rid), self._plan_job, rid, snap)
