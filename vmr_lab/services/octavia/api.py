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
import uuid

from vmr_lab.services.base import Fault, Service
from vmr_lab.services.octavia.validation import (
    API_MINOR,
    _bool,
    _check_attributes,
    _NAMES,
    _now,
)
from vmr_lab.services.octavia.resources import Resources
from vmr_lab.services.octavia.states import States


class OctaviaAPI(States, Resources, Service):
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
