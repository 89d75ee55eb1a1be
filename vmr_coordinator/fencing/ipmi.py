"""The ``ipmi`` fencer: IPMI 2.0 (RMCP+) chassis power off with pyghmi.

Proof: after ``chassis power off`` the BMC's power status is polled every
``[fencing] poll_interval`` seconds until it reports ``off`` or the rung's
timeout expires.  pyghmi calls block (an unreachable BMC keeps a login
waiting for about a minute), so every exchange runs in a worker thread with
a deadline; the answer is always back within the timeout.

Options: ``address`` (BMC host or IP), ``username``, ``password``,
``port`` (default 623), ``kg`` (BMC key, optional), ``poll_interval``.
"""

import logging
import time

# bandit B415 (pyghmi imports) is justified: IPMI is what the BMCs speak.
# Operators prefer redfish (HTTPS) where the BMC offers it (doc/fencing).
from pyghmi.ipmi import command as ipmi_command  # nosec B415
from pyghmi.ipmi.private import session as ipmi_session  # nosec B415

from vmr_common import ipmi_locks  # noqa: F401 (no deadlock in pyghmi)
from vmr_coordinator.fencing import base

LOG = logging.getLogger(__name__)

_AUTH_ERRORS = ('incorrect password', 'unauthorized name',
                'unauthorized', 'invalid role', 'insufficient privilege')
_NO_ANSWER_ERRORS = ('timeout', 'session no longer connected',
                     'no response', 'unreachable')


class IpmiFencer(base.Fencer):
    """Power off through the host's BMC and poll until it reports off."""

    name = 'ipmi'
    required_options = ('address', 'username', 'password')
    optional_options = {'port': 623, 'kg': None, 'poll_interval': None}

    def __init__(self, options, conf):
        super().__init__(options, conf)
        try:
            self.options['port'] = int(self.options['port'])
        except (TypeError, ValueError):
            raise base.FenceConfigError("option 'port' must be a UDP port "
                                        'number')

    @property
    def endpoint(self):
        """``address:port`` of the BMC (safe to show)."""
        return '%s:%d' % (self.options['address'], self.options['port'])

    def _poll_interval(self):
        return float(self.options['poll_interval']
                     or self.settings.poll_interval)

    def _login(self):
        # pyghmi caches half-open sessions per BMC and hands a broken one
        # (from an earlier attempt that got no answer) to the next Command,
        # which then fails at once, blamed on a later stage: log in afresh.
        self._forget_sessions()
        try:
            return self._command()
        except AttributeError:
            # pyghmi 1.6 sometimes marks a failed login broken without a
            # reason ('Session' object has no attribute 'errormsg'), e.g.
            # while another login shares its socket.  Forget that session
            # and log in once more to learn the real reason.
            self._forget_sessions()
            return self._command()

    def _command(self):
        return ipmi_command.Command(
            bmc=self.options['address'], userid=self.options['username'],
            password=self.options['password'], port=self.options['port'],
            kg=self.options['kg'])

    def _forget_sessions(self, session=None):
        """Drop pyghmi's cached half-open sessions to this BMC."""
        cache = getattr(ipmi_session.Session, 'initting_sessions', None)
        if not isinstance(cache, dict):
            return
        for key, value in list(cache.items()):
            if session is not None:
                if value is session:
                    cache.pop(key, None)
            elif (key[0] == self.options['address']
                  and key[3] == self.options['port']):
                cache.pop(key, None)

    def _logout(self, cmd):
        session = cmd.ipmi_session
        try:
            session.logout()
        except Exception as exc:  # the fence is done; logout is best effort
            LOG.debug('BMC logout failed: %s', type(exc).__name__)
        # pyghmi 1.6 keeps a logged-out session in its "initting" cache and
        # hands it to the next Command for the same BMC and credentials,
        # which then fails ('<' between float and None).  Drop it so the
        # next fence logs in afresh.
        self._forget_sessions(session)

    def _explain(self, exc, timeout, stage, elapsed=None):
        """One sentence for an exception raised while talking to the BMC."""
        text = str(exc).lower()
        if text.strip() in ('', 'none'):
            # pyghmi gives up on a silent BMC with an exception that says
            # nothing (IpmiException(None)), after its own timeout.
            return 'BMC %s unreachable during %s (no answer; gave up after ' \
                '%.1f s)' % (self.endpoint, stage,
                             timeout if elapsed is None else elapsed)
        if any(s in text for s in _AUTH_ERRORS):
            return ("BMC %s rejected the credentials of user '%s' (check "
                    'username/password in the fence profile)'
                    % (self.endpoint, self.options['username']))
        if any(s in text for s in _NO_ANSWER_ERRORS):
            return 'BMC %s unreachable during %s (no answer within %.1f s)' \
                % (self.endpoint, stage, timeout)
        return 'BMC %s: %s failed: %s' % (self.endpoint, stage,
                                           self.scrub(exc))

    def _run(self, work, timeout, stages):
        """Run ``work(stages)`` with a deadline; map failures to sentences.

        ``stages`` is a one-item list the work updates ('login', 'power
        off', ...) so a timeout can say where the BMC stopped answering.
        Returns ``(value, error)``.
        """
        start = time.monotonic()
        finished, value, error = base.call_with_deadline(
            lambda: work(stages), timeout,
            name='vmr-ipmi-%s' % self.endpoint)
        if not finished:
            if stages[0] == 'login':
                return None, 'BMC %s unreachable after %.1f s (no answer ' \
                    'to login)' % (self.endpoint, timeout)
            return None, 'BMC %s stopped answering during %s (%.1f s ' \
                'timeout)' % (self.endpoint, stages[0], timeout)
        if error is not None:
            return None, self._explain(error, timeout, stages[0],
                                       time.monotonic() - start)
        return value, None

    def _set_and_poll(self, wanted, timeout):
        """Request power ``wanted`` then poll; returns the result pieces."""
        start = time.monotonic()
        # Stop polling a little before the hard deadline so a host that
        # stays on is reported as such, not as a BMC that went silent.
        deadline = start + timeout - base.report_reserve(timeout)
        interval = self._poll_interval()

        def work(stages):
            cmd = self._login()
            try:
                stages[0] = 'chassis power %s' % wanted
                cmd.set_power(wanted, wait=False)
                stages[0] = 'power status polling'
                polls = 0
                while True:
                    state = cmd.get_power()['powerstate']
                    polls += 1
                    if state == wanted:
                        return state, polls, time.monotonic() - start
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return state, polls, time.monotonic() - start
                    time.sleep(min(interval, remaining))
            finally:
                self._logout(cmd)

        value, error = self._run(work, timeout, ['login'])
        return value, error, time.monotonic() - start

    def status(self, target, timeout=None):
        """Power state reported by the BMC (UNKNOWN when it cannot tell)."""
        return self.status_detail(target, timeout)[0]

    def status_detail(self, target, timeout=None):
        """``(PowerState, why it is UNKNOWN or None)`` (vmr fence test)."""
        timeout = timeout or self.settings.default_timeout

        def work(stages):
            cmd = self._login()
            try:
                stages[0] = 'power status'
                return cmd.get_power()['powerstate']
            finally:
                self._logout(cmd)

        state, error = self._run(work, timeout, ['login'])
        return {'on': base.PowerState.ON, 'off': base.PowerState.OFF}.get(
            state, base.PowerState.UNKNOWN), error

    def fence(self, target, timeout):
        value, error, elapsed = self._set_and_poll('off', timeout)
        if error:
            return self.result(False, duration=elapsed, error=error)
        state, polls, when = value
        if state == 'off':
            return self.result(
                True, duration=elapsed, power_state=base.PowerState.OFF,
                evidence='ipmi %s: chassis power off, then %d poll%s: off '
                         'after %.2f s' % (self.endpoint, polls,
                                           '' if polls == 1 else 's', when))
        return self.result(
            False, duration=elapsed, power_state=base.PowerState.ON,
            error='BMC %s accepted chassis power off but still reports %s '
                  'after %d polls in %.1f s' % (self.endpoint, state, polls,
                                                when))

    def unfence(self, target, timeout=None):
        timeout = timeout or self.settings.default_timeout
        value, error, elapsed = self._set_and_poll('on', timeout)
        if error:
            return self.result(False, duration=elapsed, error=error)
        state, polls, when = value
        return self.result(
            state == 'on', duration=elapsed,
            power_state=base.PowerState.ON if state == 'on'
            else base.PowerState.OFF,
            evidence='ipmi %s: chassis power on, then %d polls: %s after '
                     '%.2f s' % (self.endpoint, polls, state, when),
            error=None if state == 'on' else 'BMC %s still reports %s'
            % (self.endpoint, state))
