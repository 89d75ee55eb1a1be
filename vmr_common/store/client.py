"""The etcd client: endpoints with fail-over, authentication, TLS, the
key-value and lease calls, and the long-poll that waits for a change."""

import json
import logging
import threading
import time
import urllib.parse

import etcd3gw
from etcd3gw import exceptions as etcd_exc
import requests

from vmr_common import exceptions
from vmr_common.keys import Keyspace
from vmr_common.store.errors import auth_reason, hint, short, token_expired
from vmr_common.store.wire import (Compare, KeyValue, Op,
                                   TxnResult, b64, range_end)

LOG = logging.getLogger(__name__)


class Store:
    """Client of one VMR cluster's keys in etcd, with endpoint fail-over.

    All methods raise :class:`StoreUnavailable` with a sentence naming the
    endpoints when no endpoint can serve the request.
    """

    def __init__(self, endpoints, prefix='/vmr', cluster='default',
                 timeout=3.0, ca_file=None, cert_file=None, key_file=None,
                 username=None, password=None):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not endpoints:
            raise exceptions.ConfigError(
                '[etcd] endpoints is empty: give at least one etcd client '
                'URL, e.g. http://127.0.0.1:2379')
        self.endpoints = list(endpoints)
        self.keys = Keyspace(prefix, cluster)
        #: snapshots also read agents at the old membership key (tooz's
        #: global one): set by a coordinator whose etcd role can read it
        self.legacy_membership = False
        self.timeout = timeout
        self._tls = (ca_file, cert_file, key_file)
        self._username = username
        self._password = password
        self._lock = threading.Lock()
        self._current = 0
        self._clients = {}
        for endpoint in self.endpoints:
            self._parse(endpoint)  # fail early on a malformed URL

    @classmethod
    def from_conf(cls, conf):
        e = conf.etcd
        return cls(e.endpoints, prefix=e.prefix, cluster=e.cluster,
                   timeout=e.timeout, ca_file=e.ca_file, cert_file=e.cert_file,
                   key_file=e.key_file, username=e.username,
                   password=e.password)

    # -- connection handling ------------------------------------------
    @staticmethod
    def _parse(endpoint):
        url = urllib.parse.urlparse(endpoint if '://' in endpoint
                                    else 'http://' + endpoint)
        if url.scheme not in ('http', 'https') or not url.hostname:
            raise exceptions.ConfigError(
                '[etcd] endpoints: %r is not an etcd client URL; use '
                'http://HOST:PORT or https://HOST:PORT' % endpoint)
        return url.scheme, url.hostname, url.port or 2379

    def _client(self, endpoint):
        client = self._clients.get(endpoint)
        if client is None:
            scheme, host, port = self._parse(endpoint)
            ca_file, cert_file, key_file = self._tls
            client = etcd3gw.Etcd3Client(
                host=host, port=port, protocol=scheme, ca_cert=ca_file,
                cert_key=key_file, cert_cert=cert_file, timeout=self.timeout,
                api_path='/v3/')
            self.authorize(client)
            self._clients[endpoint] = client
        return client

    def authorize(self, client):
        """Make an etcd3gw client (ours, or the one inside tooz's driver)
        use exactly the configured TLS files and, with ``[etcd] username``,
        an etcd auth token.

        ``trust_env`` is switched off because requests lets the environment
        override the session: with ``REQUESTS_CA_BUNDLE`` or
        ``CURL_CA_BUNDLE`` set (common on distribution hosts) the configured
        ``ca_file`` would be silently ignored, and ``HTTPS_PROXY`` would
        route etcd traffic through a proxy.  etcd is reached directly.
        """
        client.session.trust_env = False
        if self._username:
            client.session.headers.pop('Authorization', None)
            client.session.headers['Authorization'] = self._token(client)

    def _token(self, client):
        """Get an etcd auth token (etcd user/password) through ``client``.

        Connection errors propagate unchanged (the endpoint fail-over of
        :meth:`call` handles them); a refusal is one sentence that never
        contains the password.
        """
        try:
            body = client.post(client.get_url('/auth/authenticate'),
                               json={'name': self._username,
                                     'password': self._password})
        except (etcd_exc.ConnectionFailedError,
                etcd_exc.ConnectionTimeoutError):
            raise
        except etcd_exc.Etcd3Exception as exc:
            raise exceptions.StoreError(
                'etcd refused authentication of user %r (%s); check [etcd] '
                'username and password' % (self._username,
                                           auth_reason(exc))) from None
        token = body.get('token') if isinstance(body, dict) else None
        if not token:
            raise exceptions.StoreError(
                'etcd at %s returned no auth token for user %r: is etcd '
                'authentication enabled there?  Unset [etcd] username if '
                'not' % (client.base_url, self._username))
        return token

    def auth_token(self, endpoint):
        """A fresh etcd auth token from ``endpoint`` (for clients other than
        the gateway's, e.g. gRPC lease keep-alives); raises
        :class:`StoreUnavailable` when the endpoint cannot be reached."""
        try:
            return self._token(self._client(endpoint))
        except (etcd_exc.ConnectionFailedError,
                etcd_exc.ConnectionTimeoutError,
                requests.exceptions.RequestException) as exc:
            with self._lock:
                self._clients.pop(endpoint, None)
            raise exceptions.StoreUnavailable(
                'etcd %s: cannot log in: %s' % (endpoint, short(exc))
            ) from None

    @property
    def tls_files(self):
        """``(ca_file, cert_file, key_file)`` as configured (or None)."""
        return self._tls

    @property
    def username(self):
        """The etcd user (None without etcd authentication)."""
        return self._username

    @property
    def endpoint(self):
        """The endpoint currently in use."""
        return self.endpoints[self._current]

    def call(self, path, body):
        """POST ``body`` to ``/v3/<path>`` on the first endpoint that works."""
        errors = []
        with self._lock:
            start = self._current
        n = len(self.endpoints)
        for i in range(n):
            idx = (start + i) % n
            endpoint = self.endpoints[idx]
            try:
                client = self._client(endpoint)
                try:
                    result = client.post(client.get_url(path), json=body)
                except etcd_exc.Etcd3Exception as exc:
                    if not (self._username and token_expired(exc)):
                        raise
                    # etcd forgot our token (it restarted, or the token
                    # expired): log in again and retry this endpoint once.
                    LOG.info('etcd %s forgot our auth token (etcd restarted '
                             'or the token expired); logging in again',
                             endpoint)
                    self.authorize(client)
                    result = client.post(client.get_url(path), json=body)
            except (etcd_exc.ConnectionFailedError,
                    etcd_exc.ConnectionTimeoutError,
                    requests.exceptions.RequestException) as exc:
                errors.append('%s: %s' % (endpoint, short(exc)))
                with self._lock:
                    self._clients.pop(endpoint, None)
                continue
            except etcd_exc.Etcd3Exception as exc:
                text = short(exc)
                if 'invalid auth token' in text and self._username:
                    with self._lock:
                        self._clients.pop(endpoint, None)
                    errors.append('%s: auth token expired' % endpoint)
                    continue
                raise exceptions.StoreError(
                    'etcd %s refused %s: %s' % (endpoint, path, hint(text)))
            if idx != start:
                LOG.warning('etcd: switched to endpoint %s', endpoint)
                with self._lock:
                    self._current = idx
            return result
        raise exceptions.StoreUnavailable(
            'etcd unavailable (%s); check that etcd runs, has a leader and '
            'that [etcd] endpoints is right' % '; '.join(errors))

    # -- key/value ------------------------------------------------------
    def get(self, key):
        """The :class:`KeyValue` at ``key`` or None."""
        body = self.call('kv/range', {'key': b64(key)})
        kvs = body.get('kvs') or []
        return KeyValue(kvs[0]) if kvs else None

    def get_prefix(self, prefix):
        """``(list of KeyValue sorted by key, store revision)``."""
        body = self.call('kv/range', {'key': b64(prefix),
                                      'range_end': b64(range_end(prefix)),
                                      'sort_order': 'ASCEND',
                                      'sort_target': 'KEY'})
        kvs = [KeyValue(kv) for kv in body.get('kvs') or []]
        return kvs, int(body.get('header', {}).get('revision', 0))

    def get_objects(self, prefix, on_corrupt=None):
        """``[(name below prefix, dict)]`` of the JSON objects under
        ``prefix``, sorted by key; a value that is not JSON is passed to
        ``on_corrupt(CorruptRecord)`` (if given) and skipped, as is one
        that is JSON but not an object."""
        kvs, _rev = self.get_prefix(prefix)
        out = []
        for kv in kvs:
            try:
                value = kv.json()
            except exceptions.CorruptRecord as exc:
                if on_corrupt is not None:
                    on_corrupt(exc)
                continue
            if isinstance(value, dict):
                out.append((kv.key[len(prefix):], value))
        return out

    def get_range(self, start, end, limit=0, descend=False):
        """Up to ``limit`` KeyValues in ``[start, end)`` sorted by key
        (``descend`` for the last ones first); ``limit`` 0 = all."""
        body = self.call('kv/range', {'key': b64(start),
                                      'range_end': b64(end),
                                      'limit': int(limit),
                                      'sort_order': ('DESCEND' if descend
                                                     else 'ASCEND'),
                                      'sort_target': 'KEY'})
        return [KeyValue(kv) for kv in body.get('kvs') or []]

    def get_created(self, prefix, limit=0, newest=False):
        """Up to ``limit`` KeyValues below ``prefix`` in the order they
        were created (``newest`` first if asked); ``limit`` 0 = all."""
        body = self.call('kv/range', {'key': b64(prefix),
                                      'range_end': b64(range_end(prefix)),
                                      'limit': int(limit),
                                      'sort_order': ('DESCEND' if newest
                                                     else 'ASCEND'),
                                      'sort_target': 'CREATE'})
        return [KeyValue(kv) for kv in body.get('kvs') or []]

    def count(self, prefix):
        """How many keys are below ``prefix`` (etcd counts; nothing is
        read)."""
        body = self.call('kv/range', {'key': b64(prefix),
                                      'range_end': b64(range_end(prefix)),
                                      'count_only': True})
        return int(body.get('count', 0))

    def put(self, key, value, lease=None):
        """Write ``value`` (str, bytes or JSON-able); returns the revision."""
        op = Op.put(key, value, lease)['request_put']
        body = self.call('kv/put', op)
        return int(body.get('header', {}).get('revision', 0))

    def delete(self, key, prefix=False):
        """Delete ``key`` (or every key below it); returns how many."""
        op = Op.delete(key, prefix)['request_delete_range']
        body = self.call('kv/deleterange', op)
        return int(body.get('deleted', 0))

    def txn(self, compare, success, failure=()):
        """Run a transaction; returns a :class:`TxnResult`."""
        body = self.call('kv/txn', {'compare': list(compare),
                                    'success': list(success),
                                    'failure': list(failure)})
        return TxnResult(body)

    def cas_update(self, key, change, write=None, attempts=10,
                   extra_ops=()):
        """Read-modify-write the JSON value at ``key`` by compare-and-swap.

        ``change(value)`` gets the current value (parsed afresh for each
        attempt: it may edit it) and
        returns the new one, or None to write nothing.  The write compares
        the key's revision: when another writer got in between
        (:class:`CompareFailed`), the value is read again and ``change``
        runs again, up to ``attempts`` times.  ``write(ops, compare)`` runs
        the transaction -- a leader's guarded one; by default a plain
        conditional one.  ``extra_ops`` go in the same transaction.

        Returns the value written (or left, when ``change`` returned None);
        None when ``key`` does not exist.  A lost leadership or an
        unreachable etcd raise as they are; :class:`CompareFailed` after
        ``attempts`` lost races.
        """
        for _ in range(attempts):
            kv = self.get(key)
            if kv is None:
                return None
            current = kv.json()
            new = change(kv.json())
            if new is None:
                return current
            ops = [Op.put(key, new)] + list(extra_ops)
            compare = [Compare.mod_revision(key, kv.mod_revision)]
            try:
                if write is not None:
                    write(ops, compare)
                elif not self.txn(compare, ops).succeeded:
                    raise exceptions.CompareFailed('%s changed meanwhile'
                                                   % key)
                return new
            except exceptions.CompareFailed:
                continue
        raise exceptions.CompareFailed(
            '%s: another writer got in first %d times in a row; not written'
            % (key, attempts))

    def create(self, key, value, lease=None):
        """Write ``key`` only if it does not exist; True when written."""
        return self.txn([Compare.absent(key)],
                        [Op.put(key, value, lease)]).succeeded

    def guarded(self, guard, success, extra_compare=()):
        """Leader-fenced transaction: raise :class:`LeadershipLost` if the
        guard no longer holds (or ``extra_compare`` fails)."""
        result = self.txn(list(guard.compare()) + list(extra_compare),
                          success, [Op.get(guard.key)])
        if not result.succeeded:
            current = result.ranges()
            holder = current[0][0] if current and current[0] else None
            if holder is None or holder.value != guard.member or \
                    holder.create_revision != guard.token:
                raise exceptions.LeadershipLost(
                    'write refused: %s (token %d) no longer holds %s (now %s)'
                    % (guard.member, guard.token, guard.key,
                       '%s token %d' % (holder.value, holder.create_revision)
                       if holder else 'nobody'))
            raise exceptions.CompareFailed(
                'conditional write refused: the record changed meanwhile')
        return result

    # -- leases ---------------------------------------------------------
    def grant(self, ttl):
        """Grant a lease of ``ttl`` seconds (rounded up, >= 1); its id."""
        body = self.call('lease/grant', {'TTL': str(max(1, int(-(-ttl // 1))))})
        if body.get('error'):
            raise exceptions.StoreError('etcd refused a lease: %s'
                                        % body['error'])
        return int(body['ID'])

    def keepalive(self, lease_id):
        """Refresh a lease; returns its remaining TTL (<= 0: it expired)."""
        body = self.call('lease/keepalive', {'ID': str(lease_id)})
        result = body.get('result', {})
        return int(result.get('TTL', 0))

    def revoke(self, lease_id):
        """Revoke a lease (and delete its keys); ignores unknown leases."""
        try:
            self.call('lease/revoke', {'ID': str(lease_id)})
        except exceptions.StoreError as exc:
            if 'not found' not in str(exc):
                raise

    def time_to_live(self, lease_id):
        """Remaining TTL of a lease, -1 when it does not exist."""
        body = self.call('lease/timetolive', {'ID': str(lease_id)})
        return int(body.get('TTL', -1))

    # -- cluster --------------------------------------------------------
    def status(self):
        """etcd's maintenance status of the current endpoint."""
        return self.call('maintenance/status', {})

    def revision(self):
        body = self.call('kv/range', {'key': b64(self.keys.root),
                                      'count_only': True})
        return int(body.get('header', {}).get('revision', 0))

    # -- watches --------------------------------------------------------
    def wait_for_change(self, prefix, revision, timeout):
        """Block until a key below ``prefix`` changes after ``revision``.

        Returns the revision of the change (a positive int) or False on
        timeout; a caller that watches again from that revision + 1 misses
        nothing in between.  Each call opens a fresh
        watch stream on the gateway, encoded here: etcd3gw's watch helpers
        base64-encode ``range_end`` themselves in some versions and not in
        others, and a doubly encoded ``range_end`` silently watches the
        wrong range (a watch that never fires, or fires on every change of
        the cluster).  An etcd restart or compaction cannot leave a dead
        watch behind: callers re-read state after every return anyway.
        Raises :class:`StoreUnavailable` if etcd cannot be reached.
        """
        client = self._client(self.endpoint)
        body = {'create_request': {
            'key': b64(prefix), 'range_end': b64(range_end(prefix)),
            'start_revision': str(int(revision) + 1)}}
        try:
            resp = client.session.post(client.get_url('/watch'), json=body,
                                       stream=True,
                                       timeout=(self.timeout, timeout))
        except requests.exceptions.RequestException as exc:
            raise exceptions.StoreUnavailable(
                'etcd watch on %s failed: %s' % (self.endpoint, short(exc)))
        try:
            if resp.status_code != 200:
                raise exceptions.StoreUnavailable(
                    'etcd watch on %s failed: HTTP %s'
                    % (self.endpoint, resp.status_code))
            deadline = time.monotonic() + timeout
            pending = b''
            for chunk in resp.iter_content(chunk_size=None):
                pending += chunk
                while b'\n' in pending:
                    line, pending = pending.split(b'\n', 1)
                    changed = self._watch_event(line, revision)
                    if changed:
                        return changed
                if time.monotonic() >= deadline:
                    return False
            return self._watch_event(pending, revision) or False
        except requests.exceptions.RequestException as exc:
            # a quiet stream ends in a read timeout (requests wraps it in
            # a ConnectionError while streaming)
            if isinstance(exc, requests.exceptions.Timeout) or \
                    'timed out' in str(exc).lower():
                return False
            raise exceptions.StoreUnavailable(
                'etcd watch on %s failed: %s' % (self.endpoint, short(exc)))
        finally:
            resp.close()

    def _watch_event(self, line, revision):
        """The revision of the change one line of a watch stream reports
        (``revision`` + 1 for anything else that makes the owner re-read:
        cancel, compaction, an unreadable line), or False."""
        if not line.strip():
            return False
        fallback = int(revision) + 1
        try:
            chunk = json.loads(line)
        except ValueError:
            return fallback
        if 'error' in chunk:
            error = chunk['error']
            if isinstance(error, dict):
                error = error.get('message', error)
            raise exceptions.StoreUnavailable(
                'etcd watch on %s failed: %s' % (self.endpoint,
                                                 str(error)[:300]))
        result = chunk.get('result') or {}
        events = result.get('events') or []
        if events:
            return max([int((e.get('kv') or {}).get('mod_revision', 0))
                        for e in events] + [fallback])
        if result.get('canceled') or result.get('compact_revision'):
            # e.g. compacted past ``revision``: go on from now (the owner
            # re-reads everything anyway)
            current = int((result.get('header') or {}).get('revision', 0))
            return max(current, fallback)
        return False
