"""One lock for pyghmi's two global session locks: no deadlock between
IPMI sessions of one process.

pyghmi (1.6.19 here) guards its class-wide session tables with two
re-entrant locks and takes them in both orders: ``Session.send_payload``
holds ``KEEPALIVE_SESSIONS`` while ``_xmit_packet`` takes
``WAITING_SESSIONS``; ``Session.wait_for_rsp`` holds ``WAITING_SESSIONS``
while a timed-out session's ``_timedout`` sends again and takes
``KEEPALIVE_SESSIONS``.  Two sessions of one process -- the coordinator
fencing or checking several BMCs at once, one of them retransmitting --
can each hold one and wait for the other for ever; every later IPMI call in
that process then blocks on them too, and no host can be fenced over IPMI
again until the process restarts.  Seen on this project's CI: a run stuck
for good in the fencing tests, eight pyghmi threads waiting in
``util.protect``.

Both locks guard short updates of in-memory tables, so one re-entrant lock
in their place removes the inversion at a small cost in concurrency: with
a virtual BMC and its client in one process (the functional tests) the
last status read of a fence was measured to miss a 2 s rung timeout
under a loaded run, where it had not before.  :func:`merge` is idempotent
and applied on import by the ``ipmi`` fencer and the lab's virtual BMCs.
"""

# bandit B415 (pyghmi imports) is justified: IPMI is what the BMCs speak.
from pyghmi.ipmi.private import session as _session  # nosec B415


def merge():
    """Make pyghmi's ``KEEPALIVE_SESSIONS`` and ``WAITING_SESSIONS`` the
    same lock (call before any IPMI session exists); True when they are."""
    keepalive = getattr(_session, 'KEEPALIVE_SESSIONS', None)
    waiting = getattr(_session, 'WAITING_SESSIONS', None)
    if keepalive is None or waiting is None:
        return False        # another pyghmi: nothing of these to merge
    _session.WAITING_SESSIONS = keepalive
    return True


merge()
