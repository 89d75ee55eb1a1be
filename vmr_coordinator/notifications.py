"""Recovery events on the cloud's message bus (``[notifications]``).

The leader publishes what happens to a recovery the way OpenStack services
publish theirs: oslo.messaging notifications (``messagingv2`` envelope by
default) on ``[notifications] topics``, publisher ``vmr-coordinator.<host>``:

==================== ========= ===============================================
event type           priority  payload
==================== ========= ===============================================
vmr.host.failed      ERROR     host, reason, boot_id, recovery_id
vmr.recovery.start   INFO      recovery_id, host, trigger (its type and
                               subject), state
vmr.recovery.end     INFO      recovery_id, host, trigger, state (done /
                               failed), steps by state, seconds
vmr.step.failed      ERROR     recovery_id, host, server_id, server_name,
                               contract, action, error
==================== ========= ===============================================

The events come from the journal as the leader sees it each cycle
(:func:`journal_events`, pure): a record new since the last cycle starts a
recovery (and a ``host_down`` one says its host failed), a record that turned
done or failed ends one, a step that turned failed is a failed step.  A new
leader term starts from what the journal holds then without publishing it:
across a leader change an event may be lost, never sent twice by VMR.

The engine never waits for the bus: :meth:`Publisher.publish` puts the event
on a bounded queue and one thread sends it; a bus that is down costs a
logged, dropped event (oldest first), never a slower recovery.  Payloads
carry what the journal shows: no secrets, no credentials.
"""

import collections
import logging
import threading
import time

from vmr_common import exceptions
from vmr_common import faultlog

LOG = logging.getLogger(__name__)

HOST_FAILED = 'vmr.host.failed'
RECOVERY_START = 'vmr.recovery.start'
RECOVERY_END = 'vmr.recovery.end'
STEP_FAILED = 'vmr.step.failed'
#: event types published at ERROR priority (the rest at INFO)
ERRORS = (HOST_FAILED, STEP_FAILED)

#: seconds close() waits for queued events to go out
FLUSH_TIMEOUT = 5.0


class NullPublisher:
    """``[notifications] enabled = false``: nothing is published."""

    enabled = False

    def publish(self, event_type, payload):
        return False

    def close(self, timeout=0):
        pass


def problems(opts):
    """What keeps ``[notifications]`` (``opts``) from working, one sentence
    each (none when disabled); nothing is connected."""
    if not opts.enabled:
        return []
    try:
        _, transport = _transport(opts)
    except exceptions.ConfigError as exc:
        return [str(exc)]
    transport.cleanup()
    return []


def _transport(opts):
    """``(oslo_messaging, transport)`` for ``opts``; the transport connects
    only when it first sends."""
    try:
        import oslo_messaging
        from oslo_config import cfg
    except ImportError:
        raise exceptions.ConfigError(
            '[notifications] enabled = true needs oslo.messaging: pip install '
            'vmr[notifications] (or set enabled = false)') from None
    if not opts.transport_url:
        raise exceptions.ConfigError(
            '[notifications] enabled = true needs transport_url (e.g. '
            'rabbit://vmr:PASSWORD@rabbit.example.org:5672/)')
    # oslo.messaging's own options live on a private ConfigOpts: VMR's
    # configuration stays VMR's (its unknown-option check knows them all).
    private = cfg.ConfigOpts()
    private(args=[], default_config_files=[], default_config_dirs=[])
    try:
        return oslo_messaging, oslo_messaging.get_notification_transport(
            private, url=opts.transport_url)
    except oslo_messaging.InvalidTransportURL as exc:
        # the message would repeat the URL, password included
        raise exceptions.ConfigError(
            '[notifications] transport_url is not a valid oslo.messaging '
            'transport URL (%s); expected driver://user:password@host:port/'
            % type(exc).__name__) from None
    except Exception as exc:
        raise exceptions.ConfigError(
            '[notifications] transport_url: driver %r cannot be loaded (%s); '
            'use rabbit://...' % (opts.transport_url.split(':', 1)[0],
                                  type(exc).__name__)) from None


def _notifier(opts, member):
    """An oslo.messaging Notifier for ``opts`` ([notifications])."""
    oslo_messaging, transport = _transport(opts)
    # retry: a bus that is down costs a few attempts, never a hung sender
    return oslo_messaging.Notifier(
        transport, publisher_id='vmr-coordinator.%s' % member,
        driver=opts.driver, topics=list(opts.topics), retry=3)


class Publisher:
    """Sends recovery events from a queue, in a thread of its own."""

    enabled = True

    def __init__(self, notifier, queue_size=1000):
        self.notifier = notifier
        self.queue_size = queue_size
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False
        #: events handed to oslo.messaging (which logs, and does not raise,
        #: what the bus then refuses: "Could not send notification")
        self.sent = 0
        self.dropped = 0
        self.fault = faultlog.FaultLog(LOG, 'notifications: the message bus '
                                            'refused an event')
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='vmr-notifications')
        self._thread.start()

    @classmethod
    def from_conf(cls, conf, member):
        """The publisher ``conf`` asks for (a :class:`NullPublisher` when
        disabled); a :class:`~vmr_common.exceptions.ConfigError` names what
        is missing."""
        opts = conf.notifications
        if not opts.enabled:
            return NullPublisher()
        return cls(_notifier(opts, member), opts.queue_size)

    def publish(self, event_type, payload):
        """Queue one event; never blocks.  False when it was not queued
        (closed)."""
        with self._cond:
            if self._closed:
                return False
            if len(self._queue) >= self.queue_size:
                old_type, _ = self._queue.popleft()
                self.dropped += 1
                LOG.error('notifications: %d events wait for the message bus '
                          '([notifications] queue_size); dropped the oldest '
                          '(%s)', self.queue_size, old_type)
            self._queue.append((event_type, dict(payload)))
            self._cond.notify()
        return True

    def _run(self):
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                event_type, payload = self._queue.popleft()
                self._busy = True
            try:
                send = (self.notifier.error if event_type in ERRORS
                        else self.notifier.info)
                send({}, event_type, payload)
            except Exception as exc:  # any driver error: log, go on
                self.fault.report('%s not sent: %s' % (
                    event_type, type(exc).__name__))
            else:
                self.sent += 1
                self.fault.clear()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout=FLUSH_TIMEOUT):
        """Wait until every queued event was handed to the bus (or
        ``timeout`` passed); True when the queue is empty."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout=FLUSH_TIMEOUT):
        """Send what is queued (up to ``timeout``; not at all while the bus
        is known to be down), then stop."""
        deadline = time.monotonic() + (0 if self.fault.active else timeout)
        self.flush(timeout if not self.fault.active else 0)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        # the thread is a daemon: a sender stuck on a dead bus ends with us
        self._thread.join(max(0.0, deadline - time.monotonic()))


def recovery_payload(rec, **extra):
    """What every recovery event says about its record."""
    trigger = rec.get('trigger') or {}
    payload = {
        'recovery_id': rec.get('id'),
        'host': rec.get('host'),
        'trigger': {k: trigger[k] for k in (
            'type', 'host', 'server_id', 'reason') if trigger.get(k)},
        'state': rec.get('state'),
    }
    payload.update(extra)
    return payload


def end_payload(rec, now):
    """``vmr.recovery.end``: the record's outcome."""
    by_state = collections.Counter(
        s.get('state') for s in rec.get('steps') or [])
    return recovery_payload(rec, steps=dict(sorted(by_state.items())),
                            seconds=round(now - (rec.get('created_at') or
                                                 now), 3))


def step_failed_payload(rec, step):
    """``vmr.step.failed``: the step and its (scrubbed) error."""
    return recovery_payload(rec, **{
        'server_id': step.get('server_id'),
        'server_name': step.get('server_name'),
        'contract': step.get('contract'),
        'action': step.get('current') or step.get('action'),
        'error': step.get('error'),
    })


def _terminal(state):
    return state in ('done', 'failed')


def journal_events(previous, records, now):
    """``(events, seen)``: the events between the journal ``previous``
    (``seen`` of the last call: ``{rid: (state, step states)}``) and
    ``records`` (``{rid: record}``) -- ``(event type, payload)`` each, in
    record order -- and what to pass next time.  Pure."""
    events, seen = [], {}
    for rid, rec in sorted(records.items()):
        state = rec.get('state')
        steps = tuple(s.get('state') for s in rec.get('steps') or [])
        seen[rid] = (state, steps)
        before = previous.get(rid)
        if before is None:
            trigger = rec.get('trigger') or {}
            if trigger.get('type') == 'host_down':
                events.append((HOST_FAILED, {
                    'host': rec.get('host'), 'reason': trigger.get('reason'),
                    'boot_id': rec.get('boot_id'), 'recovery_id': rid}))
            events.append((RECOVERY_START, recovery_payload(rec)))
            before = (None, ())
        old_steps = before[1]
        for index, step in enumerate(rec.get('steps') or []):
            old = old_steps[index] if index < len(old_steps) else None
            if step.get('state') == 'failed' and old != 'failed':
                events.append((STEP_FAILED, step_failed_payload(rec, step)))
        if _terminal(state) and not _terminal(before[0]):
            events.append((RECOVERY_END, end_payload(rec, now)))
    return events, seen
