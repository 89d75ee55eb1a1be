"""Leader election on one etcd key, the Patroni way (DESIGN §4).

The leader key is created only when absent and carries a lease of TTL L; its
``create_revision`` is the *fencing token* every leader write is guarded
with.  The leader refreshes every L/3 and steps down by its **own clock** at
``last_refresh_start + L - margin``: the refresh start is taken before the
request leaves, so the local deadline always falls before etcd's.  tooz's
etcd3gw driver has no election and its locks can be held twice; neither is
used here.
"""

import logging
import threading
import time

from vmr_common import exceptions
from vmr_common.store import Compare, LeaderGuard, Op

LOG = logging.getLogger(__name__)


class Election:
    """One coordinator's view of, and bid for, leadership.

    ``step(now)`` is called every healer period; it campaigns, refreshes or
    steps down and returns True while this member may act as leader.
    """

    def __init__(self, store, member, ttl, margin, clock=time.monotonic):
        self.store = store
        self.member = member
        self.ttl = float(ttl)
        self.margin = float(margin)
        self.clock = clock
        self.key = store.keys.leader
        self.lease = None
        self.token = None
        self.valid_until = 0.0
        self.last_refresh = 0.0
        self.leader_seen = None   # member id of the leader as last read
        self.changes = 0
        self._lock = threading.RLock()
        self._timer = None
        #: no campaign before this (own clock): a leader that handed
        #: leadership over leaves the key to the others for a while
        self.hold_until = 0.0

    # -- state ----------------------------------------------------------
    @property
    def guard(self):
        """The :class:`LeaderGuard` of the current term (None if standby)."""
        if self.token is None:
            return None
        return LeaderGuard(self.key, self.member, self.token)

    def is_leader(self, now=None):
        """True only while our own clock says the term cannot have ended."""
        now = self.clock() if now is None else now
        return self.token is not None and now < self.valid_until

    # -- the cycle ------------------------------------------------------
    def step(self, now=None):
        """Campaign, refresh or step down; returns ``is_leader()``."""
        now = self.clock() if now is None else now
        if self.token is not None:
            if now >= self.valid_until:
                self.step_down('my term ran out by my own clock before I '
                               'could refresh it')
            elif now - self.last_refresh >= self.ttl / 3:
                self._refresh()
        if self.token is None:
            self._campaign()
        return self.is_leader()

    def _campaign(self):
        start = self.clock()
        current = self.store.get(self.key)
        if current is not None:
            self.leader_seen = current.value
            return False
        if start < self.hold_until:
            self.leader_seen = None     # handed over: not yet taken
            return False
        lease = self.store.grant(self.ttl)
        result = self.store.txn([Compare.absent(self.key)],
                                [Op.put(self.key, self.member, lease),
                                 Op.get(self.key)],
                                [Op.get(self.key)])
        ranges = result.ranges()
        holder = ranges[0][0] if ranges and ranges[0] else None
        if not result.succeeded or holder is None:
            self.store.revoke(lease)
            self.leader_seen = holder.value if holder else None
            return False
        with self._lock:
            self.lease = lease
            self.token = holder.create_revision
            self.last_refresh = start
            self.valid_until = start + self.ttl - self.margin
        self._arm_deadline()
        self.leader_seen = self.member
        self.changes += 1
        LOG.info('election: %s is now the leader (token %d, lease TTL %.1f s)',
                 self.member, self.token, self.ttl)
        return True

    def _refresh(self):
        start = self.clock()
        try:
            remaining = self.store.keepalive(self.lease)
            holder = self.store.get(self.key) if remaining > 0 else None
        except exceptions.StoreError as exc:
            LOG.warning('election: could not refresh my leader lease: %s '
                        '(I step down at my deadline in %.1f s)', exc,
                        self.valid_until - self.clock())
            return
        if remaining <= 0 or holder is None or holder.value != self.member \
                or holder.create_revision != self.token:
            self.step_down('my leader key is gone or belongs to %s'
                           % (holder.value if holder else 'nobody'))
            return
        with self._lock:
            if self.token is None:
                return   # the deadline passed while we were refreshing
            self.last_refresh = start
            self.valid_until = start + self.ttl - self.margin
        self._arm_deadline()

    def _arm_deadline(self):
        """Step down exactly at the deadline, even while the loop is stuck
        in a slow etcd call (a partitioned leader's requests hang for the
        whole client timeout)."""
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, self.valid_until - self.clock())
        self._timer = threading.Timer(delay, self._deadline_passed)
        self._timer.daemon = True
        self._timer.start()

    def _deadline_passed(self):
        with self._lock:
            if self.token is not None and self.clock() >= self.valid_until:
                self.step_down('my term ran out by my own clock before I '
                               'could refresh it')

    def step_down(self, reason):
        """Stop acting as leader at once (the key expires by itself)."""
        with self._lock:
            if self.token is None:
                return
            LOG.warning('election: %s steps down: %s', self.member, reason)
            self.token = None
            self.lease = None
            self.valid_until = 0.0
            self.changes += 1
            if self._timer is not None and \
                    self._timer is not threading.current_thread():
                self._timer.cancel()

    def resign(self, hold=0.0):
        """Give leadership up now (clean shutdown, or a hand-over): delete
        our key only; campaign again no sooner than ``hold`` seconds."""
        guard, lease = self.guard, self.lease
        self.step_down('resigning')
        self.hold_until = self.clock() + hold
        if guard is None:
            return
        try:
            self.store.txn(guard.compare(), [Op.delete(self.key)])
            if lease:
                self.store.revoke(lease)
        except exceptions.StoreError as exc:
            LOG.warning('election: could not release the leader key: %s; '
                        'it expires within %.1f s', exc, self.ttl)
