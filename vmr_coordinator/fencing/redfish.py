"""The ``redfish`` fencer: ``ComputerSystem.Reset`` ForceOff with sushy.

Proof: the system's ``PowerState`` is re-read until it is ``Off`` or the
rung's timeout expires.  sushy is an optional extra (``pip install
vmr[redfish]``); without it the fencer refuses to load with that hint.

Options: ``address`` (base URL, ``https://bmc.example`` or the lab's
``http://127.0.0.1:PORT``), ``username``, ``password``, ``system`` (system
id or path; default: the only/first system), ``verify`` (true, false or a
CA bundle path; default true), ``auth`` (``session``, ``basic`` or
``auto``; default ``auto``), ``poll_interval``.
"""

import logging
import time

from vmr_coordinator.fencing import base

LOG = logging.getLogger(__name__)

try:
    import sushy
    from sushy import auth as sushy_auth
    from sushy import exceptions as sushy_exceptions
except ImportError:
    sushy = None


class RedfishFencer(base.Fencer):
    """ForceOff through a Redfish BMC and poll until ``PowerState == Off``."""

    name = 'redfish'
    required_options = ('address', 'username', 'password')
    optional_options = {'system': None, 'verify': True, 'auth': 'auto',
                        'poll_interval': None}

    def __init__(self, options, conf):
        super().__init__(options, conf)
        if sushy is None:
            raise base.FenceConfigError(
                'the redfish fencer needs sushy: pip install vmr[redfish] '
                '(or pip install sushy)')
        address = str(self.options['address'])
        if not address.startswith(('http://', 'https://')):
            raise base.FenceConfigError(
                "option 'address' must be a URL like https://BMC (got %r)"
                % address)
        if self.options['auth'] not in ('auto', 'session', 'basic'):
            raise base.FenceConfigError(
                "option 'auth' must be auto, session or basic")

    @property
    def endpoint(self):
        """Base URL of the BMC (safe to show)."""
        return str(self.options['address']).rstrip('/')

    def _auth(self):
        cls = {'auto': sushy_auth.SessionOrBasicAuth,
               'session': sushy_auth.SessionAuth,
               'basic': sushy_auth.BasicAuth}[self.options['auth']]
        return cls(username=self.options['username'],
                   password=self.options['password'])

    def _connect(self, timeout, auth):
        return sushy.Sushy(
            self.endpoint, verify=self.options['verify'], auth=auth,
            # sushy retries 5xx answers 10 times, 3 s apart, by default:
            # far beyond a rung's budget.
            server_side_retries=1, server_side_retries_delay=0.1,
            read_timeout=max(1, int(timeout)),
            connect_timeout=max(1, int(timeout)))

    @staticmethod
    def _close(auth):
        try:
            auth.close()  # deletes the Redfish session, if one was opened
        except Exception as exc:  # ending the session is best effort
            LOG.debug('Redfish session close failed: %s', type(exc).__name__)

    def _system(self, root):
        system = self.options['system']
        if system:
            path = str(system)
            if not path.startswith('/'):
                path = '%s/%s' % (root.get_system_collection().path
                                  .rstrip('/'), path)
            return root.get_system(path)
        members = root.get_system_collection().get_members()
        if not members:
            raise base.FenceError('Redfish service %s lists no systems'
                                  % self.endpoint)
        return members[0]

    def _explain(self, exc):
        if sushy is not None and isinstance(exc, sushy_exceptions.AccessError):
            return ("Redfish %s rejected the credentials of user '%s' (check "
                    'username/password in the fence profile)'
                    % (self.endpoint, self.options['username']))
        if sushy is not None and isinstance(exc,
                                            sushy_exceptions.ConnectionError):
            return 'Redfish %s unreachable' % self.endpoint
        return 'Redfish %s: %s' % (self.endpoint, self.scrub(exc))

    def _reset_and_poll(self, reset_type, wanted, timeout):
        start = time.monotonic()
        # Stop polling a little before the hard deadline so a host that
        # stays on is reported as such, not as a BMC that went silent.
        deadline = start + timeout - base.report_reserve(timeout)
        interval = float(self.options['poll_interval']
                         or self.settings.poll_interval)

        def work():
            auth = self._auth()
            try:
                root = self._connect(timeout, auth)
                system = self._system(root)
                system.reset_system(reset_type)
                polls = 0
                while True:
                    system.refresh()
                    polls += 1
                    state = system.power_state
                    if state == wanted or time.monotonic() >= deadline:
                        return system.identity, state, polls
                    time.sleep(min(interval, max(0.0,
                                                 deadline - time.monotonic())))
            finally:
                self._close(auth)

        finished, value, error = base.call_with_deadline(
            work, timeout, name='vmr-redfish')
        elapsed = time.monotonic() - start
        if not finished:
            return None, 'Redfish %s: no answer within %.1f s' % (
                self.endpoint, timeout), elapsed
        if error is not None:
            if isinstance(error, base.FenceError):
                return None, str(error), elapsed
            return None, self._explain(error), elapsed
        return value, None, elapsed

    def status(self, target, timeout=None):
        timeout = timeout or self.settings.default_timeout

        def work():
            auth = self._auth()
            try:
                return self._system(self._connect(timeout, auth)).power_state
            finally:
                self._close(auth)

        finished, state, error = base.call_with_deadline(work, timeout)
        if not finished or error is not None:
            return base.PowerState.UNKNOWN
        return {sushy.PowerState.ON: base.PowerState.ON,
                sushy.PowerState.OFF: base.PowerState.OFF}.get(
                    state, base.PowerState.UNKNOWN)

    def _result(self, value, error, elapsed, action, wanted):
        if error:
            return self.result(False, duration=elapsed, error=error)
        identity, state, polls = value
        text = getattr(state, 'value', state)
        evidence = ('redfish %s system %s: %s, then %d poll%s: PowerState %s '
                    'after %.2f s' % (self.endpoint, identity, action, polls,
                                      '' if polls == 1 else 's', text,
                                      elapsed))
        power = {sushy.PowerState.ON: base.PowerState.ON,
                 sushy.PowerState.OFF: base.PowerState.OFF}.get(
                     state, base.PowerState.UNKNOWN)
        if state == wanted:
            return self.result(True, evidence=evidence, duration=elapsed,
                               power_state=power)
        return self.result(False, evidence=evidence, duration=elapsed,
                           power_state=power,
                           error='Redfish %s accepted %s but PowerState is '
                                 'still %s' % (self.endpoint, action, text))

    def fence(self, target, timeout):
        value, error, elapsed = self._reset_and_poll(
            sushy.ResetType.FORCE_OFF, sushy.PowerState.OFF, timeout)
        return self._result(value, error, elapsed, 'ForceOff',
                            sushy.PowerState.OFF)

    def unfence(self, target, timeout=None):
        timeout = timeout or self.settings.default_timeout
        value, error, elapsed = self._reset_and_poll(
            sushy.ResetType.ON, sushy.PowerState.ON, timeout)
        return self._result(value, error, elapsed, 'On', sushy.PowerState.ON)
