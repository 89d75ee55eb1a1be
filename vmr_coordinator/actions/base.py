"""Actions: what a contract does to one server (``vmr.actions`` plugins).

Every action is idempotent: ``run`` first checks whether its goal already
holds (a new leader may resume a half-done step) and only then acts, then
waits for the goal with a deadline.  Errors worth retrying (HTTP 409,
timeouts) raise :class:`RetryableError`; a cloud that cannot do it now (an
API away, 5xx, 429) raises :class:`NotNow`, asked again without spending
a retry; others :class:`ActionError`.
"""

import dataclasses
import time

from keystoneauth1 import exceptions as ksa_exceptions
import openstack

from vmr_common import exceptions
from vmr_coordinator import plugins

NAMESPACE = plugins.ACTIONS
#: the statuses of an API that is not there right now (a proxy in front of
#: a restarting service), as a refused connection is
AWAY_STATUS = (502, 503, 504)
#: the API's own error and its "too many requests": not now, rather than
#: a spent retry (:class:`ServerError`)
SERVER_ERROR_STATUS = (429, 500)
#: the other errors that may pass (a conflict with a task under way): a
#: spent retry (:class:`Transient`)
RETRYABLE_STATUS = (409,)


class ActionError(exceptions.VmrError):
    """The action failed for good (the contract's on_failure is next)."""


class RetryableError(ActionError):
    """The action failed for a reason that may pass (409, 503, timeout)."""


class NotNow(RetryableError):
    """The cloud cannot do it now: the engine tries the same attempt again
    after ``retry_in`` seconds (None: its default) until the step's
    timeout, instead of spending one of the contract's retries on it."""

    def __init__(self, message, retry_in=None):
        super().__init__(message)
        self.retry_in = retry_in


class Transient(RetryableError):
    """An API answered an error that may pass on its own (409, and 429 or
    500 as :class:`ServerError`: e.g. nova-api's 500 while Neutron, which
    it asks for a server's security groups, restarts).  A
    :class:`RetryableError` for whoever asked for a change;
    :meth:`Action.wait` polls through it, as through :class:`ServiceAway`:
    what was asked of the cloud goes on whether or not a read of its
    progress got an answer."""


class ServerError(Transient, NotNow):
    """An API answered 500 (its own error: nova-api while its database,
    Keystone or Neutron restart) or 429 (too many requests).  Polled
    through by :meth:`Action.wait`, as a :class:`Transient`; to the call
    that asks for a change it is a :class:`NotNow`: the same attempt again
    a little later, for up to the step's timeout, spending none of the
    contract's retries.  Seen on the real tier: nova-api answered 500 to
    two evacuations in a row while MariaDB restarted, and two of the
    contract's three retries went on it.  An error that stays ends the
    step at its timeout, saying so."""


class ServiceAway(NotNow):
    """The cloud's API did not answer (connection refused or cut, 502, 503,
    504): a service restarting or failing over.  A :class:`NotNow`, and
    :meth:`Action.wait` keeps waiting through it."""


@dataclasses.dataclass
class ActionContext:
    """What an action needs: the cloud, the server, the event, a deadline."""

    conn: object
    server: object            # contracts.ServerFacts
    host: str                 # the failed (source) host
    event: dict
    deadline: float           # time.monotonic() deadline
    poll: float = 0.2
    #: the engine's shared reader of waited servers
    #: (:class:`vmr_coordinator.actions.reads.ServerReads`); None: each
    #: wait reads its server alone
    reads: object = None

    def remaining(self):
        return self.deadline - time.monotonic()

    def read_server(self, compute, sid):
        """``sid``'s server for a wait: through the shared reader when the
        engine has one (one list call for every step waiting at once)."""
        if self.reads is not None:
            return self.reads.get(compute, sid)
        return call(compute.get_server, sid)


class Action:
    """Base of every action plugin."""

    name = None
    #: True if the source host must be verified off first (DESIGN §5)
    needs_fence = True

    def __init__(self, params=None):
        self.params = dict(params or {})

    def run(self, ctx):
        """Reach the goal for ``ctx.server``; returns a short result text."""
        raise NotImplementedError

    # helpers
    def wait(self, ctx, predicate, what):
        """Poll ``predicate`` until it returns something true, or until the
        deadline (:class:`RetryableError`).  An API away for a while
        (:class:`ServiceAway`) or answering an error that may pass
        (:class:`Transient`) does not end the wait: what was asked of the
        cloud goes on without it.  Seen on the real tier: nova-api answered
        500 to the reads of an evacuation it had accepted while Neutron
        restarted, and each 500 spent one of the step's retries."""
        away = None
        while True:
            try:
                value, away = predicate(), None
            except (ServiceAway, Transient) as exc:
                value, away = None, exc
            if value:
                return value
            if ctx.remaining() <= 0:
                raise RetryableError('timed out waiting for %s%s' % (
                    what, ' (%s)' % away if away else ''))
            time.sleep(min(ctx.poll, max(0.01, ctx.remaining())))


def call(func, *args, **kwargs):
    """Call openstacksdk, mapping HTTP errors to retryable or final ones."""
    try:
        return func(*args, **kwargs)
    except openstack.exceptions.HttpException as exc:
        status = getattr(exc, 'status_code', None)
        text = (getattr(exc, 'details', None) or str(exc)).splitlines()[0]
        if status in AWAY_STATUS:
            raise ServiceAway('HTTP %s: %s' % (status, text))
        if status in SERVER_ERROR_STATUS:
            raise ServerError('HTTP %s: %s' % (status, text))
        if status in RETRYABLE_STATUS:
            raise Transient('HTTP %s: %s' % (status, text))
        raise ActionError('HTTP %s: %s' % (status, text))
    except openstack.exceptions.SDKException as exc:
        raise RetryableError(str(exc).splitlines()[0])
    except (ksa_exceptions.ConnectionError,
            ksa_exceptions.DiscoveryFailure) as exc:
        # refused or cut; or, on a new connection, no version document
        raise ServiceAway(exceptions.first_line(exc))


def load_action(name, params=None):
    """Instantiate the ``vmr.actions`` plugin ``name`` with ``params``."""
    try:
        cls = plugins.plugin_class(NAMESPACE, name)
    except plugins.PluginError as exc:
        raise ActionError(str(exc))
    return cls(params or {})
