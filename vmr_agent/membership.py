"""The agent's membership in the tooz group, kept honest.

tooz's etcd3gw driver refreshes a lease but never notices that its member
key is gone (a member stalled past its TTL never rejoins by itself), and a
fast restart meets its own stale key (``MemberAlreadyExist``).  This class
keeps the key's lease alive itself -- a keep-alive answering TTL 0 means the
lease and the key are gone -- reads the key every few beats, and repairs
both cases (FACTS.md).
"""

import logging
import urllib.parse

from etcd3gw import exceptions as etcd_exc
from tooz import coordination
import tooz

from vmr_common import exceptions
from vmr_common import grpclease
from vmr_common import store as store_mod
from vmr_common.keys import Keyspace

LOG = logging.getLogger(__name__)


def tooz_url(endpoint, ttl, timeout, conf_etcd=None):
    """The tooz ``etcd3+http(s)://`` URL for one etcd endpoint."""
    url = urllib.parse.urlparse(endpoint if '://' in endpoint
                                else 'http://' + endpoint)
    options = {'api_version': 'v3',
               'timeout': max(1, int(round(timeout))),
               'membership_timeout': max(2, int(round(ttl)))}
    if conf_etcd is not None:
        if conf_etcd.ca_file:
            options['ca_cert'] = conf_etcd.ca_file
        if conf_etcd.cert_file and conf_etcd.key_file:
            options['cert_cert'] = conf_etcd.cert_file
            options['cert_key'] = conf_etcd.key_file
    return 'etcd3+%s://%s:%d?%s' % (url.scheme, url.hostname,
                                    url.port or 2379,
                                    urllib.parse.urlencode(options))


class Membership:
    """Join, heartbeat and self-check of one agent in the agents group."""

    #: beats between two reads of our own key; in between, a lease that
    #: etcd still keeps alive proves the key (it is attached to it)
    CHECK_EVERY = 10

    def __init__(self, store, host, group, ttl, timeout, conf_etcd=None,
                 heart=None):
        self.store = store
        #: renews our lease (the gateway's keep-alive unless told otherwise)
        self.heart = heart or grpclease.Heart(store, 'gateway')
        self.host = host
        self.group = group.encode()
        self.ttl = ttl
        self.timeout = timeout
        self.conf_etcd = conf_etcd
        self.member_key = Keyspace.group(group) + host
        self.coordinator = None
        self.capabilities = {}
        self._endpoint_index = 0
        self.rejoins = 0
        self._lease = None       # the lease our member key is attached to
        self._beats = 0

    # -- lifecycle ------------------------------------------------------
    def _connect(self):
        endpoint = self.store.endpoints[self._endpoint_index %
                                        len(self.store.endpoints)]
        url = tooz_url(endpoint, self.ttl, self.timeout, self.conf_etcd)
        coordinator = coordination.get_coordinator(url, self.host.encode())
        # tooz's etcd3gw driver knows no etcd users: give its HTTP session
        # our TLS discipline and, with [etcd] username, an auth token
        # (refreshed by beat() when etcd forgets it, e.g. after a restart).
        self.store.authorize(coordinator.client)
        # The heart is ours: heartbeats come from the loop doing the work,
        # so a stuck agent stops heartbeating (DESIGN §7b).
        coordinator.start(start_heart=False)
        return coordinator

    def join(self, capabilities):
        """Join the group (creating it if needed) with ``capabilities``."""
        self.capabilities = dict(capabilities)
        if self.coordinator is None:
            self.coordinator = self._connect()
        try:
            self._call(self.coordinator.create_group, self.group)
        except coordination.GroupAlreadyExist:
            pass
        try:
            self._call(self.coordinator.join_group, self.group,
                       self.capabilities)
        except coordination.MemberAlreadyExist:
            # Our previous incarnation's key, on a lease that has not expired
            # yet: it is ours, so remove it and join with the new lease.
            LOG.info('membership: a stale member key of %s exists (fast '
                     'restart); replacing it', self.host)
            self.store.delete(self.member_key)
            self._call(self.coordinator.join_group, self.group,
                       self.capabilities)
        LOG.info('membership: %s joined group %s; lease keep-alives over %s',
                 self.host, self.group.decode(), self.heart.using)
        self._read_lease()

    def _read_lease(self):
        """Read our member key; remember its lease; False when it is gone."""
        kv = self.store.get(self.member_key)
        self._lease = kv.lease if kv is not None and kv.lease else None
        return kv is not None

    def beat(self, capabilities=None):
        """Refresh the lease and make sure our key still exists.

        Raises :class:`StoreError`/``tooz.ToozError`` when etcd cannot be
        reached; the caller counts that towards isolation.
        """
        if self.coordinator is None:
            self.join(capabilities or self.capabilities)
            return 'joined'
        # One etcd request per beat: keep our key's lease alive ourselves
        # (tooz's heartbeat refreshes the same lease) and read the key only
        # every CHECK_EVERY beats: a lease etcd keeps alive still holds it.
        # A lease that ran out (we stalled past the TTL) took the key.
        self._beats += 1
        if self._lease is not None:
            present = self.heart.keepalive(self._lease) > 0
            if present and self._beats % self.CHECK_EVERY == 0:
                present = self._read_lease()
        else:
            self._call(self.coordinator.heartbeat)
            present = self._read_lease()
        if not present:
            self.rejoins += 1
            LOG.warning('membership: my member key %s vanished (this agent '
                        'stalled longer than the TTL, or etcd lost the '
                        'lease); rejoining', self.member_key)
            # tooz replaces its expired lease on a heartbeat, then the key
            # goes on the new one.
            self._call(self.coordinator.heartbeat)
            self._call(self.coordinator.join_group, self.group,
                       capabilities or self.capabilities)
            if capabilities is not None:
                self.capabilities = dict(capabilities)
            self._read_lease()
            return 'rejoined'
        if capabilities is not None and capabilities != self.capabilities:
            self._call(self.coordinator.update_capabilities, self.group,
                       capabilities)
            self.capabilities = dict(capabilities)
            return 'updated'
        return 'ok'

    def _call(self, func, *args, coordinator=None):
        """Run a tooz call (``.get()`` on its result); when etcd forgot the
        session's auth token (etcd restarted), log in again and retry once.
        Lease keep-alives pass etcd without a token check, so a heartbeat
        alone would never notice; joins, updates and leaves would fail."""
        def run():
            result = func(*args)
            return result.get() if hasattr(result, 'get') else result
        try:
            return run()
        except (tooz.ToozError, etcd_exc.Etcd3Exception) as exc:
            if not (self.store.username and store_mod.token_expired(exc)):
                raise
        LOG.info('membership: etcd forgot our auth token (etcd restarted or '
                 'the token expired); logging in again')
        self.store.authorize((coordinator or self.coordinator).client)
        return run()

    def reconnect(self):
        """Drop the tooz connection and use the next etcd endpoint."""
        self._endpoint_index += 1
        self.close(leave=False)
        self._lease = None

    def close(self, leave=True):
        """Leave the group (on clean shutdown) and stop the coordinator."""
        self.heart.close()
        coordinator, self.coordinator = self.coordinator, None
        if coordinator is None:
            return
        if leave:
            try:
                self._call(coordinator.leave_group, self.group,
                           coordinator=coordinator)
                LOG.info('membership: %s left group %s', self.host,
                         self.group.decode())
            except (tooz.ToozError, exceptions.StoreError) as exc:
                LOG.warning('membership: could not leave the group: %s', exc)
        else:
            # stop() would try to leave over a connection that just failed.
            coordinator._joined_groups.clear()
        try:
            coordinator.stop()
        except tooz.ToozError:
            pass
