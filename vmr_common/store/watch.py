"""Watching a prefix without trusting the watch stream."""

import logging
import threading

from vmr_common import exceptions

LOG = logging.getLogger(__name__)


class Watcher(threading.Thread):
    """Calls ``on_change()`` whenever keys below a prefix change.

    It never trusts a watch stream: each wait is short-lived, errors lead to a
    retry after ``retry`` seconds and an ``on_change()`` so the owner re-reads
    everything (the state-based loop of DESIGN §3 is the source of truth;
    this only makes it react sooner).
    """

    def __init__(self, store, prefix, on_change, timeout=5.0, retry=1.0):
        super().__init__(name='vmr-watch %s' % prefix, daemon=True)
        self.store = store
        self.prefix = prefix
        self.on_change = on_change
        self.timeout = timeout
        self.retry = retry
        self._stop = threading.Event()

    def stop(self):
        self._stop.set()

    def run(self):
        revision = None
        while not self._stop.is_set():
            try:
                if revision is None:
                    revision = self.store.revision()
                changed = self.store.wait_for_change(self.prefix, revision,
                                                     self.timeout)
                if changed and not self._stop.is_set():
                    # Go on from the change itself: a change made while
                    # the owner reacts wakes it again (re-reading the
                    # revision here could skip it).
                    revision = changed
                    self.on_change()
            except exceptions.StoreError as exc:
                LOG.debug('watch on %s: %s; re-watching', self.prefix, exc)
                revision = None
                self._stop.wait(self.retry)
                if not self._stop.is_set():
                    self.on_change()
