"""Octavia v2 simulator: load balancers, listeners, pools, members, monitors.

What openstacksdk's ``conn.load_balancer`` proxy and VMR's ``lb_failover``
action need, with Octavia's real rules:

* every change puts the load balancer (and the changed object) in
  ``PENDING_CREATE``/``PENDING_UPDATE``/``PENDING_DELETE`` for
  ``provisioning_delay`` seconds, and any other change to that load balancer
  meanwhile gets 409 "Load Balancer ... is immutable and cannot be updated.";
* a member's ``operating_status`` is ``OFFLINE`` when disabled,
  ``NO_MONITOR`` without a health monitor, otherwise ``ONLINE`` when the
  server holding its address (found through the lab's Neutron ports and
  ``lab.nova.server_running``) runs and ``ERROR`` when it does not; pool,
  listener and load balancer statuses are derived from it;
* errors use the WSME body ``{"faultcode", "faultstring", "debuginfo"}``.

Tunable: ``lab.delays['lb_provisioning']`` (seconds, default 0.5) or the
``provisioning_delay`` attribute; 0 makes every change immediate.
"""

import copy
import ipaddress
import time
import uuid

from vmr_lab.services.base import Fault, Service

API_MINOR = 27
PROTOCOLS = ('HTTP', 'HTTPS', 'TCP', 'UDP', 'TERMINATED_HTTPS', 'PROXY',
             'PROXYV2', 'SCTP', 'PROMETHEUS')
POOL_PROTOCOLS = ('HTTP', 'HTTPS', 'TCP', 'UDP', 'PROXY', 'PROXYV2', 'SCTP')
ALGORITHMS = ('ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP',
              'SOURCE_IP_PORT')
MONITOR_TYPES = ('HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO', 'UDP-CONNECT',
                 'SCTP')
_NAMES = {'loadbalancer': 'Load Balancer', 'listener': 'Listener',
          'pool': 'Pool', 'member': 'Member', 'healthmonitor': 'Health Monitor'}
_SEVERITY = {'ONLINE': 0, 'NO_MONITOR': 0, 'DRAINING': 0, 'OFFLINE': 0,
             'DEGRADED': 1, 'ERROR': 2}


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())


def _invalid(field, value, reason):
    return Fault(400, 'Invalid input for field/attribute %s. Value: %r. %s'
                 % (field, value, reason))


def _bool(body, field, default):
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise _invalid(field, value, 'Wrong type. Expected \'bool\', got '
                                     '\'%s\'' % type(value).__name__)
    return value


def _int(body, field, default, low, high):
    value = body.get(field, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, value, 'Wrong type. Expected \'int\', got '
                                     '\'%s\'' % type(value).__name__)
    if not low <= value <= high:
        raise _invalid(field, value, 'Value should be greater or equal to %d'
                       ' and lower or equal to %d' % (low, high))
    return value


def _choice(body, field, choices, default=None):
    value = body.get(field, default)
    if value not in choices:
        raise _invalid(field, value, 'Value should be one of: %s'
                       % ', '.join(choices))
    return value


_COMMON = ('name', 'admin_state_up', 'project_id', 'tenant_id', 'tags')
#: Attributes each resource accepts (WSME rejects any other one).
ATTRIBUTES = {
    'loadbalancer': _COMMON + (
        'description', 'vip_address', 'vip_port_id', 'vip_subnet_id',
        'vip_network_id', 'vip_qos_policy_id', 'provider', 'flavor_id',
        'availability_zone', 'additional_vips', 'vip_sg_ids'),
    'listener': _COMMON + (
        'description', 'loadbalancer_id', 'protocol', 'protocol_port',
        'connection_limit', 'default_pool_id', 'default_tls_container_ref',
        'sni_container_refs', 'insert_headers', 'timeout_client_data',
        'timeout_member_connect', 'timeout_member_data',
        'timeout_tcp_inspect', 'allowed_cidrs', 'tls_ciphers',
        'tls_versions', 'alpn_protocols', 'hsts_max_age',
        'hsts_include_subdomains', 'hsts_preload'),
    'pool': _COMMON + (
        'description', 'listener_id', 'loadbalancer_id', 'protocol',
        'lb_algorithm', 'session_persistence', 'tls_enabled',
        'tls_container_ref', 'ca_tls_container_ref', 'crl_container_ref',
        'tls_ciphers', 'tls_versions', 'alpn_protocols'),
    'member': _COMMON + (
        'address', 'protocol_port', 'weight', 'backup', 'subnet_id',
        'monitor_address', 'monitor_port', 'request_sriov'),
    'healthmonitor': _COMMON + (
        'pool_id', 'type', 'delay', 'timeout', 'max_retries',
        'max_retries_down', 'http_method', 'url_path', 'expected_codes',
        'http_version', 'domain_name'),
}
_STRING_ATTRS = ('name', 'description', 'project_id', 'tenant_id',
                 'vip_address', 'vip_port_id', 'vip_subnet_id',
                 'vip_network_id', 'provider', 'flavor_id',
                 'availability_zone', 'loadbalancer_id', 'listener_id',
                 'pool_id', 'default_pool_id', 'subnet_id', 'address',
                 'monitor_address', 'http_method', 'url_path',
                 'expected_codes', 'domain_name')


def _check_attributes(kind, body):
    for key, value in body.items():
        if key not in ATTRIBUTES[kind]:
            raise Fault(400, 'Invalid input for field/attribute %s. Value: '
                             '%r. Unknown attribute for argument %s: %s'
                        % (kind, body, kind, key))
        if key in _STRING_ATTRS and value is not None \
                and not isinstance(value, str):
            raise _invalid(key, value, "Wrong type. Expected '<class "
                                       "'str'>', got '%s'" % type(value))
    tags = body.get('tags', [])
    if not isinstance(tags, list) or not all(isinstance(t, str)
                                             for t in tags):
        raise _invalid('tags', tags, "Wrong type. Expected '[<class "
                                     "'str'>]'")
    persistence = body.get('session_persistence')
    if persistence is not None and not isinstance(persistence, dict):
        raise _invalid('session_persistence', persistence,
                       "Wrong type. Expected 'SessionPersistencePOST'")


class OctaviaAPI(Service):
    """The Octavia v2 API of the lab, served on its own port."""

    service_type = 'load-balancer'
    name = 'octavia'
    endpoint_path = ''

    def __init__(self, lab):
        self.loadbalancers = {}
        self.listeners = {}
        self.pools = {}
        self.members = {}        # pool id -> {member id -> member}
        self.healthmonitors = {}
        self.pending = {}        # load balancer id -> time it settles
        self.provisioning_delay = float(
            getattr(lab, 'delays', {}).get('lb_provisioning', 0.5))
        super().__init__(lab)

    # -- state -----------------------------------------------------------
    def snapshot(self):
        """Everything this service holds, as a JSON-serialisable dict."""
        with self.lock:
            return copy.deepcopy({
                'loadbalancers': self.loadbalancers,
                'listeners': self.listeners, 'pools': self.pools,
                'members': self.members,
                'healthmonitors': self.healthmonitors,
                'pending': self.pending})

    def restore(self, state):
        """Replace the state with one returned by :meth:`snapshot`."""
        state = copy.deepcopy(state)
        with self.lock:
            for key in ('loadbalancers', 'listeners', 'pools', 'members',
                        'healthmonitors', 'pending'):
                setattr(self, key, state[key])

    # -- provisioning state machine --------------------------------------
    def _settle(self):
        """Finish every provisioning whose delay has passed."""
        now = time.time()
        for lb_id, ready_at in list(self.pending.items()):
            if now >= ready_at:
                del self.pending[lb_id]
                self._finish(lb_id)

    def _children(self, lb_id):
        for listener in list(self.listeners.values()):
            if listener['loadbalancers'][0]['id'] == lb_id:
                yield 'listener', listener
        for pool in list(self.pools.values()):
            if pool['loadbalancers'][0]['id'] == lb_id:
                yield 'pool', pool
                for member in list(self.members.get(pool['id'], {}).values()):
                    yield 'member', member
                hm = self.healthmonitors.get(pool['healthmonitor_id'])
                if hm is not None:
                    yield 'healthmonitor', hm

    def _finish(self, lb_id):
        lb = self.loadbalancers.get(lb_id)
        if lb is None:
            return
        if lb['provisioning_status'] == 'PENDING_DELETE':
            for kind, obj in list(self._children(lb_id)):
                self._remove(kind, obj)
            if lb.get('vip_port_id'):
                neutron = getattr(self.lab, 'neutron', None)
                if neutron is not None:
                    neutron.delete_port(lb['vip_port_id'])
            del self.loadbalancers[lb_id]
            return
        for kind, obj in list(self._children(lb_id)):
            if obj['provisioning_status'] == 'PENDING_DELETE':
                self._remove(kind, obj)
            elif obj['provisioning_status'].startswith('PENDING_'):
                obj['provisioning_status'] = 'ACTIVE'
        lb['provisioning_status'] = 'ACTIVE'

    def _remove(self, kind, obj):
        if kind == 'listener':
            self.listeners.pop(obj['id'], None)
            for pool in self.pools.values():
                pool['listeners'] = [x for x in pool['listeners']
                                     if x['id'] != obj['id']]
            lb = self.loadbalancers.get(obj['loadbalancers'][0]['id'])
            if lb:
                lb['listeners'] = [x for x in lb['listeners']
                                   if x['id'] != obj['id']]
        elif kind == 'pool':
            self.pools.pop(obj['id'], None)
            self.members.pop(obj['id'], None)
            self.healthmonitors.pop(obj['healthmonitor_id'], None)
            for listener in self.listeners.values():
                if listener['default_pool_id'] == obj['id']:
                    listener['default_pool_id'] = None
            lb = self.loadbalancers.get(obj['loadbalancers'][0]['id'])
            if lb:
                lb['pools'] = [x for x in lb['pools'] if x['id'] != obj['id']]
        elif kind == 'member':
            for pool_id, members in self.members.items():
                if members.pop(obj['id'], None) is not None:
                    pool = self.pools.get(pool_id)
                    if pool:
                        pool['members'] = [x for x in pool['members']
                                           if x['id'] != obj['id']]
        elif kind == 'healthmonitor':
            self.healthmonitors.pop(obj['id'], None)
            for pool in self.pools.values():
                if pool['healthmonitor_id'] == obj['id']:
                    pool['healthmonitor_id'] = None

    def _check_mutable(self, lb_id, pool=None):
        # Octavia checks the pool of a member or health monitor change
        # first: while another such change is provisioned the pool is
        # PENDING_UPDATE and the 409 names the pool.
        if pool is not None and pool['provisioning_status'] != 'ACTIVE':
            raise Fault(409, 'Pool %s is immutable and cannot be updated.'
                        % pool['id'])
        if self.loadbalancers[lb_id]['provisioning_status'] != 'ACTIVE':
            raise Fault(409, 'Load Balancer %s is immutable and cannot be '
                             'updated.' % lb_id)

    def _parent_pool(self, kind, obj):
        """The pool a member or health monitor change locks too."""
        if kind == 'member':
            return self.pools[obj['pool_id']]
        if kind == 'healthmonitor':
            return self.pools[obj['pools'][0]['id']]
        return None

    def _begin(self, lb_id, obj=None, status='PENDING_UPDATE', pool=None):
        """Lock ``lb_id`` for a change or raise 409 immutable.

        A member or health monitor change (``pool``) locks its pool and
        the pool's listeners as well, as Octavia does.
        """
        lb = self.loadbalancers[lb_id]
        self._check_mutable(lb_id, pool)
        if obj is not None:
            obj['provisioning_status'] = status
            obj['updated_at'] = _now()
        if obj is not lb:
            lb['provisioning_status'] = 'PENDING_UPDATE'
        if pool is not None:
            pool['provisioning_status'] = 'PENDING_UPDATE'
            for ref in pool['listeners']:
                listener = self.listeners.get(ref['id'])
                if listener is not None:
                    listener['provisioning_status'] = 'PENDING_UPDATE'
        self._schedule(lb_id)

    def _schedule(self, lb_id):
        self.pending[lb_id] = time.time() + self.provisioning_delay
        if self.provisioning_delay <= 0:
            self._settle()

    # -- operating status ------------------------------------------------
    def _backend_up(self, member):
        """Whether the server holding the member's address runs."""
        neutron = getattr(self.lab, 'neutron', None)
        if neutron is None:
            return True
        address = member.get('monitor_address') or member['address']
        port = neutron.find_port_by_ip(address, member.get('subnet_id')) \
            or neutron.find_port_by_ip(address)
        candidates = [port] if port else []
        if not candidates:
            # A VRRP/keepalived address: any port allowed to hold it.
            with neutron.lock:
                candidates = [copy.deepcopy(p) for p in neutron.ports.values()
                              if any(pair['ip_address'] == address
                                     for pair in p['allowed_address_pairs'])]
        nova = getattr(self.lab, 'nova', None)
        running = getattr(nova, 'server_running', None)
        for port in candidates:
            if not port['admin_state_up'] or not port['device_id']:
                continue
            if running is None:
                if port['status'] == 'ACTIVE':
                    return True
            elif running(port['device_id']):
                return True
        return False

    def _member_status(self, pool, member):
        if not member['admin_state_up']:
            return 'OFFLINE'
        hm = self.healthmonitors.get(pool['healthmonitor_id'])
        if hm is None or not hm['admin_state_up']:
            return 'NO_MONITOR'
        if member['provisioning_status'] == 'PENDING_CREATE':
            return 'OFFLINE'
        return 'ONLINE' if self._backend_up(member) else 'ERROR'

    def _pool_status(self, pool):
        if not pool['admin_state_up']:
            return 'OFFLINE'
        members = list(self.members.get(pool['id'], {}).values())
        if not members:
            return 'ONLINE'
        statuses = [self._member_status(pool, m) for m in members
                    if m['admin_state_up']]
        if not statuses or all(s == 'ERROR' for s in statuses):
            return 'ERROR'
        if 'ERROR' in statuses:
            return 'DEGRADED'
        return 'ONLINE'

    def _listener_status(self, listener):
        if not listener['admin_state_up']:
            return 'OFFLINE'
        pool = self.pools.get(listener['default_pool_id'])
        if pool is None:
            return 'ONLINE'
        status = self._pool_status(pool)
        return 'ONLINE' if status == 'OFFLINE' else status

    def _lb_status(self, lb):
        if not lb['admin_state_up']:
            return 'OFFLINE'
        if lb['provisioning_status'] == 'PENDING_CREATE':
            return 'OFFLINE'
        worst = 'ONLINE'
        for kind, obj in self._children(lb['id']):
            if kind == 'listener':
                status = self._listener_status(obj)
            elif kind == 'pool':
                status = self._pool_status(obj)
                status = 'ONLINE' if status == 'OFFLINE' else status
            else:
                continue
            if _SEVERITY[status] > _SEVERITY[worst]:
                worst = status
        return worst

    def _view(self, kind, obj):
        view = copy.deepcopy(obj)
        if kind == 'loadbalancer':
            view['operating_status'] = self._lb_status(obj)
        elif kind == 'listener':
            view['operating_status'] = self._listener_status(obj)
        elif kind == 'pool':
            view['operating_status'] = self._pool_status(obj)
        elif kind == 'member':
            view['operating_status'] = self._member_status(
                self.pools[obj['pool_id']], obj)
            del view['pool_id']
        elif kind == 'healthmonitor':
            view['operating_status'] = 'ONLINE' if obj['admin_state_up'] \
                else 'OFFLINE'
        return view

    # -- WSGI plumbing ---------------------------------------------------
    def malformed_input(self, exc):
        # Malformed input the checks missed: 400, never a 500.
        return Fault(400, 'Invalid input: %s' % exc)

    def fault_body(self, fault):
        return {'faultcode': 'Client' if fault.status < 500 else 'Server',
                'faultstring': fault.message, 'debuginfo': None}

    def setup_routes(self):
        self.route('GET', '/', self.versions, public=True)
        self.route('GET', '/v2', self.version_root, public=True)
        self.route('GET', '/v2.0', self.version_root, public=True)
        # Octavia serves the same API under /v2 and /v2.0.
        for base in ('/v2/lbaas', '/v2.0/lbaas'):
            self._setup_lbaas_routes(base)

    def _setup_lbaas_routes(self, base):
        for kind, coll in (('loadbalancer', 'loadbalancers'),
                           ('listener', 'listeners'), ('pool', 'pools'),
                           ('healthmonitor', 'healthmonitors')):
            self.route('GET', '%s/%s' % (base, coll), self._lister(kind))
            self.route('POST', '%s/%s' % (base, coll), self._creator(kind))
            self.route('GET', '%s/%s/{obj_id}' % (base, coll),
                       self._shower(kind))
            self.route('PUT', '%s/%s/{obj_id}' % (base, coll),
                       self._updater(kind))
            self.route('DELETE', '%s/%s/{obj_id}' % (base, coll),
                       self._deleter(kind))
        members = base + '/pools/{pool_id}/members'
        self.route('GET', members, self._lister('member'))
        self.route('POST', members, self._creator('member'))
        self.route('GET', members + '/{obj_id}', self._shower('member'))
        self.route('PUT', members + '/{obj_id}', self._updater('member'))
        self.route('DELETE', members + '/{obj_id}', self._deleter('member'))
        lbs = base + '/loadbalancers/{obj_id}'
        self.route('GET', lbs + '/status', self.status_tree)
        self.route('GET', lbs + '/stats', self.stats)
        self.route('PUT', lbs + '/failover', self.failover)
        self.route('GET', base + '/providers', self.providers)

    def versions(self, req, ctx):
        """Version discovery: every v2.x, the newest CURRENT."""
        href = req.host_url + '/v2'
        return 200, {'versions': [
            {'id': 'v2.%d' % minor,
             'status': 'CURRENT' if minor == API_MINOR else 'SUPPORTED',
             'updated': '2016-12-11T00:00:00Z',
             'links': [{'href': href, 'rel': 'self'}]}
            for minor in range(API_MINOR + 1)]}

    def version_root(self, req, ctx):
        """``GET /v2``: the same version list."""
        return self.versions(req, ctx)

    def providers(self, req, ctx):
        """``GET /v2/lbaas/providers``."""
        return 200, {'providers': [
            {'name': 'amphora', 'description': 'The Octavia Amphora driver.'},
            {'name': 'octavia', 'description': 'Deprecated alias of the '
                                               'Octavia Amphora driver.'}]}

    # -- generic handlers --------------------------------------------------
    def _store(self, kind, pool_id=None):
        if kind == 'member':
            return self.members.get(pool_id, {})
        return {'loadbalancer': self.loadbalancers,
                'listener': self.listeners, 'pool': self.pools,
                'healthmonitor': self.healthmonitors}[kind]

    @staticmethod
    def _visible(ctx, obj):
        return ctx is None or ctx.is_admin \
            or obj.get('project_id') == ctx.project_id

    def _get(self, ctx, kind, obj_id, pool_id=None):
        if kind == 'member':
            self._get(ctx, 'pool', pool_id)
        obj = self._store(kind, pool_id).get(obj_id)
        if obj is None or not self._visible(ctx, obj):
            raise Fault(404, '%s %s not found.' % (_NAMES[kind], obj_id))
        return obj

    @staticmethod
    def _check_writer(ctx):
        if ctx is not None and not ctx.can_write:
            raise Fault(403, 'Policy does not allow this request to be '
                             'performed.')

    def _lb_of(self, kind, obj):
        if kind == 'loadbalancer':
            return obj['id']
        if kind == 'member':
            return self.pools[obj['pool_id']]['loadbalancers'][0]['id']
        if kind == 'healthmonitor':
            return self.pools[obj['pools'][0]['id']]['loadbalancers'][0]['id']
        return obj['loadbalancers'][0]['id']

    def _lister(self, kind):
        coll = kind + 's'

        def handler(req, ctx, pool_id=None):
            with self.lock:
                self._settle()
                if kind == 'member':
                    self._get(ctx, 'pool', pool_id)
                items = [self._view(kind, o)
                         for o in self._store(kind, pool_id).values()
                         if self._visible(ctx, o)]
            for key, value in req.GET.items():
                if key in ('fields', 'limit', 'marker', 'sort', 'sort_key',
                           'sort_dir', 'page_reverse'):
                    continue
                items = [o for o in items
                         if str(o.get(key)).lower() == value.lower()]
            items.sort(key=lambda o: o['created_at'])
            fields = req.GET.getall('fields')
            if fields:
                items = [{k: v for k, v in o.items() if k in fields}
                         for o in items]
            return 200, {coll: items, coll + '_links': []}
        return handler

    def _shower(self, kind):
        def handler(req, ctx, obj_id, pool_id=None):
            with self.lock:
                self._settle()
                return 200, {kind: self._view(kind, self._get(
                    ctx, kind, obj_id, pool_id))}
        return handler

    def _creator(self, kind):
        make = getattr(self, '_make_' + kind)

        def handler(req, ctx, pool_id=None):
            self._check_writer(ctx)
            body = self.json_body(req, kind)
            _check_attributes(kind, body)
            project = body.get('project_id') or (ctx.project_id if ctx
                                                  else 'admin')
            if ctx is not None and not ctx.is_admin \
                    and project != ctx.project_id:
                raise Fault(403, 'Policy does not allow this request to be '
                                 'performed.')
            with self.lock:
                self._settle()
                obj = make(ctx, project, body, pool_id)
                return 201, {kind: self._view(kind, obj)}
        return handler

    def _updater(self, kind):
        def handler(req, ctx, obj_id, pool_id=None):
            self._check_writer(ctx)
            body = self.json_body(req, kind)
            _check_attributes(kind, body)
            with self.lock:
                self._settle()
                obj = self._get(ctx, kind, obj_id, pool_id)
                pool = self._parent_pool(kind, obj)
                self._check_mutable(self._lb_of(kind, obj), pool)
                new = copy.deepcopy(obj)
                for key in ('name', 'description', 'tags'):
                    if key in body:
                        new[key] = body[key]
                if 'admin_state_up' in body:
                    new['admin_state_up'] = _bool(body, 'admin_state_up', True)
                getattr(self, '_update_' + kind, lambda n, b: None)(new, body)
                self._begin(self._lb_of(kind, obj), obj, pool=pool)
                status = obj['provisioning_status']
                obj.update(new)
                obj['provisioning_status'] = status
                return 200, {kind: self._view(kind, obj)}
        return handler

    def _deleter(self, kind):
        def handler(req, ctx, obj_id, pool_id=None):
            self._check_writer(ctx)
            with self.lock:
                self._settle()
                obj = self._get(ctx, kind, obj_id, pool_id)
                if kind == 'loadbalancer':
                    cascade = req.GET.get('cascade', '').lower() == 'true'
                    if (obj['listeners'] or obj['pools']) and not cascade:
                        raise Fault(400, 'Cannot delete Load Balancer %s - it'
                                         ' has children' % obj_id)
                    self._begin(obj_id, obj, 'PENDING_DELETE')
                    for _, child in self._children(obj_id):
                        child['provisioning_status'] = 'PENDING_DELETE'
                else:
                    self._begin(self._lb_of(kind, obj), obj, 'PENDING_DELETE',
                                pool=self._parent_pool(kind, obj))
                    if kind == 'pool':
                        for member in self.members.get(obj_id, {}).values():
                            member['provisioning_status'] = 'PENDING_DELETE'
            return 204, None
        return handler

    @staticmethod
    def _base(project, body, kind):
        now = _now()
        obj = {'id': str(uuid.uuid4()), 'name': body.get('name', ''),
               'project_id': project, 'tenant_id': project,
               'provisioning_status': 'PENDING_CREATE',
               'admin_state_up': _bool(body, 'admin_state_up', True),
               'created_at': now, 'updated_at': None,
               'tags': list(body.get('tags', []))}
        if kind != 'member':
            obj['description'] = body.get('description', '')
        return obj

    # -- load balancers ----------------------------------------------------
    def _make_loadbalancer(self, ctx, project, body, pool_id):
        if not any(body.get(k) for k in ('vip_subnet_id', 'vip_network_id',
                                         'vip_port_id')):
            raise Fault(400, 'Validation failure: VIP must contain one of: '
                             'vip_port_id, vip_network_id, vip_subnet_id.')
        if body.get('provider', 'amphora') not in ('amphora', 'octavia'):
            raise Fault(400, 'Provider \'%s\' is not enabled.'
                        % body['provider'])
        lb = self._base(project, body, 'loadbalancer')
        lb.update({'vip_address': body.get('vip_address'),
                   'vip_port_id': body.get('vip_port_id'),
                   'vip_subnet_id': body.get('vip_subnet_id'),
                   'vip_network_id': body.get('vip_network_id'),
                   'vip_qos_policy_id': None, 'vip_vnic_type': 'normal',
                   'additional_vips': [], 'listeners': [], 'pools': [],
                   'provider': body.get('provider', 'amphora'),
                   'flavor_id': body.get('flavor_id'),
                   'availability_zone': body.get('availability_zone')})
        self._allocate_vip(lb, project)
        self.loadbalancers[lb['id']] = lb
        self._schedule(lb['id'])
        return lb

    def _allocate_vip(self, lb, project):
        neutron = getattr(self.lab, 'neutron', None)
        if neutron is None:
            lb['vip_address'] = lb['vip_address'] or '10.0.0.250'
            lb['vip_port_id'] = lb['vip_port_id'] or str(uuid.uuid4())
            return
        try:
            if lb['vip_port_id']:
                port = neutron.get_port(lb['vip_port_id'])
                if port is None:
                    raise Fault(400, 'Validation failure: Port %s could not '
                                     'be found.' % lb['vip_port_id'])
            else:
                port = neutron.create_service_port(
                    project, network_id=lb['vip_network_id'],
                    subnet_id=lb['vip_subnet_id'],
                    ip_address=lb['vip_address'],
                    name='octavia-lb-%s' % lb['id'], device_owner='Octavia',
                    device_id='lb-%s' % lb['id'])
        except Fault as exc:
            if exc.status == 404:
                raise Fault(400, 'Validation failure: %s' % exc.message)
            raise Fault(exc.status, exc.message)
        lb['vip_port_id'] = port['id']
        lb['vip_network_id'] = port['network_id']
        lb['vip_subnet_id'] = port['fixed_ips'][0]['subnet_id']
        lb['vip_address'] = port['fixed_ips'][0]['ip_address']

    def _update_loadbalancer(self, new, body):
        for key in ('vip_address', 'vip_subnet_id', 'vip_port_id',
                    'vip_network_id', 'provider'):
            if key in body and body[key] != new.get(key):
                raise _invalid(key, body[key], 'The attribute is read-only.')

    def status_tree(self, req, ctx, obj_id):
        """``GET /loadbalancers/{id}/status``: the operating status tree."""
        with self.lock:
            self._settle()
            lb = self._get(ctx, 'loadbalancer', obj_id)

            def pool_tree(pool):
                tree = {'id': pool['id'], 'name': pool['name'],
                        'provisioning_status': pool['provisioning_status'],
                        'operating_status': self._pool_status(pool),
                        'members': [{
                            'id': m['id'], 'name': m['name'],
                            'address': m['address'],
                            'protocol_port': m['protocol_port'],
                            'provisioning_status': m['provisioning_status'],
                            'operating_status': self._member_status(pool, m)}
                            for m in self.members.get(pool['id'], {}).values()
                        ]}
                hm = self.healthmonitors.get(pool['healthmonitor_id'])
                if hm is not None:
                    tree['health_monitor'] = {
                        'id': hm['id'], 'name': hm['name'], 'type': hm['type'],
                        'provisioning_status': hm['provisioning_status'],
                        'operating_status': 'ONLINE'}
                return tree
            listeners = []
            for ref in lb['listeners']:
                listener = self.listeners[ref['id']]
                pool = self.pools.get(listener['default_pool_id'])
                pools = [pool_tree(pool)] if pool is not None else []
                listeners.append({
                    'id': listener['id'], 'name': listener['name'],
                    'provisioning_status': listener['provisioning_status'],
                    'operating_status': self._listener_status(listener),
                    'pools': pools})
            return 200, {'statuses': {'loadbalancer': {
                'id': lb['id'], 'name': lb['name'],
                'provisioning_status': lb['provisioning_status'],
                'operating_status': self._lb_status(lb),
                'listeners': listeners}}}

    def stats(self, req, ctx, obj_id):
        """``GET /loadbalancers/{id}/stats``: all zero."""
        with self.lock:
            self._get(ctx, 'loadbalancer', obj_id)
        return 200, {'stats': {'active_connections': 0, 'bytes_in': 0,
                               'bytes_out': 0, 'request_errors': 0,
                               'total_connections': 0}}

    def failover(self, req, ctx, obj_id):
        """``PUT /loadbalancers/{id}/failover`` (admin): PENDING_UPDATE."""
        if ctx is not None and not ctx.is_admin:
            raise Fault(403, 'Policy does not allow this request to be '
                             'performed.')
        with self.lock:
            self._settle()
            lb = self._get(ctx, 'loadbalancer', obj_id)
            self._begin(obj_id, lb)
        return 202, None

    # -- listeners ---------------------------------------------------------
    def _make_listener(self, ctx, project, body, pool_id):
        lb_id = body.get('loadbalancer_id')
        if not lb_id:
            raise _invalid('loadbalancer_id', None, 'Mandatory field missing.')
        lb = self._get(ctx, 'loadbalancer', lb_id)
        protocol = _choice(body, 'protocol', PROTOCOLS)
        port = _int(body, 'protocol_port', None, 1, 65535)
        if port is None:
            raise _invalid('protocol_port', None, 'Mandatory field missing.')
        for other in self.listeners.values():
            if other['loadbalancers'][0]['id'] == lb_id \
                    and other['protocol_port'] == port \
                    and (other['protocol'] == 'UDP') == (protocol == 'UDP'):
                raise Fault(409, 'Another Listener on this Load Balancer is '
                                 'already using protocol_port %d' % port)
        listener = self._base(project, body, 'listener')
        listener.update({
            'protocol': protocol, 'protocol_port': port,
            'connection_limit': _int(body, 'connection_limit', -1, -1,
                                     1000000),
            'default_pool_id': None, 'loadbalancers': [{'id': lb_id}],
            'default_tls_container_ref': body.get('default_tls_container_ref'),
            'sni_container_refs': body.get('sni_container_refs', []),
            'l7policies': [], 'insert_headers': body.get('insert_headers', {}),
            'timeout_client_data': body.get('timeout_client_data', 50000),
            'timeout_member_connect': body.get('timeout_member_connect', 5000),
            'timeout_member_data': body.get('timeout_member_data', 50000),
            'timeout_tcp_inspect': body.get('timeout_tcp_inspect', 0),
            'allowed_cidrs': body.get('allowed_cidrs'),
            'tls_ciphers': None, 'tls_versions': None, 'alpn_protocols': None,
            'hsts_max_age': None, 'hsts_include_subdomains': False,
            'hsts_preload': False})
        if body.get('default_pool_id'):
            pool = self._get(ctx, 'pool', body['default_pool_id'])
            listener['default_pool_id'] = pool['id']
            pool['listeners'].append({'id': listener['id']})
        self._begin(lb_id)
        self.listeners[listener['id']] = listener
        lb['listeners'].append({'id': listener['id']})
        return listener

    def _update_listener(self, new, body):
        if 'default_pool_id' in body:
            pool_id = body['default_pool_id']
            if pool_id is not None and pool_id not in self.pools:
                raise Fault(404, 'Pool %s not found.' % pool_id)
            for pool in self.pools.values():
                pool['listeners'] = [x for x in pool['listeners']
                                     if x['id'] != new['id']]
            if pool_id is not None:
                self.pools[pool_id]['listeners'].append({'id': new['id']})
            new['default_pool_id'] = pool_id
        if 'connection_limit' in body:
            new['connection_limit'] = _int(body, 'connection_limit', -1, -1,
                                           1000000)

    # -- pools -------------------------------------------------------------
    def _make_pool(self, ctx, project, body, pool_id):
        listener = None
        if body.get('listener_id'):
            listener = self._get(ctx, 'listener', body['listener_id'])
            lb_id = listener['loadbalancers'][0]['id']
            if listener['default_pool_id']:
                raise Fault(409, 'Listener %s already has a default pool'
                            % listener['id'])
        elif body.get('loadbalancer_id'):
            lb_id = self._get(ctx, 'loadbalancer', body['loadbalancer_id'])['id']
        else:
            raise Fault(400, 'Validation failure: Either loadbalancer_id or '
                             'listener_id must be specified.')
        pool = self._base(project, body, 'pool')
        pool.update({
            'protocol': _choice(body, 'protocol', POOL_PROTOCOLS),
            'lb_algorithm': _choice(body, 'lb_algorithm', ALGORITHMS),
            'session_persistence': body.get('session_persistence'),
            'loadbalancers': [{'id': lb_id}],
            'listeners': [{'id': listener['id']}] if listener else [],
            'members': [], 'healthmonitor_id': None, 'tls_enabled': False,
            'tls_container_ref': None, 'ca_tls_container_ref': None,
            'crl_container_ref': None, 'tls_ciphers': None,
            'tls_versions': None, 'alpn_protocols': None})
        self._begin(lb_id)
        self.pools[pool['id']] = pool
        self.members[pool['id']] = {}
        self.loadbalancers[lb_id]['pools'].append({'id': pool['id']})
        if listener:
            listener['default_pool_id'] = pool['id']
        return pool

    def _update_pool(self, new, body):
        if 'lb_algorithm' in body:
            new['lb_algorithm'] = _choice(body, 'lb_algorithm', ALGORITHMS)
        if 'session_persistence' in body:
            new['session_persistence'] = body['session_persistence']

    # -- members -----------------------------------------------------------
    def _make_member(self, ctx, project, body, pool_id):
        pool = self._get(ctx, 'pool', pool_id)
        address = body.get('address')
        try:
            ipaddress.ip_address(address or '')
        except ValueError:
            raise _invalid('address', address, 'Value should be IPv4 or IPv6 '
                                               'format')
        port = _int(body, 'protocol_port', None, 1, 65535)
        if port is None:
            raise _invalid('protocol_port', None, 'Mandatory field missing.')
        for other in self.members[pool_id].values():
            if other['address'] == address and other['protocol_port'] == port:
                raise Fault(409, 'Another member on this pool is already using'
                                 ' ip %s on protocol_port %d' % (address, port))
        subnet_id = body.get('subnet_id')
        neutron = getattr(self.lab, 'neutron', None)
        if subnet_id and neutron is not None \
                and subnet_id not in neutron.subnets:
            raise Fault(400, 'Validation failure: Subnet %s not found.'
                        % subnet_id)
        member = self._base(project, body, 'member')
        member.update({
            'address': address, 'protocol_port': port,
            'weight': _int(body, 'weight', 1, 0, 256),
            'backup': _bool(body, 'backup', False), 'subnet_id': subnet_id,
            'monitor_address': body.get('monitor_address'),
            'monitor_port': body.get('monitor_port'), 'vnic_type': 'normal',
            'pool_id': pool_id})
        self._begin(pool['loadbalancers'][0]['id'], pool=pool)
        self.members[pool_id][member['id']] = member
        pool['members'].append({'id': member['id']})
        return member

    def _update_member(self, new, body):
        if 'weight' in body:
            new['weight'] = _int(body, 'weight', 1, 0, 256)
        if 'backup' in body:
            new['backup'] = _bool(body, 'backup', False)
        for key in ('monitor_address', 'monitor_port'):
            if key in body:
                new[key] = body[key]
        for key in ('address', 'protocol_port', 'subnet_id'):
            if key in body and body[key] != new[key]:
                raise _invalid(key, body[key], 'The attribute is read-only.')

    # -- health monitors ---------------------------------------------------
    def _make_healthmonitor(self, ctx, project, body, pool_id):
        pool_id = body.get('pool_id')
        if not pool_id:
            raise _invalid('pool_id', None, 'Mandatory field missing.')
        pool = self._get(ctx, 'pool', pool_id)
        if pool['healthmonitor_id']:
            raise Fault(409, 'This pool already has a health monitor')
        hm_type = _choice(body, 'type', MONITOR_TYPES)
        delay = _int(body, 'delay', None, 0, 2147483647)
        timeout = _int(body, 'timeout', None, 0, 2147483647)
        retries = _int(body, 'max_retries', None, 1, 10)
        for field, value in (('delay', delay), ('timeout', timeout),
                             ('max_retries', retries)):
            if value is None:
                raise _invalid(field, None, 'Mandatory field missing.')
        if timeout > delay:
            raise Fault(400, 'Validation failure: The request delay value %d '
                             'should be larger than the request timeout value'
                             ' %d.' % (delay, timeout))
        hm = self._base(project, body, 'healthmonitor')
        http = hm_type in ('HTTP', 'HTTPS')
        hm.update({
            'type': hm_type, 'delay': delay, 'timeout': timeout,
            'max_retries': retries,
            'max_retries_down': _int(body, 'max_retries_down', 3, 1, 10),
            'http_method': body.get('http_method', 'GET') if http else None,
            'url_path': body.get('url_path', '/') if http else None,
            'expected_codes': body.get('expected_codes', '200') if http
            else None, 'http_version': body.get('http_version'),
            'domain_name': body.get('domain_name'),
            'pools': [{'id': pool_id}]})
        self._begin(pool['loadbalancers'][0]['id'], pool=pool)
        self.healthmonitors[hm['id']] = hm
        pool['healthmonitor_id'] = hm['id']
        return hm

    def _update_healthmonitor(self, new, body):
        for key in ('delay', 'timeout', 'max_retries', 'max_retries_down'):
            if key in body:
                new[key] = _int(body, key, None, 0, 2147483647)
        for key in ('http_method', 'url_path', 'expected_codes'):
            if key in body:
                new[key] = body[key]
