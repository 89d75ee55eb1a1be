"""The ``watchdog`` fencer: the host fenced itself.

An agent that armed its watchdog (``/dev/watchdog`` or the software
fallback, see :mod:`vmr_agent.watchdog`) feeds it only while it holds its
etcd lease.  Once the lease is gone, the watchdog resets the host within
its timeout W.  So when the host record says the watchdog was armed with
timeout W and the host has been absent for more than W + margin, the host
has rebooted (or is powered off): it is fenced.

Nothing is sent anywhere; the decision is a pure function of the target's
record, ``absent_since`` and ``now``.
"""

import time

from vmr_coordinator.fencing import base


def watchdog_decision(target, margin):
    """``(verified, sentence)`` for ``target``; pure, for tests and tools."""
    record = target.record or {}
    # The agent reports its watchdog among its facts (record['agent']).
    info = record.get('watchdog') or (record.get('agent') or {}).get(
        'watchdog') or {}
    if not info.get('armed'):
        return False, 'watchdog not armed on %s' % target.host
    try:
        timeout = float(info.get('timeout'))
    except (TypeError, ValueError):
        return False, ('watchdog on %s armed without a usable timeout (%r)'
                       % (target.host, info.get('timeout')))
    if target.absent_since is None:
        return False, ('%s still holds its lease: the watchdog has not '
                       'fired' % target.host)
    now = target.now if target.now is not None else time.time()
    gone = now - float(target.absent_since)
    needed = timeout + margin
    if gone > needed:
        return True, ('lease gone %.1f s > watchdog %g s + margin %g s: '
                      '%s has reset itself' % (gone, timeout, margin,
                                               target.host))
    return False, ('lease gone %.1f s < watchdog %g s + margin %g s: wait '
                   '%.1f s' % (gone, timeout, margin, needed - gone))


class WatchdogFencer(base.Fencer):
    """Counts a host as fenced once its own watchdog must have fired.

    Option ``margin`` overrides ``[fencing] watchdog_margin`` for a profile.
    """

    name = 'watchdog'
    optional_options = {'margin': None}

    def _margin(self):
        if self.options['margin'] is not None:
            return float(self.options['margin'])
        return float(self.settings.watchdog_margin)

    def status(self, target):
        # A watchdog resets the host: it may be up again (with no VMs), so
        # the power state is never known from here.
        return base.PowerState.UNKNOWN

    def fence(self, target, timeout):
        verified, sentence = watchdog_decision(target, self._margin())
        # Not verified is the normal answer for a host that died recently:
        # the healer retries the ladder later (blocked backoff).
        return self.result(
            verified, evidence=sentence if verified else '',
            error=None if verified else sentence,
            power_state=base.PowerState.UNKNOWN)
