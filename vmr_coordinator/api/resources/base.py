"""What every resource shares: request helpers and :class:`ResourceBase`
(the store, the configuration, the cloud connection, etcd errors as 503s)."""

import json
import logging
import threading

from vmr_common import exceptions
from vmr_coordinator import cloud
from vmr_coordinator import metrics
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.api.errors import ApiError

LOG = logging.getLogger(__name__)

#: how often a maintenance change is retried when the leader wrote the
#: record between our read and our write
CAS_ATTEMPTS = 5


def api_error(status, message, field=None):
    return ApiError(status, message, field)


def read_json(req, required=True):
    """The request body as a JSON object; 400 naming the problem if not."""
    raw = req.body
    if not raw.strip():
        if required:
            raise api_error(400, 'request body is empty: send a JSON object')
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise api_error(400, 'request body is not valid JSON: %s' % exc)
    if not isinstance(body, dict):
        raise api_error(400, 'request body must be a JSON object, not %s'
                        % type(body).__name__)
    return body


def optional_reason(body, field='reason'):
    """The optional free-text ``reason`` field, checked."""
    reason = body.get(field)
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise api_error(400, 'field %r must be a string' % field, field)
    if len(reason) > 1024:
        raise api_error(400, 'field %r is longer than 1024 characters' % field,
                        field)
    return reason


def who(req, trusted=True):
    """The caller as recorded in requests and records (``by``).

    Identity headers are ``trusted`` only behind keystonemiddleware, which
    strips the ones a caller sends; without it anyone could claim a name.
    """
    env = req.environ
    user = env.get('HTTP_X_USER_NAME') or env.get('HTTP_X_USER_ID')
    if not trusted or env.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed' or \
            not user:
        return 'anonymous (noauth)'
    project = env.get('HTTP_X_PROJECT_NAME') or env.get('HTTP_X_PROJECT_ID')
    return '%s@%s' % (user, project) if project else user


class ResourceBase:
    """State and helpers the resources share, bound to one store and
    coordinator (one instance serves every resource: see :class:`Resources`)."""

    def __init__(self, conf, store, coordinator=None):
        self.conf = conf
        self.store = store
        self.keys = store.keys
        self.coordinator = coordinator
        self.group = conf.heartbeat.group
        self.keystone = conf.api.auth_strategy == 'keystone'
        self.registry = metrics.make_registry(store, self.group, coordinator)
        self._conn = None   # openstacksdk Connection for dry runs, lazily
        self._cloud_lock = threading.Lock()


    def _who(self, req):
        return who(req, trusted=self.keystone)

    def _snapshot(self):
        try:
            return snapshot_mod.take(self.store, self.group)
        except exceptions.StoreError as exc:
            raise api_error(503, 'cannot read etcd: %s' % exc)

    def _etcd(self, func, *args, **kwargs):
        """Run one store call; etcd trouble becomes a 503."""
        try:
            return func(*args, **kwargs)
        except exceptions.StoreError as exc:
            raise api_error(503, 'etcd: %s' % exc)

    def _objects(self, prefix):
        """``[(name, dict)]`` of the JSON objects under ``prefix``
        (:meth:`Store.get_objects`); a corrupt one is skipped with a
        WARNING naming it, etcd trouble is a 503."""
        return self._etcd(self.store.get_objects, prefix,
                          lambda exc: LOG.warning('API: skipping %s', exc))

    def _record(self, kv):
        try:
            return kv.json()
        except exceptions.CorruptRecord as exc:
            raise api_error(500, str(exc))

    @property
    def requests_dir(self):
        return self.keys.root + 'requests/'

    @property
    def vrrp_dir(self):
        return self.keys.root + 'vrrp/'

    def _cloud(self):
        with self._cloud_lock:
            if self._conn is None:
                self._conn = cloud.connect(self.conf)
            return self._conn
