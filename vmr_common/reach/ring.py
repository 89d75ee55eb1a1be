"""The neighbour ring: which live agents watch which host (pure).

Live agents in name order form a ring.  Every agent watches the ``count``
agents *before* it (:func:`watched_by`); so the agents that already watch a
host are the ``count`` agents *after* it (:func:`watchers_of`), and those
are the ones the leader asks to probe a suspect.  The two functions are
the same ring read in both directions: ``a in watchers_of(live, t, n)``
exactly when ``t in watched_by(live, a, n)``.  The ring spreads the work
evenly: each agent watches, and is asked about, a few neighbours.
"""

import bisect


def watchers_of(live, target, count):
    """The ``count`` names of sorted ``live`` after ``target``, wrapping
    (``target`` itself left out); nearest first."""
    if target in live:
        live = [name for name in live if name != target]
    if not live or count <= 0:
        return []
    start = bisect.bisect_right(live, target)
    return [live[(start + i) % len(live)]
            for i in range(min(count, len(live)))]


def watched_by(live, watcher, count):
    """The ``count`` names of sorted ``live`` before ``watcher``, wrapping
    (``watcher`` itself left out); nearest first."""
    if watcher in live:
        live = [name for name in live if name != watcher]
    if not live or count <= 0:
        return []
    start = bisect.bisect_left(live, watcher) - 1
    return [live[(start - i) % len(live)]
            for i in range(min(count, len(live)))]
