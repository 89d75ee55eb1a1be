"""One list call for every step that waits on its server.

A step waiting for Nova (an evacuation, a start) reads its server again
every ``ActionContext.poll`` seconds.  Ten steps at once were fifty
``GET /servers/{id}`` a second on nova-api, competing with the
evacuations they waited for: on the real tier VMR's evacuations took
longer, counted from its fence, than Nova's own from its force-down.  The
engine's steps share one :class:`ServerReads` instead: a step asking for
its server joins the next list call that starts after it asked, and one
``GET /servers/detail?changes-since=...`` answers every step waiting.

Why every waited server is in that answer: Nova's ``updated`` of a server
never goes back, and the list asks for the servers updated since the
earliest ``updated`` seen of any server still waited on.  A server missing
from it anyway (deleted: Nova may leave it out) is read on its own, as is
a server asked for the first time (that read gives its ``updated``).  A
cloud that refuses the list (a policy without ``all_tenants``) is read
one server at a time, as before.

A list that fails on the cloud's side (a 500, nova-api away) costs no
wait anything: each of its waiters reads its own server instead, so only
an error of that read reaches the step.  Three such failures in a row and
the waits read one server at a time from then on: a real nova-api asks
Neutron for the ports of every listed server in one URL, and a Neutron
whose front end caps the request line (gunicorn's default 4094 bytes,
about 85 servers) fails every long list while single reads work.
"""

import logging
import threading
import time

from vmr_coordinator.actions import base

LOG = logging.getLogger(__name__)

#: seconds after its last read a server is no longer waited on: its
#: ``updated`` then no longer holds the list's ``changes-since`` back.
#: Waits read every ``ActionContext.poll`` (0.2 s); a server read again
#: later is read alone first.  (At 30 s, a lab recovery of 100 servers
#: listed every server it had healed at each poll: 20 % slower.)
FORGET_AFTER = 2.0

#: list calls failing on the cloud's side in a row after which the waits
#: read one server at a time
MAX_LIST_FAILURES = 3


class ServerReads:
    """Coalesces the waits' server reads into shared list calls."""

    def __init__(self, forget_after=FORGET_AFTER, clock=time.monotonic):
        self.forget_after = forget_after
        self.clock = clock
        self._cond = threading.Condition()
        self._waited = {}       # server id -> [updated, last asked]
        self._started = 0       # list calls started ...
        self._finished = 0      # ... and finished
        self._running = False
        self._found = {}        # server id -> server, of the last list
        self._failed = False    # the last list failed on the cloud's side
        self._failures = 0      # ... so many times in a row
        #: False once the cloud refused the list: one read per server
        self.listing = True
        #: list calls made (for tests and benchmarks)
        self.lists = 0

    def get(self, compute, sid):
        """``sid``'s server as Nova has it now: read after this call began."""
        with self._cond:
            waited = self._waited.get(sid)
            if waited is not None:
                waited[1] = self.clock()
        if waited is None or not self.listing:
            return self._read_one(compute, sid)
        if self._join_list(compute):
            with self._cond:
                server = None if self._failed else self._found.get(sid)
            # a deleted server is listed as DELETED: read alone, it is the
            # 404 the step expects; so is every server of a failed list
            if server is not None and server.status != 'DELETED':
                return server
        return self._read_one(compute, sid)

    def _read_one(self, compute, sid):
        server = base.call(compute.get_server, sid)
        updated = getattr(server, 'updated_at', None)
        if updated and self.listing:
            with self._cond:
                self._waited[server.id] = [updated, self.clock()]
        return server

    def _join_list(self, compute):
        """Wait for a list call that starts after now (making it, when
        none runs); False when the cloud refused to list."""
        with self._cond:
            need = self._started + 1
            while self._finished < need:
                if not self._running:
                    self._running = True
                    self._started += 1
                    mine = self._started
                    since = self._since()
                    break
                self._cond.wait()
            else:
                return self.listing
        found, failed = {}, False
        try:
            found = {s.id: s for s in base.call(lambda: list(
                compute.servers(details=True, all_projects=True,
                                changes_since=since)))}
        except base.RetryableError as exc:
            # 500, 503, cut: the cloud's own trouble; this list's waiters
            # read alone, and only a run of them stops listing
            failed = True
            self._failures += 1
            if self._failures >= MAX_LIST_FAILURES:
                LOG.warning('waits read servers one by one from now on: '
                            'Nova failed %d lists of servers in a row, the '
                            'last with %s (a front end of nova-api or '
                            'Neutron refusing long URLs? see '
                            'doc/troubleshooting.rst)', self._failures, exc)
                self.listing = False
        except base.ActionError as exc:
            # 400/403: this cloud (or our role) cannot list this way
            LOG.warning('waits read servers one by one from now on: Nova '
                        'refused to list servers changed since %s (%s)',
                        since, exc)
            self.listing = False
        else:
            self._failures = 0
        with self._cond:
            self.lists += 1
            self._found, self._failed = found, failed
            for sid, server in found.items():
                waited = self._waited.get(sid)
                updated = getattr(server, 'updated_at', None)
                if waited is not None and updated:
                    waited[0] = max(waited[0], updated)
            self._finished = mine
            self._running = False
            self._cond.notify_all()
        return self.listing

    def _since(self):
        """The earliest ``updated`` of the servers still waited on (under
        the lock); forgets the ones nobody asked for lately."""
        now = self.clock()
        for sid, (_, asked) in list(self._waited.items()):
            if now - asked > self.forget_after:
                del self._waited[sid]
        return min(updated for updated, _ in self._waited.values())
