"""Prove a host's fence path without an outage: ``vmr fence test HOST``.

:func:`check_ladder` asks every rung of the host's profile for the power
status only — nothing is switched — and times each answer, so an operator
learns today that a BMC password expired, not during the next failure.
:func:`power_cycle` is the explicit, confirmed exception: it fences through
the first rung that answered and powers the host back on.
"""

import time

from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder as ladder_mod


def _rung_secrets(profile):
    found = []
    for rung in profile.ladder + profile.post:
        found.extend(base.secret_values(rung.options))
    return found


def _load(profile, rung, conf):
    return base.load_fencer(rung.driver, rung.options, conf,
                            context=profile.context(rung))


def _status_call(fencer, target, timeout):
    """``() -> (PowerState, why unknown)`` for one rung; a fencer that can
    say why it could not read the state (``status_detail``) tells us."""
    detail = getattr(fencer, 'status_detail', None)
    if detail is not None:
        return lambda: detail(target, timeout)
    return lambda: (fencer.status(target), None)


def check_ladder(target, profile, conf, clock=time):
    """A status call through every rung of ``profile``; one dict per rung:
    ``kind``, ``index``, ``driver``, ``ok``, ``power_state``, ``error``,
    ``seconds``.  Never raises for a driver failure."""
    secrets = _rung_secrets(profile)
    settings = base.fencing_settings(conf)
    results = []
    for rung in profile.ladder + profile.post:
        entry = {'kind': rung.kind, 'index': rung.index,
                 'driver': rung.driver, 'ok': False, 'power_state': None,
                 'error': None, 'seconds': 0.0}
        started = clock.monotonic()
        timeout = rung.timeout or settings.default_timeout
        try:
            fencer = _load(profile, rung, conf)
        except base.FenceConfigError as exc:
            entry['error'] = base.scrub(exc, secrets)
            results.append(entry)
            continue
        finished, answer, error = base.call_with_deadline(
            _status_call(fencer, target, timeout),
            timeout + ladder_mod.DEADLINE_GRACE,
            name='vmr-fence-check-%s-%s' % (target.host, rung.driver))
        entry['seconds'] = round(clock.monotonic() - started, 3)
        if not finished:
            entry['error'] = 'no answer within %.1f s' % timeout
        elif error is not None:
            entry['error'] = base.scrub(
                str(error) if isinstance(error, base.FenceError)
                else '%s: %s' % (type(error).__name__, error), secrets)
        else:
            state, why = answer
            state = base.PowerState(state) if state is not None else \
                base.PowerState.UNKNOWN
            entry['power_state'] = state.value
            entry['ok'] = state != base.PowerState.UNKNOWN
            if not entry['ok']:
                entry['error'] = base.scrub(
                    why or 'the power state could not be read', secrets)
        results.append(entry)
    return results


def power_cycle(target, profile, conf, rung_index, clock=time):
    """Fence ``target`` through ladder rung ``rung_index`` (1-based), then
    power it on again.  A dict: ``driver``, ``off`` (the fence result),
    ``on`` (the power-on result), ``seconds``."""
    secrets = _rung_secrets(profile)
    rung = profile.ladder[rung_index - 1]
    settings = base.fencing_settings(conf)
    timeout = rung.timeout or settings.default_timeout
    started = clock.monotonic()
    fencer = _load(profile, rung, conf)
    off = fencer.fence(target, timeout)
    on = fencer.unfence(target) if off.verified else None
    return {'driver': rung.driver,
            'off': {'verified': off.verified,
                    'detail': base.scrub(off.error or off.evidence, secrets)},
            'on': None if on is None else {
                'verified': on.verified,
                'detail': base.scrub(on.error or on.evidence, secrets)},
            'seconds': round(clock.monotonic() - started, 3)}
