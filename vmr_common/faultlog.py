"""Log a lasting fault at ERROR, again with back-off while it lasts.

Logging a fault once hides it under later lines (an operator who looks an
hour later sees nothing); logging it every cycle floods the log.  A
:class:`FaultLog` logs the first report at once, repeats it after
``initial``, ``initial * factor``... seconds (capped at ``maximum``) with
how long it has lasted, and logs the recovery at INFO.
"""

import time


class FaultLog:
    """One kind of fault (e.g. "etcd unavailable") of one component."""

    def __init__(self, logger, what, initial=10.0, factor=2.0, maximum=300.0,
                 clock=time.monotonic):
        self.logger = logger
        self.what = what
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
        self.clock = clock
        self.since = None
        self._next = None
        self._delay = initial
        self._text = None

    @property
    def active(self):
        return self.since is not None

    def report(self, text):
        """The fault holds now; logs at ERROR when it is new, changed, or
        its back-off expired.  Returns True when it logged."""
        now = self.clock()
        if self.since is None or text != self._text:
            if self.since is None:
                self.since = now
            self._text = text
            self._delay = self.initial
            self._next = now + self._delay
            self.logger.error('%s: %s', self.what, text)
            return True
        if now >= self._next:
            self._delay = min(self._delay * self.factor, self.maximum)
            self._next = now + self._delay
            self.logger.error('%s for %.0f s now: %s', self.what,
                              now - self.since, text)
            return True
        return False

    def clear(self):
        """The fault is over; logs how long it lasted at INFO (once)."""
        if self.since is None:
            return False
        self.logger.info('%s: over after %.1f s', self.what,
                         self.clock() - self.since)
        self.since = self._text = self._next = None
        return True
