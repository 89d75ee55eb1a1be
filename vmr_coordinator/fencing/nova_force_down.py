"""The ``nova_force_down`` post step: tell Nova the fenced host is down.

Not a fence (``is_fence = False``): it powers nothing off and may only run
*after* a verified fence, as a ``post`` step of a fence profile.  Nova
refuses to evacuate while it believes the source nova-compute is up, and
would otherwise wait ``service_down_time``; forcing the service down lets
recoveries start at once (DESIGN §7).

Order matters (DESIGN §7): force down **first**, then disable.  Disabling a
service Nova still believes up makes nova-api call the dead compute and
block for ``rpc_response_timeout``.  Both go in one ``PUT
/os-services/{id}`` (microversion 2.53+): Nova saves ``forced_down`` with
the status and only then asks whether the service is up (no), so it never
calls the compute; Nova's answer to it is the record it saved, the
evidence.  One request instead of two plus a read: the fence's share of a
heal on the real tier.

``unfence`` reverses it only when the compute is back: un-force once
nova-compute reports again, enable only once it reports ``up`` and only if
VMR disabled it (an operator's own ``disabled_reason`` is left alone).

Options: ``disable`` (default true), ``reason`` (default ``vmr: fenced``),
``binary`` (default ``nova-compute``), ``nova_host`` (Nova's name for the
host when it differs from VMR's).  ``unfence`` needs the target's
``absent_since`` or ``record['fenced_at']``: only a report newer than both
proves nova-compute restarted.
"""

import datetime
import time

from keystoneauth1 import exceptions as ksa_exceptions
from openstack import exceptions as sdk_exceptions

from vmr_common import exceptions
from vmr_coordinator.actions import evidence
from vmr_coordinator.fencing import base

VMR_REASON_PREFIX = 'vmr:'
#: Nova's answers while nova-api, its database or its message bus restart
AWAY_STATUS = (500, 502, 503, 504)
#: seconds between two tries while Nova is away
AWAY_RETRY = 1.0


class NovaAway(base.FenceError):
    """Nova could not be asked right now (refused, cut, 5xx): worth
    asking again within the step's time."""


def _failed(what, status, text):
    """The error for Nova's (or Keystone's) HTTP ``status`` answered to
    ``what``: Nova away for a 5xx of :data:`AWAY_STATUS`, else a fence
    error."""
    error = NovaAway if status in AWAY_STATUS else base.FenceError
    return error('Nova: %s failed: %s' % (what, text))


def _parse_time(value):
    """Nova's ``updated_at`` (ISO 8601, maybe without zone) -> epoch s."""
    if not value:
        return None
    text = str(value).replace('Z', '+00:00')
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


class NovaForceDownFencer(base.Fencer):
    """Mark the fenced host's nova-compute forced_down (and disabled)."""

    name = 'nova_force_down'
    is_fence = False
    undone_on_return = True
    optional_options = {'disable': True, 'reason': 'vmr: fenced',
                        'binary': 'nova-compute', 'nova_host': None}

    def _host(self, target):
        return self.options['nova_host'] or target.host

    def _label(self, target):
        return '%s@%s' % (self.options['binary'], self._host(target))

    def _connected_service(self, target):
        """(connection, the host's service record) for ``target``."""
        conn = self._conn(target)
        return conn, self._sdk_call('listing services', self._service, conn,
                                    target)

    def _service(self, conn, target):
        host, binary = self._host(target), self.options['binary']
        found = [s for s in conn.compute.services(host=host, binary=binary)
                 if s.host == host and s.binary == binary]
        if not found:
            raise base.FenceError('Nova has no %s service on host %s'
                                  % (binary, host))
        return found[0]

    def _conn(self, target):
        if target.cloud is None:
            raise base.FenceError('no OpenStack connection for %s (the '
                                  'healer passes one when [cloud] is set)'
                                  % target.host)
        return target.cloud

    def _sdk_call(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except base.FenceError:
            raise
        except sdk_exceptions.HttpException as exc:
            raise _failed(what, getattr(exc, 'status_code', None),
                          self.scrub(exc))
        except sdk_exceptions.SDKException as exc:
            raise base.FenceError('Nova: %s failed: %s'
                                  % (what, self.scrub(exc)))
        except (ksa_exceptions.ConnectionError,
                ksa_exceptions.DiscoveryFailure) as exc:
            # nova-api restarting or cut
            raise NovaAway('Nova: %s failed: %s'
                           % (what, self.scrub(exceptions.first_line(exc))))
        except ksa_exceptions.HttpError as exc:
            # keystoneauth's own: the token request answered 500 by a
            # Keystone whose database restarts (chaos on the real tier)
            raise _failed(what, getattr(exc, 'http_status', None),
                          self.scrub(exceptions.first_line(exc)))

    def _while_away(self, func, target, timeout):
        """``func(target)`` again every :data:`AWAY_RETRY` s while Nova is
        away (:class:`NovaAway`), within ``timeout`` (the rung's): the
        fence is verified, and a service restarting under it must not
        leave Nova believing the compute up (evacuations would then wait
        for ``service_down_time``)."""
        start = time.monotonic()
        deadline = start + max(0.0, timeout - AWAY_RETRY)
        tries = 0
        while True:
            tries += 1
            try:
                result = func(target)
            except NovaAway as exc:
                if time.monotonic() + AWAY_RETRY <= deadline:
                    time.sleep(AWAY_RETRY)
                    continue
                return self.result(
                    False, duration=time.monotonic() - start,
                    error='%s: %s (asked %d times in %.1f s: Nova was '
                          'away)' % (self._label(target), exc, tries,
                                     time.monotonic() - start))
            if tries > 1:
                note = ' (asked %d times: Nova was away)' % tries
                if result.verified:
                    result.evidence += note
                else:
                    result.error = (result.error or '') + note
                result.duration = time.monotonic() - start
            return result

    def status(self, target):
        # Nova's opinion is not a power state.
        return base.PowerState.UNKNOWN

    def status_detail(self, target, timeout=None):
        """What a fence path check (``vmr fence test``, the leader's
        monitor) can prove of this post step without changing anything:
        Nova answers and knows the host's nova-compute.  Reported as Nova
        sees that compute (``on`` while it reports up, ``off`` when down);
        ``unknown`` with the reason when Nova cannot be asked."""
        try:
            _conn, svc = self._connected_service(target)
        except base.FenceError as exc:
            return base.PowerState.UNKNOWN, str(exc)
        return (base.PowerState.ON if svc.state == 'up'
                else base.PowerState.OFF), None

    def fence(self, target, timeout):
        return self._recorded(target, self._while_away, self._fence, target,
                              timeout)

    def unfence(self, target):
        """Un-force and re-enable, only once nova-compute runs again."""
        return self._recorded(target, self._unfence, target)

    @staticmethod
    def _recorded(target, func, *args):
        """``func(*args)`` with the request ids of its changing Nova calls
        in the result, for the recovery journal."""
        ids = []
        if target.cloud is None:
            return func(*args)
        with evidence.collect(target.cloud, ids):
            result = func(*args)
        result.request_ids = ids
        return result

    def _fence(self, target):
        start = time.monotonic()
        label = self._label(target)
        try:
            conn, svc = self._connected_service(target)
            steps, change = [], {}
            if not svc.is_forced_down:
                change['is_forced_down'] = True
                steps.append('forced down')
            else:
                steps.append('already forced down')
            if self.options['disable']:
                if svc.status != 'disabled':
                    # in the same request as forced_down, which Nova saves
                    # first: see the module docstring
                    change.update(status='disabled',
                                  disabled_reason=self.options['reason'])
                    steps.append("disabled ('%s')" % self.options['reason'])
                else:
                    steps.append('already disabled')
            if change:
                # Nova answers with the record it saved
                svc = self._sdk_call(
                    'force down' if 'is_forced_down' in change
                    else 'disable', conn.compute.update_service, svc,
                    **change)
        except NovaAway:
            raise               # asked again by _while_away
        except base.FenceError as exc:
            return self.result(False, duration=time.monotonic() - start,
                               error='%s: %s' % (label, exc))
        elapsed = time.monotonic() - start
        disabled_ok = (not self.options['disable']
                       or svc.status == 'disabled')
        evidence = '%s (id %s): %s; Nova reports forced_down=%s status=%s' % (
            label, svc.id, ', '.join(steps),
            str(bool(svc.is_forced_down)).lower(), svc.status)
        if svc.is_forced_down and disabled_ok:
            return self.result(True, evidence=evidence, duration=elapsed)
        return self.result(False, evidence=evidence, duration=elapsed,
                           error='%s: Nova does not report the change: '
                                 'forced_down=%s status=%s'
                                 % (label, svc.is_forced_down, svc.status))

    @staticmethod
    def _reported_back(svc, target):
        """Has nova-compute reported since the host vanished?

        A forced-down service always shows ``state: down``; its
        ``updated_at`` still moves when nova-compute reports, so a report
        newer than the fence (the host record's ``fenced_at``, or its
        ``state_since`` while its state is ``fenced``) and than
        ``absent_since`` proves the compute runs again.
        """
        if svc.state == 'up':
            return True
        record = target.record or {}
        fenced_since = (record.get('state_since')
                        if record.get('state') == 'fenced' else None)
        marks = [t for t in (record.get('fenced_at'), fenced_since,
                             target.absent_since) if t is not None]
        updated = _parse_time(svc.updated_at)
        return updated is not None and bool(marks) and \
            updated > max(float(t) for t in marks)

    def _unfence(self, target):
        start = time.monotonic()
        label = self._label(target)
        try:
            conn, svc = self._connected_service(target)
            steps = []
            if svc.is_forced_down:
                if not self._reported_back(svc, target):
                    return self.result(
                        False, duration=time.monotonic() - start,
                        error='%s has not reported since it was fenced '
                              '(state %s, last report %s): un-forcing now '
                              'would leave evacuated instances unreconciled; '
                              'retry after nova-compute restarts'
                              % (label, svc.state, svc.updated_at or 'never'))
                self._sdk_call('un-force', conn.compute.
                               update_service_forced_down, svc, svc.host,
                               svc.binary, False)
                steps.append('un-forced')
                svc = self._sdk_call('re-reading the service', self._service,
                                     conn, target)
            if svc.status == 'disabled':
                reason = svc.disabled_reason or ''
                if not reason.startswith(VMR_REASON_PREFIX):
                    steps.append("left disabled (operator's reason '%s')"
                                 % reason)
                elif svc.state != 'up':
                    return self.result(
                        False, duration=time.monotonic() - start,
                        error='%s: %s; not enabled yet: Nova reports it %s '
                              '(enabling a down service leaves the '
                              'COMPUTE_STATUS_DISABLED trait stuck)'
                              % (label, ', '.join(steps) or 'not forced down',
                                 svc.state))
                else:
                    self._sdk_call('enable', conn.compute.enable_service,
                                   svc, svc.host, svc.binary)
                    steps.append('enabled')
        except base.FenceError as exc:
            return self.result(False, duration=time.monotonic() - start,
                               error='%s: %s' % (label, exc))
        return self.result(True, duration=time.monotonic() - start,
                           power_state=base.PowerState.UNKNOWN,
                           evidence='%s: %s' % (label, ', '.join(steps)
                                                or 'nothing to undo'))
