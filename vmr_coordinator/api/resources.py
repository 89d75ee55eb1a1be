"""The REST API's resources: what each endpoint reads and writes in etcd.

Reads take one consistent snapshot (or one range) per request. Writes are
operator *requests* the leader picks up (pause, confirm-fenced, alarm
events) or documents it reads (contracts); the one write into a record the
leader also writes — a host's maintenance flag — is a compare-and-swap on the
record's ``mod_revision`` touching only the ``maintenance*`` fields.
"""

import dataclasses
import json
import logging
import re
import threading
import time
import uuid

import webob

from vmr_common import exceptions
from vmr_common.store import Compare, Op
from vmr_coordinator import metrics
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.api import webhooks
from vmr_coordinator.preflight import preflight_view

LOG = logging.getLogger(__name__)

#: how often a maintenance change is retried when the leader wrote the
#: record between our read and our write
CAS_ATTEMPTS = 5

RECOVERY_STATES = metrics.RECOVERY_STATES
HOST_STATES = metrics.HOST_STATES
ALARM_SOURCES = ('aodh', 'alertmanager')
#: states a keepalived notify hook reports (UNKNOWN: it got something else)
VRRP_STATES = ('MASTER', 'BACKUP', 'FAULT', 'STOP', 'UNKNOWN')
#: pair and instance names, as the keepalived templater accepts them; they
#: become etcd key segments, so no '/'
_VRRP_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')


@dataclasses.dataclass(frozen=True)
class Route:
    """One endpoint: method, path template, handler and policy rule.

    ``rule`` is None for public endpoints (no Keystone), a rule name, or a
    callable ``rule(req)`` when the rule depends on the request.
    """

    name: str
    method: str
    path: str
    handler: str
    rule: object = None
    requirements: dict = dataclasses.field(default_factory=dict)


def _truthy(value):
    return str(value).lower() in ('1', 'true', 'yes', 'on')


def _contract_create_rule(req):
    return 'vmr:contract:validate' if _truthy(req.GET.get('dry_run', '')) \
        else 'vmr:contract:create'


ROUTES = [
    Route('healthz', 'GET', '/healthz', 'healthz'),
    Route('readyz', 'GET', '/readyz', 'readyz'),
    Route('metrics', 'GET', '/metrics', 'metrics'),
    Route('openapi', 'GET', '/v1/openapi.json', 'openapi'),
    Route('status', 'GET', '/v1/status', 'status', 'vmr:status:get'),
    Route('contracts.list', 'GET', '/v1/contracts', 'list_contracts',
          'vmr:contract:list'),
    Route('contracts.create', 'POST', '/v1/contracts', 'create_contract',
          _contract_create_rule),
    Route('contracts.get', 'GET', '/v1/contracts/{name}', 'get_contract',
          'vmr:contract:get'),
    Route('contracts.put', 'PUT', '/v1/contracts/{name}', 'put_contract',
          'vmr:contract:update'),
    Route('contracts.delete', 'DELETE', '/v1/contracts/{name}',
          'delete_contract', 'vmr:contract:delete'),
    Route('hosts.list', 'GET', '/v1/hosts', 'list_hosts', 'vmr:host:list'),
    Route('hosts.get', 'GET', '/v1/hosts/{host}', 'get_host',
          'vmr:host:get'),
    Route('hosts.maintenance', 'POST', '/v1/hosts/{host}/maintenance',
          'host_maintenance', 'vmr:host:maintenance'),
    Route('hosts.confirm_fenced', 'POST', '/v1/hosts/{host}/confirm-fenced',
          'confirm_fenced', 'vmr:host:confirm_fenced'),
    Route('hosts.fence_test', 'POST', '/v1/hosts/{host}/fence-test',
          'fence_test', 'vmr:host:fence_test'),
    Route('recoveries.list', 'GET', '/v1/recoveries', 'list_recoveries',
          'vmr:recovery:list'),
    Route('recoveries.create', 'POST', '/v1/recoveries', 'create_recovery',
          'vmr:recovery:create'),
    Route('recoveries.get', 'GET', '/v1/recoveries/{recovery_id}',
          'get_recovery', 'vmr:recovery:get'),
    Route('plan', 'GET', '/v1/plan', 'plan', 'vmr:plan:get'),
    Route('capacity', 'GET', '/v1/capacity', 'capacity',
          'vmr:capacity:get'),
    Route('pause', 'POST', '/v1/pause', 'pause', 'vmr:cluster:pause'),
    Route('resume', 'POST', '/v1/resume', 'resume', 'vmr:cluster:resume'),
    Route('brake.release', 'POST', '/v1/brake/release', 'release_brake',
          'vmr:brake:release'),
    Route('alarms.aodh', 'POST', '/v1/alarms/aodh', 'alarm_aodh'),
    Route('alarms.alertmanager', 'POST', '/v1/alarms/alertmanager',
          'alarm_alertmanager'),
    Route('alarms.keepalived', 'POST', '/v1/alarms/keepalived',
          'alarm_keepalived'),
]


def _error(status, message, field=None):
    # Imported here: app imports this module.
    from vmr_coordinator.api.app import ApiError
    return ApiError(status, message, field)


def read_json(req, required=True):
    """The request body as a JSON object; 400 naming the problem if not."""
    raw = req.body
    if not raw.strip():
        if required:
            raise _error(400, 'request body is empty: send a JSON object')
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _error(400, 'request body is not valid JSON: %s' % exc)
    if not isinstance(body, dict):
        raise _error(400, 'request body must be a JSON object, not %s'
                     % type(body).__name__)
    return body


def optional_reason(body, field='reason'):
    """The optional free-text ``reason`` field, checked."""
    reason = body.get(field)
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise _error(400, 'field %r must be a string' % field, field)
    if len(reason) > 1024:
        raise _error(400, 'field %r is longer than 1024 characters' % field,
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


def recovery_summary(rid, data):
    """The list view of one journal record."""
    steps = data.get('steps') or []
    by_state = {}
    for step in steps:
        state = step.get('state', 'pending')
        by_state[state] = by_state.get(state, 0) + 1
    return {
        'id': data.get('id', rid),
        'host': data.get('host'),
        'state': data.get('state'),
        'trigger': (data.get('trigger') or {}).get('type'),
        'created_at': data.get('created_at'),
        'updated_at': data.get('updated_at'),
        'fenced': bool((data.get('fencing') or {}).get('verified')),
        'steps': len(steps),
        'steps_by_state': by_state,
    }


def host_summary(record, snap):
    """The list view of one host record."""
    data = record.data
    return {
        'host': record.name,
        'state': record.state,
        'state_since': data.get('state_since'),
        'reason': data.get('reason'),
        'live': snap.live(record.name),
        'enabled': data.get('enabled', True),
        'maintenance': bool(data.get('maintenance')),
        'zone': record.zone,
        'recovery': data.get('recovery'),
    }


class Resources:
    """The endpoint handlers, bound to one store and coordinator."""

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

    # -- helpers -------------------------------------------------------------
    def _who(self, req):
        return who(req, trusted=self.keystone)

    def _snapshot(self):
        try:
            return snapshot_mod.take(self.store, self.group)
        except exceptions.StoreError as exc:
            raise _error(503, 'cannot read etcd: %s' % exc)

    def _etcd(self, func, *args, **kwargs):
        """Run one store call; etcd trouble becomes a 503."""
        try:
            return func(*args, **kwargs)
        except exceptions.StoreError as exc:
            raise _error(503, 'etcd: %s' % exc)

    def _record(self, kv):
        try:
            return kv.json()
        except exceptions.CorruptRecord as exc:
            raise _error(500, str(exc))

    @property
    def requests_dir(self):
        return self.keys.root + 'requests/'

    @property
    def vrrp_dir(self):
        return self.keys.root + 'vrrp/'

    # -- health ----------------------------------------------------------------
    def healthz(self, req):
        return 200, {'status': 'ok'}

    def readyz(self, req):
        view = metrics.coordinator_view(self.coordinator)
        if view['is_leader']:
            return 200, {'ready': True, 'role': 'leader',
                         'member': view['member']}
        try:
            leader = self.store.get(self.keys.leader)
        except exceptions.StoreError as exc:
            return 503, {'ready': False, 'role': 'standby',
                         'member': view['member'],
                         'reason': 'cannot read etcd: %s' % exc}
        return 200, {'ready': True, 'role': 'standby',
                     'member': view['member'],
                     'leader': leader.value if leader else None}

    def metrics(self, req):
        from prometheus_client import exposition
        resp = webob.Response(status=200)
        resp.body = exposition.generate_latest(self.registry)
        resp.headers['Content-Type'] = exposition.CONTENT_TYPE_LATEST
        return resp

    def openapi(self, req):
        from vmr_coordinator.api import openapi
        return 200, openapi.document()

    # -- status ----------------------------------------------------------------
    def status(self, req):
        snap = self._snapshot()
        view = metrics.coordinator_view(self.coordinator)
        leader = None
        if snap.leader is not None:
            leader = {'member': snap.leader.value,
                      'token': snap.leader.create_revision}
        return 200, {
            'leader': leader,
            'coordinator': view,
            'paused': snap.paused,
            'brake': snap.brake,
            'hosts': {'total': len(snap.hosts),
                      'by_state': metrics.count_by(
                          (r.state for r in snap.hosts.values()),
                          HOST_STATES)},
            'recoveries': {'total': len(snap.journal),
                           'by_state': metrics.count_by(
                               (d.get('state', 'detected') for d, _r in
                                snap.journal.values()), RECOVERY_STATES)},
            'members': sorted(snap.members),
            # how the live agents renew their lease ('unknown': an agent
            # older than the capability)
            'heartbeats': metrics.count_by(
                ((m.capabilities or {}).get('heartbeat') or 'unknown'
                 for m in snap.members.values()), ('grpc', 'gateway')),
            'contracts': len(snap.contracts),
            'revision': snap.revision,
            'corrupt_keys': [key for key, _why in snap.corrupt],
            'vrrp': self._vrrp_states(),
            'preflight': preflight_view(self.coordinator),
        }

    def _vrrp_states(self):
        """``{pair: {instance: record}}``: the latest state each guest reported."""
        kvs, _rev = self._etcd(self.store.get_prefix, self.vrrp_dir)
        out = {}
        for kv in kvs:
            try:
                record = kv.json()
            except exceptions.CorruptRecord as exc:
                LOG.warning('API: skipping %s', exc)
                continue
            pair, _sep, instance = self.keys.name_in(self.vrrp_dir,
                                                     kv.key).partition('/')
            out.setdefault(pair, {})[instance] = record
        return out

    # -- contracts -------------------------------------------------------------
    def _parse_contract(self, doc):
        """A validated contract dict (defaults filled); 400 naming the field."""
        from vmr_coordinator import contracts
        try:
            return contracts.parse_contract(doc).to_dict()
        except contracts.ContractError as exc:
            raise _error(400, str(exc), exc.field or None)

    def _contract_body(self, req):
        content_type = (req.content_type or '').lower()
        if 'yaml' in content_type:
            # parse_contract reads YAML text itself and names bad fields.
            text = req.body.decode('utf-8', 'replace')
            if not text.strip():
                raise _error(400, 'request body is empty: send a contract')
            return text
        return read_json(req)

    def _cloud(self):
        with self._cloud_lock:
            if self._conn is None:
                from vmr_coordinator import cloud
                self._conn = cloud.connect(self.conf)
            return self._conn

    def _matches(self, doc):
        """Which servers the contract selects now (the dry run's answer).

        A cloud that cannot be reached does not fail the validation: the
        answer says so instead.
        """
        from vmr_coordinator import contracts
        from vmr_coordinator.api import dryrun
        try:
            facts = dryrun.cloud_facts(self._cloud())
        except Exception as exc:  # openstacksdk/keystoneauth raise many types
            with self._cloud_lock:
                self._conn = None
            text = (str(exc).splitlines() or [exc.__class__.__name__])[0]
            LOG.info('API: dry run without servers: %s', text)
            return {'checked': False,
                    'error': 'cannot list servers with [cloud] cloud %r: %s'
                             % (self.conf.cloud.cloud, text[:300])}
        result = dryrun.selection(contracts.parse_contract(doc), facts,
                                  contracts.ServiceVmPolicy.from_conf(
                                      self.conf))
        result.update(checked=True, servers=len(facts))
        return result

    def list_contracts(self, req):
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.contracts)
        out = []
        for kv in kvs:
            try:
                out.append(kv.json())
            except exceptions.CorruptRecord as exc:
                LOG.warning('API: skipping %s', exc)
        return 200, {'contracts': out}

    def create_contract(self, req):
        doc = self._parse_contract(self._contract_body(req))
        if _truthy(req.GET.get('dry_run', '')):
            body = {'contract': doc, 'dry_run': True}
            if _truthy(req.GET.get('match', '1')):
                body['matches'] = self._matches(doc)
            return 200, body
        key = self.keys.contract(doc['name'])
        if not self._etcd(self.store.create, key, doc):
            raise _error(409, 'contract %r exists; PUT /v1/contracts/%s to '
                         'replace it' % (doc['name'], doc['name']), 'name')
        LOG.info('API: %s created contract %s', self._who(req), doc['name'])
        resp = webob.Response(status=201, content_type='application/json',
                              charset='utf-8')
        resp.text = json.dumps({'contract': doc}, sort_keys=True)
        resp.location = req.host_url + '/v1/contracts/' + doc['name']
        return resp

    def get_contract(self, req, name):
        kv = self._etcd(self.store.get, self.keys.contract(name))
        if kv is None:
            raise _error(404, 'no contract named %r' % name)
        return 200, {'contract': self._record(kv)}

    def put_contract(self, req, name):
        body = self._contract_body(req)
        if isinstance(body, dict):
            if body.get('name') is None:
                body = dict(body, name=name)
            elif body['name'] != name:
                raise _error(400, 'field \'name\' (%r) differs from the URL '
                             '(%r); rename by DELETE and POST'
                             % (body['name'], name), 'name')
        doc = self._parse_contract(body)
        if doc['name'] != name:
            raise _error(400, 'field \'name\' (%r) differs from the URL (%r)'
                         % (doc['name'], name), 'name')
        key = self.keys.contract(name)
        result = self._etcd(self.store.txn, [], [Op.get(key),
                                                 Op.put(key, doc)])
        existed = bool(result.ranges() and result.ranges()[0])
        LOG.info('API: %s %s contract %s', self._who(req),
                 'replaced' if existed else 'created', name)
        return (200 if existed else 201), {'contract': doc}

    def delete_contract(self, req, name):
        if not self._etcd(self.store.delete, self.keys.contract(name)):
            raise _error(404, 'no contract named %r' % name)
        LOG.info('API: %s deleted contract %s', self._who(req), name)
        return 204, None

    # -- hosts -----------------------------------------------------------------
    def list_hosts(self, req):
        state = req.GET.get('state')
        if state is not None and state not in HOST_STATES:
            raise _error(400, 'unknown host state %r; one of: %s'
                         % (state, ', '.join(HOST_STATES)), 'state')
        snap = self._snapshot()
        hosts = [host_summary(r, snap) for _n, r in sorted(snap.hosts.items())
                 if state is None or r.state == state]
        return 200, {'hosts': hosts, 'members': sorted(snap.members)}

    def get_host(self, req, host):
        snap = self._snapshot()
        record = snap.hosts.get(host)
        if record is None:
            raise _error(404, 'no host named %r' % host)
        member = snap.members.get(host)
        return 200, {'host': dict(record.data, host=host, live=member
                                  is not None, mod_revision=record
                                  .mod_revision),
                     'member': member.capabilities if member else None}

    def host_maintenance(self, req, host):
        body = read_json(req)
        enabled = body.get('enabled')
        if not isinstance(enabled, bool):
            raise _error(400, 'field \'enabled\' is required: true to start '
                         'maintenance, false to end it', 'enabled')
        reason = optional_reason(body)
        unknown = sorted(set(body) - {'enabled', 'reason'})
        if unknown:
            raise _error(400, 'unknown field %r; allowed: enabled, reason'
                         % unknown[0], unknown[0])
        key = self.keys.host(host)
        by = self._who(req)
        for _attempt in range(CAS_ATTEMPTS):
            kv = self._etcd(self.store.get, key)
            if kv is None:
                raise _error(404, 'no host named %r' % host)
            data = self._record(kv)
            # Only the maintenance fields change; the leader owns the rest
            # of the record and the compare below keeps its writes intact.
            data['maintenance'] = enabled
            data['maintenance_by'] = by
            data['maintenance_reason'] = reason
            data['maintenance_at'] = time.time()
            result = self._etcd(self.store.txn,
                                [Compare.mod_revision(key, kv.mod_revision)],
                                [Op.put(key, data)])
            if result.succeeded:
                LOG.info('API: %s turned maintenance of %s %s (%s)', by, host,
                         'on' if enabled else 'off', reason or 'no reason')
                answer = {'host': dict(data, host=host)}
                if enabled and not self._drains():
                    answer['warning'] = (
                        'no enabled contract has trigger maintenance: VMR '
                        'stops watching %s but moves nothing off it; add one '
                        '(e.g. etc/vmr/contracts/live_migrate.yaml) to drain '
                        'it' % host)
                    LOG.warning('API: %s', answer['warning'])
                return 200, answer
        raise _error(409, 'host %s changed %d times while being updated; '
                     'try again' % (host, CAS_ATTEMPTS))

    def _drains(self):
        """Whether an enabled contract reacts to maintenance (drains)."""
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.contracts)
        for kv in kvs:
            try:
                doc = kv.json()
            except exceptions.CorruptRecord:
                continue
            if isinstance(doc, dict) and doc.get('enabled', True) and \
                    (doc.get('trigger') or {}).get('type') == 'maintenance':
                return True
        return False

    def confirm_fenced(self, req, host):
        body = read_json(req, required=False)
        reason = optional_reason(body)
        snap = self._snapshot()
        if host not in snap.hosts:
            raise _error(404, 'no host named %r' % host)
        if snap.live(host):
            # A host whose agent still heartbeats is demonstrably running:
            # confirming it off could run its VMs twice.
            raise _error(409, 'host %s is alive in the agents group; '
                         'confirm-fenced is only for a host that is down and '
                         'that you powered off yourself' % host)
        request = {'by': self._who(req), 'at': time.time(), 'reason': reason}
        self._etcd(self.store.put,
                   self.requests_dir + 'confirm-fenced/' + host, request)
        LOG.warning('API: %s confirmed by hand that %s is powered off (%s)',
                    request['by'], host, reason or 'no reason')
        return 202, {'request': dict(request, host=host,
                                     type='confirm-fenced')}

    def fence_test(self, req, host):
        from vmr_coordinator.api import fence
        return fence.fence_test(self, req, host)

    # -- recoveries ------------------------------------------------------------
    def list_recoveries(self, req):
        state = req.GET.get('state')
        host = req.GET.get('host')
        limit = req.GET.get('limit')
        if limit is not None:
            try:
                limit = int(limit)
                if limit < 1:
                    raise ValueError(limit)
            except ValueError:
                raise _error(400, 'limit must be a positive integer, not %r'
                             % limit, 'limit')
        if state is not None and state not in RECOVERY_STATES:
            raise _error(400, 'unknown recovery state %r; one of: %s'
                         % (state, ', '.join(RECOVERY_STATES)), 'state')
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.journal)
        out = []
        for kv in kvs:
            try:
                data = kv.json()
            except exceptions.CorruptRecord as exc:
                LOG.warning('API: skipping %s', exc)
                continue
            if not isinstance(data, dict):
                continue
            summary = recovery_summary(
                self.keys.name_in(self.keys.journal, kv.key), data)
            if state is not None and summary['state'] != state:
                continue
            if host is not None and summary['host'] != host:
                continue
            out.append(summary)
        out.sort(key=lambda r: (r['created_at'] or 0, r['id']), reverse=True)
        return 200, {'recoveries': out[:limit] if limit else out}

    def create_recovery(self, req):
        """A manual recovery (``vmr recover``): one contract with a
        ``manual`` trigger, for one server or every server of a host.

        Stored as a ``manual`` event where the leader takes alarm events
        from; it opens the recovery under the id answered here.
        """
        from vmr_coordinator import contracts as contracts_mod
        from vmr_coordinator import journal as journal_mod
        body = read_json(req)
        unknown = sorted(set(body) - {'contract', 'server', 'host', 'reason'})
        if unknown:
            raise _error(400, 'unknown field %r; allowed: contract, server, '
                         'host, reason' % unknown[0], unknown[0])
        name = body.get('contract')
        if not isinstance(name, str) or not name:
            raise _error(400, 'field \'contract\' is required: the name of a '
                         'contract whose trigger is manual', 'contract')
        server, host = body.get('server'), body.get('host')
        if (server is None) == (host is None):
            raise _error(400, 'give either \'server\' (an id or name) or '
                         '\'host\' (every server on it), not %s'
                         % ('both' if server is not None else 'neither'),
                         'server')
        for field, value in (('server', server), ('host', host)):
            if value is not None and (not isinstance(value, str) or not value
                                      or len(value) > 255):
                raise _error(400, 'field %r must be a non-empty string of at '
                             'most 255 characters' % field, field)
        reason = optional_reason(body)
        kv = self._etcd(self.store.get, self.keys.contract(name))
        if kv is None:
            raise _error(404, 'no contract named %r; see vmr contract list'
                         % name, 'contract')
        try:
            contract = contracts_mod.parse_contract(self._record(kv))
        except contracts_mod.ContractError as exc:
            raise _error(409, 'contract %r is stored but invalid: %s'
                         % (name, exc), 'contract')
        if contract.trigger_type != 'manual':
            raise _error(400, 'contract %r has trigger %s; only a contract '
                         'with trigger manual can be run by hand'
                         % (name, contract.trigger_type), 'contract')
        if not contract.enabled:
            raise _error(409, 'contract %r is disabled; enable it first'
                         % name, 'contract')
        if host is not None and self._etcd(
                self.store.get, self.keys.host(host)) is None:
            raise _error(404, 'no host named %r' % host, 'host')
        now = time.time()
        event = {'type': 'manual', 'contract': name,
                 'requested_by': self._who(req), 'received_at': now}
        if server is not None:
            event['servers'] = [server]
        else:
            event['host'] = host
        if reason:
            event['reason'] = reason
        rid = journal_mod.event_recovery_id(event, now)
        event['recovery_id'] = rid
        if not self._etcd(self.store.create, self.keys.events + rid, event):
            raise _error(409, 'request id %s is taken (two requests in the '
                         'same second); send it again' % rid)
        LOG.warning('API: %s asked for manual recovery %s (contract %s, %s)',
                    event['requested_by'], rid, name,
                    'server %s' % server if server else 'host %s' % host)
        return 202, {'recovery_id': rid, 'request': event}

    def get_recovery(self, req, recovery_id):
        kv = self._etcd(self.store.get, self.keys.recovery(recovery_id))
        if kv is None:
            raise _error(404, 'no recovery %r' % recovery_id)
        data = self._record(kv)
        data.setdefault('id', recovery_id)
        return 200, {'recovery': data}

    # -- plan and capacity --------------------------------------------------------
    def _cloud_read(self, what, func):
        """Run ``func(conn)``; a cloud that cannot answer becomes a 503
        naming ``[cloud] cloud``."""
        from vmr_coordinator import cloud
        try:
            return func(self._cloud())
        except Exception as exc:  # openstacksdk/keystoneauth raise many types
            with self._cloud_lock:
                self._conn = None
            if isinstance(exc, cloud.CloudError):
                text = str(exc)
            else:
                text = (str(exc).splitlines() or [exc.__class__.__name__])[0]
            raise _error(503, 'cannot read %s from OpenStack with [cloud] cloud '
                         '%r: %s' % (what, self.conf.cloud.cloud, text[:300]))

    def plan(self, req):
        from vmr_coordinator import cloud
        from vmr_coordinator import contracts as contracts_mod
        from vmr_coordinator import planning
        host = (req.GET.get('host') or '').strip()
        if not host:
            raise _error(400, 'query parameter \'host\' is required: the '
                         'compute host to plan the failure of', 'host')
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.contracts)
        parsed, ignored = [], []
        for kv in kvs:
            try:
                parsed.append(contracts_mod.parse_contract(kv.json()))
            except (exceptions.CorruptRecord, contracts_mod.ContractError) as exc:
                ignored.append({'key': kv.key, 'reason': str(exc)})

        def read(conn):
            hosts = planning.host_view(cloud.hypervisor_capacity(conn),
                                       cloud.compute_services(conn),
                                       cloud.aggregates(conn))
            return hosts, cloud.server_loads(conn)
        hosts, servers = self._cloud_read('hypervisors and servers', read)
        known = {h.name for h in hosts}
        if host not in known and self._etcd(
                self.store.get, self.keys.host(host)) is None:
            raise _error(404, 'unknown host %r: neither Nova nor VMR knows '
                         'it (known: %s)' % (host, ', '.join(sorted(known))
                                             or 'none'), 'host')
        result = planning.plan_host_failure(
            host, servers, parsed, hosts,
            contracts_mod.ServiceVmPolicy.from_conf(self.conf))
        result['contracts'] = len(parsed)
        result['ignored_contracts'] = ignored
        return 200, {'plan': result}

    def capacity(self, req):
        from vmr_coordinator import cloud
        from vmr_coordinator import planning

        def read(conn):
            return (cloud.hypervisor_capacity(conn),
                    cloud.compute_services(conn), cloud.aggregates(conn))
        hypervisors, services, aggregates = self._cloud_read(
            'hypervisors, services and aggregates', read)
        return 200, {'capacity': planning.capacity(hypervisors, services,
                                                   aggregates)}

    # -- cluster switches --------------------------------------------------------
    def pause(self, req):
        body = read_json(req, required=False)
        record = {'by': self._who(req), 'at': time.time(),
                  'reason': optional_reason(body)}
        self._etcd(self.store.put, self.keys.pause, record)
        LOG.warning('API: %s paused VMR (%s)', record['by'],
                    record['reason'] or 'no reason')
        return 200, {'paused': record}

    def resume(self, req):
        read_json(req, required=False)
        deleted = self._etcd(self.store.delete, self.keys.pause)
        LOG.warning('API: %s resumed VMR', self._who(req))
        return 200, {'paused': None, 'was_paused': bool(deleted)}

    def release_brake(self, req):
        read_json(req, required=False)
        key = self.keys.brake
        result = self._etcd(self.store.txn, [], [Op.get(key),
                                                 Op.delete(key)])
        ranges = result.ranges()
        previous = None
        if ranges and ranges[0]:
            try:
                previous = ranges[0][0].json()
            except exceptions.CorruptRecord:
                previous = ranges[0][0].value
        if previous is not None:
            LOG.warning('API: %s released the disruption brake', self._who(req))
        return 200, {'released': previous is not None, 'brake': previous}

    # -- alarm webhooks ----------------------------------------------------------
    def alarm_aodh(self, req):
        return self._alarm(req, 'aodh')

    def alarm_alertmanager(self, req):
        return self._alarm(req, 'alertmanager')

    def _authenticate_webhook(self, req, source):
        ok, why = webhooks.check(
            self.conf.api.webhook_token, req.body,
            token=req.headers.get(webhooks.TOKEN_HEADER),
            signature=req.headers.get(webhooks.SIGNATURE_HEADER),
            authorization=req.headers.get(webhooks.AUTHORIZATION_HEADER))
        if not ok:
            LOG.warning('API: refused %s webhook from %s: %s', source,
                        req.remote_addr, why)
            from vmr_coordinator.api.app import ApiError
            raise ApiError(401, 'webhook refused: %s' % why,
                           headers={'WWW-Authenticate': webhooks.CHALLENGE})
        LOG.debug('API: %s webhook from %s authenticated by %s', source,
                  req.remote_addr, why)

    def alarm_keepalived(self, req):
        """A guest's keepalived notify hook: the latest VRRP state per instance.

        Stored under ``vrrp/<pair>/<instance>`` (last report wins); the
        ``fip_failover`` action in vrrp mode reads it to tell whether the
        standby took the VIP.
        """
        self._authenticate_webhook(req, 'keepalived')
        body = read_json(req)
        unknown = sorted(set(body) - {'pair', 'instance', 'state'})
        if unknown:
            raise _error(400, 'unknown field %r; allowed: pair, instance, '
                         'state' % unknown[0], unknown[0])
        for field in ('pair', 'instance'):
            value = body.get(field)
            if not isinstance(value, str) or not _VRRP_NAME_RE.match(value):
                raise _error(400, 'field %r must be 1-64 letters, digits, '
                             '".", "_" or "-" starting with a letter or '
                             'digit' % field, field)
        state = body.get('state')
        if state not in VRRP_STATES:
            raise _error(400, 'field \'state\' must be one of %s'
                         % ', '.join(VRRP_STATES), 'state')
        key = '%s%s/%s' % (self.vrrp_dir, body['pair'], body['instance'])
        previous = self._etcd(self.store.get, key)
        before = None
        if previous is not None:
            try:
                before = (previous.json() or {}).get('state')
            except exceptions.CorruptRecord:
                before = None
        record = {'pair': body['pair'], 'instance': body['instance'],
                  'state': state, 'previous': before,
                  'received_at': time.time(), 'from': req.remote_addr}
        self._etcd(self.store.put, key, record)
        LOG.info('API: keepalived %s/%s reports %s (was %s)', body['pair'],
                 body['instance'], state, before or 'unknown')
        return 202, {'vrrp': record}

    def _alarm(self, req, source):
        self._authenticate_webhook(req, source)
        body = read_json(req)
        events = self._parse_alarm(source, body)
        event_id = str(uuid.uuid4())
        record = {'type': 'alarm', 'source': source, 'body': body,
                  'received_at': time.time(), 'events': events}
        self._etcd(self.store.create, self.keys.events + event_id, record)
        LOG.info('API: %s alarm webhook stored as event %s (%d alerts)',
                 source, event_id, len(events))
        return 202, {'event': event_id, 'alerts': len(events)}

    @staticmethod
    def _parse_alarm(source, body):
        from vmr_coordinator.triggers import alarm
        parser = alarm.parse_aodh if source == 'aodh' else \
            alarm.parse_alertmanager
        try:
            return parser(body)
        except alarm.AlarmPayloadError as exc:
            raise _error(400, 'not a valid %s notification: %s'
                         % (source, exc))
