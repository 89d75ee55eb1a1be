"""The lab's timeline: what happened, in order, for tests and demo output."""

import threading
import time


class EventLog:
    """An append-only, thread-safe list of lab events.

    Each event is a dict with a sequence number ``seq``, a wall-clock time
    ``time``, a ``type`` (``power``, ``server_running``, ``evacuate`` ...)
    and free-form fields (``host``, ``server``, ``detail`` ...).
    """

    def __init__(self, limit=100000):
        self._events = []
        self._lock = threading.Lock()
        self._seq = 0
        self._limit = limit

    def add(self, type_, **fields):
        """Record an event of type ``type_``; return it."""
        with self._lock:
            self._seq += 1
            event = dict(fields, seq=self._seq, time=time.time(), type=type_)
            self._events.append(event)
            if len(self._events) > self._limit:
                # Keep memory bounded in long demos; sequence numbers tell
                # readers that something was dropped.
                del self._events[:len(self._events) - self._limit]
            return event

    def last_seq(self):
        """The sequence number of the newest event (0 before any)."""
        with self._lock:
            return self._seq

    def since(self, seq=0, type_=None):
        """Events with a sequence number above ``seq``, optionally by type."""
        with self._lock:
            return [dict(e) for e in self._events
                    if e['seq'] > seq and (type_ is None or e['type'] == type_)]
