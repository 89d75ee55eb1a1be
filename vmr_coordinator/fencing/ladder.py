"""Run a host's fence ladder: rung after rung until one proves the host off.

The healer calls :func:`run_ladder` and journals the :class:`LadderResult`;
this module writes nothing to etcd.  Each rung runs in a daemon worker
thread with a deadline, so a driver stuck in a library call (a BMC that
never answers) cannot hang the healer: the rung is abandoned, counted as
failed, and the next rung is tried.
"""

import dataclasses
import logging
import time

from vmr_coordinator.fencing import base

LOG = logging.getLogger(__name__)

# Extra time granted to a driver past its own timeout before the ladder
# abandons it: drivers enforce their timeout themselves and need a moment to
# report it; the ladder's deadline is the backstop for a hung one.
DEADLINE_GRACE = 0.5


@dataclasses.dataclass
class LadderResult:
    """Outcome of one ladder run for one host.

    ``reason`` is the sentence for the journal and the operator: what proved
    the host off, or why nothing did and what to look at.
    """

    verified: bool
    attempts: list
    post: list
    reason: str
    method: str | None = None
    duration: float = 0.0

    def to_dict(self):
        """A JSON-serialisable dict for the recovery journal."""
        return {'verified': self.verified, 'method': self.method,
                'reason': self.reason, 'duration': round(self.duration, 3),
                'attempts': [a.to_dict() for a in self.attempts],
                'post': [p.to_dict() for p in self.post]}


def _run_rung(target, profile, rung, conf, clock, secrets):
    """Run one rung; always return a FenceResult (never raises)."""
    settings = base.fencing_settings(conf)
    timeout = rung.timeout or settings.default_timeout
    start = clock.monotonic()
    try:
        fencer = base.load_fencer(rung.driver, rung.options, conf,
                                  context=profile.context(rung))
    except base.FenceConfigError as exc:
        return base.FenceResult(False, rung.driver,
                                error=base.scrub(exc, secrets))
    if rung.kind == 'ladder' and not fencer.is_fence:
        return base.FenceResult(
            False, rung.driver,
            error='%s (%s): %s does not power hosts off and cannot prove a '
                  "fence; move it under 'post'"
                  % (profile.context(rung), rung.driver, rung.driver))
    # Post steps (nova_force_down) go through the same fence() entry point:
    # for them it means "apply the post-fence marking".
    finished, result, error = base.call_with_deadline(
        lambda: fencer.fence(target, timeout), timeout + DEADLINE_GRACE,
        name='vmr-fence-%s-%s' % (target.host, rung.driver))
    elapsed = clock.monotonic() - start
    if not finished:
        return base.FenceResult(
            False, rung.driver, duration=elapsed,
            error='no answer within %.1f s (driver abandoned)' % timeout)
    if error is not None:
        text = str(error) if isinstance(error, base.FenceError) else \
            'unexpected %s: %s' % (type(error).__name__, error)
        LOG.warning('%s for %s failed: %s', profile.context(rung),
                    target.host, base.scrub(text, secrets))
        return base.FenceResult(False, rung.driver, duration=elapsed,
                                error=base.scrub(text, secrets))
    if not isinstance(result, base.FenceResult):
        return base.FenceResult(
            False, rung.driver, duration=elapsed,
            error='driver returned %s instead of a FenceResult'
                  % type(result).__name__)
    # Drivers scrub their own texts; scrub again with every secret of the
    # profile in case a library echoed one.
    result.evidence = base.scrub(result.evidence, secrets) or ''
    result.error = base.scrub(result.error, secrets)
    return result


def run_ladder(target, profile, conf, clock=time):
    """Fence ``target`` with ``profile``: first verified rung wins.

    The ``post`` steps (e.g. ``nova_force_down``) run only after a verified
    fence.  Returns a :class:`LadderResult`; never raises for a driver
    failure.  ``clock`` needs ``monotonic()`` (injectable for tests).
    """
    start = clock.monotonic()
    secrets = _secrets(profile)
    attempts = []
    winner = None
    for rung in profile.ladder:
        result = _run_rung(target, profile, rung, conf, clock, secrets)
        attempts.append(result)
        if result.verified:
            winner = result
            LOG.info('fenced %s via %s: %s', target.host, rung.driver,
                     result.evidence)
            break
        LOG.warning('fencing %s: %s failed: %s', target.host, rung.label,
                    result.error or result.evidence or 'not verified')
    post = []
    if winner is not None:
        for rung in profile.post:
            post.append(_run_rung(target, profile, rung, conf, clock, secrets))
    duration = clock.monotonic() - start
    reason = _reason(target, profile, attempts, post, winner, duration)
    return LadderResult(verified=winner is not None, attempts=attempts,
                        post=post, reason=reason,
                        method=winner.method if winner else None,
                        duration=duration)


def run_post(target, profile, conf, clock=time):
    """Run ``profile``'s post steps alone, for a host already verified off
    (their earlier run failed, or an operator confirmed the fence); a list
    of :class:`FenceResult`, one per step.  Never raises for a driver
    failure."""
    secrets = _secrets(profile)
    return [_run_rung(target, profile, rung, conf, clock, secrets)
            for rung in profile.post]


def _secrets(profile):
    secrets = []
    for rung in profile.ladder + profile.post:
        secrets.extend(base.secret_values(rung.options))
    return secrets


def _reason(target, profile, attempts, post, winner, duration):
    if winner is None:
        failures = '; '.join(
            '%s: %s' % (a.method, a.error or a.evidence or 'not verified')
            for a in attempts)
        return ('all %d rung%s failed: %s' % (
            len(attempts), '' if len(attempts) == 1 else 's', failures))
    reason = 'fenced %s via %s (rung %d of %d) in %.2f s: %s' % (
        target.host, winner.method, len(attempts), len(profile.ladder),
        duration, winner.evidence)
    failed_post = [p for p in post if not p.verified]
    if failed_post:
        reason += '; post step failed: ' + '; '.join(
            '%s: %s' % (p.method, p.error or 'not verified')
            for p in failed_post)
    return reason


@dataclasses.dataclass(frozen=True)
class BlockedBackoff:
    """Retry schedule of a blocked recovery: exponential, with a cap.

    Pure: ``delay(n)`` is the wait before retry ``n`` (1-based).
    """

    initial: float = 10.0
    factor: float = 2.0
    maximum: float = 300.0

    @classmethod
    def from_conf(cls, conf):
        """The schedule configured in ``[fencing] blocked_retry_*``."""
        settings = base.fencing_settings(conf)
        return cls(initial=settings.blocked_retry_initial,
                   factor=settings.blocked_retry_factor,
                   maximum=settings.blocked_retry_max)

    def delay(self, attempt):
        """Seconds to wait before retry number ``attempt`` (1, 2, ...)."""
        attempt = max(1, int(attempt))
        # Cap the exponent too: factor ** 1000 overflows a float.
        value = self.initial
        for _ in range(attempt - 1):
            value *= self.factor
            if value >= self.maximum:
                return float(self.maximum)
        return float(min(value, self.maximum))

    def next_retry_at(self, attempt, now):
        """Wall-clock time of retry ``attempt`` after a failure at ``now``."""
        return now + self.delay(attempt)
