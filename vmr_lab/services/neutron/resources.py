"""What every Neutron resource shares: list, show, create, update, delete
and tag handlers, visibility and ownership by project, filters, sorting,
paging, ``fields`` and ``If-Match`` revision checks.

A part of :class:`vmr_lab.services.neutron.NeutronAPI`: a handler made
here calls the resource's own ``_make_<kind>``, ``_update_<kind>`` and
``_delete_<kind>``, defined by the part for that resource.
"""

import copy
import urllib.parse
import uuid

from vmr_lab.services.base import Fault, Service, utc_timestamp
from vmr_lab.services.neutron.attributes import (NeutronFault, bad_input, check_attributes,
                                                 matches, not_found)

#: Query parameters that are not attribute filters.
_NON_FILTERS = {'fields', 'limit', 'marker', 'sort_key', 'sort_dir',
                'page_reverse', 'tags', 'tags-any', 'not-tags',
                'not-tags-any'}


class Resources:
    """The generic resource handlers of the Neutron API (a mixin)."""

    _COLLECTIONS = {
        'network': 'networks', 'subnet': 'subnets', 'port': 'ports',
        'floatingip': 'floatingips', 'router': 'routers',
        'security_group': 'security_groups',
        'security_group_rule': 'security_group_rules',
    }
    #: URL paths that differ from the collection (the JSON key).
    _PATHS = {'security_group': 'security-groups',
              'security_group_rule': 'security-group-rules'}

    def _store(self, kind):
        return getattr(self, self._COLLECTIONS[kind])

    def _visible(self, ctx, kind, res):
        if ctx is None or ctx.is_admin:
            return True
        if res.get('project_id') == ctx.project_id:
            return True
        if kind == 'network':
            return res.get('shared') or res.get('router:external')
        if kind == 'subnet':
            net = self.networks.get(res['network_id'], {})
            return net.get('shared') or net.get('router:external')
        if kind == 'security_group_rule':
            # Policy sg_owner: the group's owner sees every rule in it.
            sg = self.security_groups.get(res['security_group_id'], {})
            return sg.get('project_id') == ctx.project_id
        return False

    def _get(self, ctx, kind, res_id):
        res = self._store(kind).get(res_id)
        if res is None or not self._visible(ctx, kind, res):
            raise not_found(kind, res_id)
        return res

    def _owned(self, ctx, kind, res_id):
        """The resource, if the caller may change it (404/403 otherwise)."""
        res = self._get(ctx, kind, res_id)
        if ctx is not None and not ctx.is_admin:
            owner = res.get('project_id')
            if kind == 'security_group_rule':
                owner = self.security_groups[res['security_group_id']][
                    'project_id']
            if res.get('project_id') != ctx.project_id \
                    and owner != ctx.project_id:
                raise NeutronFault(
                    403, 'HTTPForbidden',
                    "(rule:update_%s) is disallowed by policy" % kind)
        return res

    @staticmethod
    def _check_writer(ctx, action='create', kind='port'):
        if ctx is not None and not ctx.can_write:
            raise NeutronFault(403, 'HTTPForbidden',
                               'rule:%s_%s is disallowed by policy'
                               % (action, kind))

    @staticmethod
    def _check_revision(req, res):
        """``If-Match: revision_number=N``: 412 when the resource moved on."""
        for part in req.headers.get('If-Match', '').split(','):
            key, _, value = part.strip().partition('=')
            if key != 'revision_number':
                continue
            try:
                wanted = int(value)
            except ValueError:
                raise NeutronFault(400, 'HTTPBadRequest',
                                   'Invalid If-Match header: %s' % part)
            if wanted != res['revision_number']:
                raise NeutronFault(412, 'RevisionNumberConstraintFailed',
                                   'Constrained to %d, but current revision '
                                   'is %d' % (wanted, res['revision_number']))

    @staticmethod
    def _body(req, kind):
        try:
            return Service.json_body(req, kind)
        except Fault as exc:
            raise NeutronFault(400, 'HTTPBadRequest', exc.message)

    @staticmethod
    def _fields(req, res):
        fields = req.GET.getall('fields')
        if not fields:
            return res
        return {k: v for k, v in res.items() if k in fields}

    def _filter(self, req, kind, items):
        items = list(items)
        for key in set(req.GET.keys()) - _NON_FILTERS:
            wanted = req.GET.getall(key)
            if kind == 'port' and key in ('fixed_ips', 'ip_address',
                                          'subnet_id'):
                items = [p for p in items
                         if self._port_ip_match(p, key, wanted)]
                continue
            if items and key not in items[0] and key != 'tenant_id':
                raise NeutronFault(
                    400, 'HTTPBadRequest',
                    '[%s] is invalid attribute for filtering' % key)
            field = 'project_id' if key == 'tenant_id' else key
            items = [r for r in items
                     if any(matches(r.get(field), w) for w in wanted)]
        for key, mode in (('tags', all), ('tags-any', any)):
            if key in req.GET:
                tags = req.GET[key].split(',')
                items = [r for r in items
                         if mode(t in r.get('tags', []) for t in tags)]
        sort_key = req.GET.get('sort_key')
        if sort_key:
            items.sort(key=lambda r: str(r.get(sort_key, '')),
                       reverse=req.GET.get('sort_dir') == 'desc')
        return items

    @staticmethod
    def _port_ip_match(port, key, wanted):
        for want in wanted:
            if key == 'fixed_ips' and '=' in want:
                attr, _, value = want.partition('=')
            else:
                attr, value = key, want
            for fip in port['fixed_ips']:
                if attr == 'ip_address_substr':
                    if value in fip['ip_address']:
                        return True
                elif fip.get(attr) == value:
                    return True
        return False

    def _page(self, req, coll, items, path=None):
        body = {}
        limit = req.GET.get('limit')
        marker = req.GET.get('marker')
        if marker:
            ids = [r['id'] for r in items]
            if marker in ids:
                items = items[ids.index(marker) + 1:]
        if limit:
            try:
                limit = int(limit)
            except ValueError:
                raise bad_input("'%s' is not an integer" % limit)
            more = len(items) > limit > 0
            items = items[:limit] if limit > 0 else items
            if more:
                query = dict(req.GET.items())
                query.update(limit=str(limit), marker=items[-1]['id'])
                body[coll + '_links'] = [{
                    'rel': 'next',
                    'href': '%s/v2.0/%s?%s' % (req.host_url, path or coll,
                                               urllib.parse.urlencode(query))}]
        body[coll] = [self._fields(req, r) for r in items]
        return body

    def _lister(self, kind):
        coll = self._COLLECTIONS[kind]

        def handler(req, ctx):
            with self.lock:
                if kind.startswith('security_group') and ctx is not None:
                    # Neutron creates the caller's default group on first use.
                    self._default_sg(ctx.project_id)
                items = [copy.deepcopy(r) for r in self._store(kind).values()
                         if self._visible(ctx, kind, r)]
                items = self._filter(req, kind, items)
                return 200, self._page(req, coll, items,
                                       self._PATHS.get(kind))
        handler.__name__ = 'list_' + coll
        return handler

    def _shower(self, kind):
        def handler(req, ctx, res_id):
            with self.lock:
                res = copy.deepcopy(self._get(ctx, kind, res_id))
            return 200, {kind: self._fields(req, res)}
        handler.__name__ = 'show_' + kind
        return handler

    def _creator(self, kind):
        make = getattr(self, '_make_' + kind)

        def handler(req, ctx):
            body = self._body(req, kind)
            # Neutron's create_port policy ends in "or rule:shared": on a
            # shared network anyone with a token, a reader too, may.
            if not (kind == 'port' and isinstance(body, dict) and
                    self.networks.get(body.get('network_id'), {})
                    .get('shared')):
                self._check_writer(ctx, 'create', kind)
            check_attributes(kind, body, 'POST')
            project = body.get('project_id') or body.get('tenant_id')
            if project and ctx is not None and not ctx.is_admin \
                    and project != ctx.project_id:
                raise NeutronFault(
                    403, 'HTTPForbidden',
                    "(rule:create_%s and rule:create_%s:project_id) is "
                    "disallowed by policy" % (kind, kind))
            project = project or (ctx.project_id if ctx else 'admin')
            with self.lock:
                res = make(project, body, ctx=ctx)
                return 201, {kind: copy.deepcopy(res)}
        handler.__name__ = 'create_' + kind
        return handler

    def _updater(self, kind):
        def handler(req, ctx, res_id):
            self._check_writer(ctx, 'update', kind)
            body = self._body(req, kind)
            check_attributes(kind, body, 'PUT')
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                self._check_revision(req, res)
                update = getattr(self, '_update_' + kind, None)
                if update is None:
                    for key in ('name', 'description'):
                        if key in body:
                            res[key] = body[key]
                else:
                    update(ctx, res, body)
                self._touch(res)
                return 200, {kind: copy.deepcopy(res)}
        handler.__name__ = 'update_' + kind
        return handler

    def _deleter(self, kind):
        def handler(req, ctx, res_id):
            self._check_writer(ctx, 'delete', kind)
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                getattr(self, '_delete_' + kind)(res, ctx=ctx)
            return 204, None
        handler.__name__ = 'delete_' + kind
        return handler

    def _tag_adder(self, kind):
        def handler(req, ctx, res_id, tag):
            self._check_writer(ctx, 'update', kind)
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                if tag not in res['tags']:
                    res['tags'].append(tag)
                    self._touch(res)
            return 201, None
        return handler

    def _tag_remover(self, kind):
        def handler(req, ctx, res_id, tag):
            self._check_writer(ctx, 'update', kind)
            with self.lock:
                res = self._owned(ctx, kind, res_id)
                if tag not in res['tags']:
                    raise NeutronFault(404, 'TagNotFound',
                                       'Tag %s could not be found for %s %s.'
                                       % (tag, kind, res_id))
                res['tags'].remove(tag)
                self._touch(res)
            return 204, None
        return handler

    @staticmethod
    def _standard(project, body):
        now = utc_timestamp()
        return {'id': str(uuid.uuid4()), 'name': body.get('name', ''),
                'description': body.get('description', ''),
                'project_id': project, 'tenant_id': project, 'tags': [],
                'created_at': now, 'updated_at': now, 'revision_number': 0}

    @staticmethod
    def _touch(res):
        res['updated_at'] = utc_timestamp()
        res['revision_number'] = res.get('revision_number', 0) + 1
