"""The agent's membership in the agents group: kept honest, and unique.

The member key is ``<prefix>/<cluster>/groups/<group>/<host>`` in tooz's
layout (a bare group key, the member's msgpack capabilities on a lease of
TTL T), inside the cluster's keyspace so two VMR clusters on one etcd never
see each other's agents.  The agent writes it through the store itself
rather than through tooz: tooz's ``join_group`` checks that the member is
absent and then writes it in a second request, so two agents of the same
name both "join" and the second silently replaces the first.

Joining is one compare-and-swap that creates the key only when it is absent.
A key that exists is taken over only when it is this agent's own previous
incarnation -- the same boot id, i.e. the process restarted before its old
lease ran out -- and then only with a compare on the key's revision.  A key
held by another live agent (another boot id: a second machine with this
host name, a cloned image, or this machine rebooted within T of its last
beat) is never touched: the join is *refused*.  A refused agent reports
itself under ``duplicate_agents/<host>/<boot id>`` on its own lease, so
``vmr status`` names it, and tries again with back-off; it joins once the
other agent's lease expired.

Once joined, the agent keeps its lease alive itself (one request per beat:
a keep-alive answering TTL 0 means the lease and the key are gone) and
reads the key every few beats; a key that vanished (the agent stalled past
T, etcd lost the lease) is created again the same way (FACTS.md).
"""

import logging
import time

from tooz import utils as tooz_utils

from vmr_common import exceptions
from vmr_common import grpclease
from vmr_common.store import Compare, Op

LOG = logging.getLogger(__name__)

#: boot ids that identify nothing (both clones of an image read them)
NO_BOOT_ID = ('', 'unknown', None)


class Holder:
    """The agent that holds a member key: what a refused agent reports."""

    def __init__(self, kv):
        try:
            caps = kv.capabilities()
        except exceptions.CorruptRecord:
            caps = {}
        self.boot_id = caps.get('boot_id')
        self.addresses = caps.get('addresses') or {}
        self.version = caps.get('version')
        self.lease = kv.lease
        self.create_revision = kv.create_revision
        self.mod_revision = kv.mod_revision

    def describe(self):
        return {'boot_id': self.boot_id, 'addresses': self.addresses,
                'version': self.version}

    def __str__(self):
        addresses = ', '.join('%s=%s' % item for item in
                              sorted(self.addresses.items())) or 'none'
        return 'boot id %s, addresses %s' % (self.boot_id or 'unknown',
                                             addresses)


class Membership:
    """Join, heartbeat and self-check of one agent in the agents group."""

    #: beats between two reads of our own key; in between, a lease that
    #: etcd still keeps alive proves the key (it is attached to it)
    CHECK_EVERY = 10
    #: first and longest wait between two joins while refused, in seconds
    RETRY_FIRST = 1.0
    RETRY_MAX = 30.0

    def __init__(self, store, host, group, ttl, heart=None,
                 clock=time.monotonic):
        self.store = store
        #: renews our lease (the gateway's keep-alive unless told otherwise)
        self.heart = heart or grpclease.Heart(store, 'gateway')
        self.host = host
        self.group = group
        self.ttl = ttl
        self.clock = clock
        self.group_key = store.keys.group(group)
        self.member_key = store.keys.member(group, host)
        self.capabilities = {}
        self.joined = False
        self.rejoins = 0
        #: joins refused because another agent holds this host's name
        self.refusals = 0
        #: the :class:`Holder` of our name while we are refused, else None
        self.duplicate_of = None
        self._lease = None       # our lease: member key or refusal report
        self._beats = 0
        self._group_created = False
        self._retry_at = None
        self._retry_delay = self.RETRY_FIRST

    @property
    def boot_id(self):
        return self.capabilities.get('boot_id')

    # -- joining --------------------------------------------------------
    def _report_key(self):
        return self.store.keys.duplicate_agent(self.host,
                                               self.boot_id or 'unknown')

    def _grant(self):
        self._lease = self.store.grant(self.ttl)
        return self._lease

    def _previous_incarnation(self, holder):
        """True when ``holder`` is this agent before a restart: same boot
        id (a real one), so the same machine in the same boot."""
        return self.boot_id not in NO_BOOT_ID and \
            holder.boot_id == self.boot_id

    def join(self, capabilities):
        """Create our member key unless another agent holds the name;
        returns ``'joined'`` or ``'refused'``."""
        self.capabilities = dict(capabilities)
        if self._lease is None:
            self._grant()
        if not self._group_created:
            # tooz's group key (readers skip it); harmless when it exists
            self.store.create(self.group_key, self.group_key)
            self._group_created = True
        value = tooz_utils.dumps(self.capabilities)
        for _ in range(3):
            result = self.store.txn(
                [Compare.absent(self.member_key)],
                [Op.put(self.member_key, value, self._lease),
                 Op.delete(self._report_key())],
                [Op.get(self.member_key)])
            if result.succeeded:
                return self._joined()
            found = result.ranges()
            if not found or not found[0]:
                continue        # it vanished meanwhile: try again
            holder = Holder(found[0][0])
            if holder.lease and holder.lease == self._lease:
                return self._joined()
            if self._previous_incarnation(holder):
                LOG.info('membership: %s: the member key of my previous '
                         'incarnation (boot id %s) is still alive (fast '
                         'restart); replacing it', self.host, self.boot_id)
                replaced = self.store.txn(
                    [Compare.mod_revision(self.member_key,
                                          holder.mod_revision)],
                    [Op.put(self.member_key, value, self._lease),
                     Op.delete(self._report_key())])
                if replaced.succeeded:
                    return self._joined()
                continue
            return self._refused(holder)
        raise exceptions.StoreError('could not join as %s: %s keeps changing'
                                    % (self.host, self.member_key))

    def _joined(self):
        if self.duplicate_of is not None:
            LOG.warning('membership: %s joined group %s: the other agent '
                        'that held this name (%s) is gone', self.host,
                        self.group, self.duplicate_of)
        else:
            LOG.info('membership: %s joined group %s; lease keep-alives '
                     'over %s', self.host, self.group, self.heart.using)
        self.joined = True
        self.duplicate_of = None
        self._retry_at = None
        self._retry_delay = self.RETRY_FIRST
        return 'joined'

    def _refused(self, holder):
        self.joined = False
        self.refusals += 1
        first = self.duplicate_of is None
        self.duplicate_of = holder
        if first:
            self._retry_delay = self.RETRY_FIRST
        self._retry_at = self.clock() + self._retry_delay
        LOG.error('membership: REFUSED to join as %s: another live agent '
                  'holds this host name (%s); this agent (boot id %s) is a '
                  'duplicate -- two machines share the name (a cloned '
                  'image?). Give this one its own [DEFAULT] host. Trying '
                  'again in %.0f s; it joins only once the other is gone.',
                  self.host, holder, self.boot_id or 'unknown',
                  self._retry_delay)
        self._retry_delay = min(self._retry_delay * 2, self.retry_max)
        self._report(holder)
        return 'refused'

    @property
    def retry_max(self):
        """Longest wait between two joins while refused: a few TTLs."""
        return max(self.RETRY_FIRST, min(self.RETRY_MAX, 4 * self.ttl))

    def _report(self, holder):
        """Write (or refresh) our refusal for ``vmr status``, on our lease:
        it disappears within T once this agent stops or joins."""
        self.store.put(self._report_key(), {
            'host': self.host,
            'boot_id': self.boot_id,
            'addresses': self.capabilities.get('addresses') or {},
            'version': self.capabilities.get('version'),
            'holder': holder.describe(),
            'refused_at': time.time(),
            'refusals': self.refusals,
        }, lease=self._lease)

    # -- beating --------------------------------------------------------
    def _read_key(self):
        """Our member key still exists on our lease."""
        kv = self.store.get(self.member_key)
        return kv is not None and kv.lease == self._lease

    def beat(self, capabilities=None):
        """Refresh the lease and make sure our key still exists.

        Returns ``joined``, ``rejoined``, ``updated``, ``ok`` or
        ``refused`` (another agent holds our name).  Raises
        :class:`StoreError` when etcd cannot be reached; the caller counts
        that towards isolation.
        """
        if capabilities is None:
            capabilities = self.capabilities
        if self._lease is None:
            return self.join(capabilities)
        self._beats += 1
        # One etcd request per beat: keep our lease alive and read the key
        # only every CHECK_EVERY beats: a lease etcd keeps alive still
        # holds it.  A lease that ran out (we stalled past T) took the key.
        alive = self.heart.keepalive(self._lease) > 0
        if not alive:
            self._lease = None
            self._grant()
        if not self.joined:
            if self._retry_at is not None and self.clock() < self._retry_at:
                if not alive and self.duplicate_of is not None:
                    self._report(self.duplicate_of)
                return 'refused'
            return self.join(capabilities)
        present = alive
        if present and self._beats % self.CHECK_EVERY == 0:
            present = self._read_key()
        if not present:
            self.rejoins += 1
            self.joined = False
            LOG.warning('membership: my member key %s vanished (this agent '
                        'stalled longer than the TTL, or etcd lost the '
                        'lease); rejoining', self.member_key)
            outcome = self.join(capabilities)
            return 'rejoined' if outcome == 'joined' else outcome
        if capabilities != self.capabilities:
            value = tooz_utils.dumps(capabilities)
            result = self.store.txn(
                [Compare.lease(self.member_key, self._lease)],
                [Op.put(self.member_key, value, self._lease)])
            if not result.succeeded:
                self.joined = False
                return self.join(capabilities)
            self.capabilities = dict(capabilities)
            return 'updated'
        return 'ok'

    def close(self, leave=True):
        """Leave the group (on clean shutdown: revoking our lease deletes
        our member key and any refusal report at once)."""
        self.heart.close()
        lease, self._lease = self._lease, None
        self.joined = False
        if not leave or lease is None:
            return
        try:
            self.store.revoke(lease)
            LOG.info('membership: %s left group %s', self.host, self.group)
        except exceptions.StoreError as exc:
            LOG.warning('membership: could not leave the group: %s', exc)
