"""Keystone v3 for the lab: password auth, tokens, catalog, projects, roles.

Only what keystoneauth and openstacksdk need to authenticate and discover
the other services, plus the read APIs an operator expects.  Seeded with::

    project admin: user admin / vmr-lab-admin   role admin
    project demo:  user demo  / vmr-lab-demo    role member
                   user viewer / vmr-lab-viewer role reader
"""

import copy
import datetime
import json
import uuid

import webob

from vmr_lab.services.base import AuthContext
from vmr_lab.services.base import Fault
from vmr_lab.services.base import Service

DEFAULT_DOMAIN = {'id': 'default', 'name': 'Default'}
TOKEN_LIFETIME = datetime.timedelta(hours=12)

_TITLES = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
           404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
           500: 'Internal Server Error', 503: 'Service Unavailable'}


def _isotime(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class KeystoneAPI(Service):
    """The identity service (v3) of the lab."""

    service_type = 'identity'
    name = 'keystone'
    endpoint_path = '/v3'

    def __init__(self, lab):
        self.projects = {}     # id -> {'id', 'name', ...}
        self.users = {}        # id -> {'id', 'name', 'password', ...}
        self.roles = {}        # id -> {'id', 'name'}
        self.assignments = []  # (user_id, project_id, role_id)
        self.tokens = {}       # token -> record
        super().__init__(lab)
        self._seed()

    # -- seed and management -------------------------------------------
    def _seed(self):
        for role in ('admin', 'member', 'reader'):
            self.add_role(role)
        self.add_project('admin', 'Bootstrap project for the lab admin')
        self.add_project('demo', 'Tenant project of the lab')
        self.add_project('service', 'Service users (Octavia amphorae ...)')
        self.add_user('admin', 'vmr-lab-admin', 'admin', ['admin'])
        self.add_user('demo', 'vmr-lab-demo', 'demo', ['member'])
        self.add_user('viewer', 'vmr-lab-viewer', 'demo', ['reader'])

    def add_role(self, name):
        """Create the role ``name`` (idempotent); return it."""
        with self.lock:
            for role in self.roles.values():
                if role['name'] == name:
                    return role
            role = {'id': uuid.uuid4().hex, 'name': name, 'domain_id': None}
            self.roles[role['id']] = role
            return role

    def add_project(self, name, description=''):
        """Create the project ``name`` (idempotent); return it."""
        with self.lock:
            existing = self.project_by_name(name)
            if existing:
                return existing
            project = {'id': uuid.uuid4().hex, 'name': name,
                       'description': description, 'enabled': True,
                       'domain_id': 'default', 'parent_id': 'default',
                       'is_domain': False, 'tags': [], 'options': {}}
            self.projects[project['id']] = project
            return project

    def add_user(self, name, password, project_name, role_names):
        """Create user ``name`` with roles on ``project_name``; return it."""
        with self.lock:
            project = self.add_project(project_name)
            user = self.user_by_name(name)
            if user is None:
                user = {'id': uuid.uuid4().hex, 'name': name,
                        'domain_id': 'default', 'enabled': True,
                        'default_project_id': project['id'],
                        'password_expires_at': None, 'options': {}}
                self.users[user['id']] = user
            user['password'] = password
            for role_name in role_names:
                role = self.add_role(role_name)
                entry = (user['id'], project['id'], role['id'])
                if entry not in self.assignments:
                    self.assignments.append(entry)
            return user

    def snapshot(self):
        """Projects, users, roles and assignments (tokens are not kept)."""
        with self.lock:
            return copy.deepcopy({
                'projects': self.projects, 'users': self.users,
                'roles': self.roles,
                'assignments': [list(a) for a in self.assignments]})

    def restore(self, state):
        """Replace identities with a :meth:`snapshot`; drop every token."""
        state = copy.deepcopy(state)
        with self.lock:
            self.projects = state['projects']
            self.users = state['users']
            self.roles = state['roles']
            self.assignments = [tuple(a) for a in state['assignments']]
            self.tokens = {}

    def project_by_name(self, name):
        """The project called ``name`` or None."""
        for project in self.projects.values():
            if project['name'] == name:
                return project
        return None

    def user_by_name(self, name):
        """The user called ``name`` or None."""
        for user in self.users.values():
            if user['name'] == name:
                return user
        return None

    def project_id(self, name):
        """The id of project ``name`` (KeyError when unknown)."""
        project = self.project_by_name(name)
        if project is None:
            raise KeyError('no project %r' % name)
        return project['id']

    def roles_of(self, user_id, project_id):
        """Names of the roles ``user_id`` holds on ``project_id``.

        admin implies member and reader, member implies reader, as Keystone's
        default implied roles do.
        """
        names = {self.roles[r]['name'] for (u, p, r) in self.assignments
                 if u == user_id and p == project_id}
        if 'admin' in names:
            names.add('member')
        if 'member' in names:
            names.add('reader')
        return sorted(names)

    def issue_token(self, user_name, project_name):
        """Issue a token without a password (lab-internal helpers)."""
        user = self.user_by_name(user_name)
        project = self.project_by_name(project_name)
        return self._issue(user, project, ['password'])[0]

    def validate(self, token):
        """Return the :class:`AuthContext` of ``token`` or raise Fault(401)."""
        with self.lock:
            record = self.tokens.get(token)
        if record is None or record['expires_at'] < _utcnow():
            raise Fault(401, 'The request you have made requires '
                             'authentication.')
        return AuthContext(token, record['user']['id'], record['user']['name'],
                           record['project']['id'], record['project']['name'],
                           [r['name'] for r in record['roles']])

    # -- service ---------------------------------------------------------
    def fault_body(self, fault):
        return {'error': {'code': fault.status, 'message': fault.message,
                          'title': _TITLES.get(fault.status, 'Error')}}

    def setup_routes(self):
        self.route('GET', '/', self.versions, public=True)
        self.route('GET', '/v3', self.version, public=True)
        self.route('POST', '/v3/auth/tokens', self.create_token, public=True)
        self.route('GET', '/v3/auth/tokens', self.check_token)
        self.route('HEAD', '/v3/auth/tokens', self.check_token)
        self.route('DELETE', '/v3/auth/tokens', self.revoke_token)
        self.route('GET', '/v3/auth/catalog', self.get_catalog)
        self.route('GET', '/v3/auth/projects', self.auth_projects)
        self.route('GET', '/v3/projects', self.list_projects)
        self.route('GET', '/v3/projects/{project_id}', self.show_project)
        self.route('GET', '/v3/users', self.list_users)
        self.route('GET', '/v3/users/{user_id}', self.show_user)
        self.route('GET', '/v3/roles', self.list_roles)
        self.route('GET', '/v3/role_assignments', self.list_assignments)
        # ``openstack role add|remove --user U --project P ROLE``
        path = '/v3/projects/{project_id}/users/{user_id}/roles/{role_id}'
        self.route('PUT', path, self.assign_role)
        self.route('DELETE', path, self.unassign_role)
        self.route('GET', '/v3/services', self.list_services)
        self.route('GET', '/v3/endpoints', self.list_endpoints)

    def _version_doc(self, req):
        return {'id': 'v3.14', 'status': 'stable',
                'updated': '2020-04-07T00:00:00Z',
                'links': [{'rel': 'self', 'href': req.host_url + '/v3/'}],
                'media-types': [{
                    'base': 'application/json',
                    'type': 'application/vnd.openstack.identity-v3+json'}]}

    def versions(self, req, ctx):
        return 300, {'versions': {'values': [self._version_doc(req)]}}

    def version(self, req, ctx):
        return 200, {'version': self._version_doc(req)}

    # -- tokens ------------------------------------------------------------
    def _find_by(self, table, ref, what):
        if not isinstance(ref, dict):
            raise Fault(400, 'Invalid %s reference in the request.' % what)
        if ref.get('id'):
            found = table.get(ref['id'])
        else:
            found = next((x for x in table.values()
                          if x['name'] == ref.get('name')), None)
        return found

    def create_token(self, req, ctx):
        auth = self.json_body(req, 'auth')
        identity = auth.get('identity') or {}
        methods = identity.get('methods') or []
        with self.lock:
            if 'password' in methods:
                pw = (identity.get('password') or {}).get('user') or {}
                user = self._find_by(self.users, pw, 'user')
                if user is None or user['password'] != pw.get('password'):
                    raise Fault(401, 'The request you have made requires '
                                     'authentication.')
            elif 'token' in methods:
                old = (identity.get('token') or {}).get('id')
                record = self.tokens.get(old)
                if record is None:
                    raise Fault(401, 'The request you have made requires '
                                     'authentication.')
                user = self.users[record['user']['id']]
            else:
                raise Fault(400, 'Expecting to find identity methods '
                                 "'password' or 'token' in auth.")
            scope = auth.get('scope') or {}
            project = None
            if 'project' in scope:
                project = self._find_by(self.projects, scope['project'],
                                        'project')
                if project is None:
                    raise Fault(401, 'The request you have made requires '
                                     'authentication.')
            elif scope.get('system') or scope.get('domain'):
                raise Fault(401, 'The lab supports project scope only.')
            else:
                project = self.projects.get(user.get('default_project_id'))
            token, body = self._issue(user, project, methods)
        return self._token_response(201, token, body)

    def _issue(self, user, project, methods):
        now = _utcnow()
        roles = []
        if project is not None:
            roles = [{'id': r['id'], 'name': r['name']}
                     for r in self.roles.values()
                     if r['name'] in self.roles_of(user['id'], project['id'])]
            if not roles:
                raise Fault(401, 'User %s has no access to project %s.'
                            % (user['id'], project['id']))
        token = 'gAAAA' + uuid.uuid4().hex + uuid.uuid4().hex
        record = {'user': user, 'project': project, 'roles': roles,
                  'methods': methods, 'issued_at': now,
                  'expires_at': now + TOKEN_LIFETIME}
        self.tokens[token] = record
        return token, self._token_body(record)

    def _token_body(self, record):
        user = record['user']
        body = {
            'methods': record['methods'],
            'user': {'id': user['id'], 'name': user['name'],
                     'domain': dict(DEFAULT_DOMAIN),
                     'password_expires_at': None},
            'audit_ids': [uuid.uuid4().hex[:22]],
            'issued_at': _isotime(record['issued_at']),
            'expires_at': _isotime(record['expires_at']),
        }
        if record['project'] is not None:
            project = record['project']
            body['project'] = {'id': project['id'], 'name': project['name'],
                               'domain': dict(DEFAULT_DOMAIN)}
            body['is_domain'] = False
            body['roles'] = record['roles']
            body['catalog'] = self.catalog(project['id'])
        return {'token': body}

    @staticmethod
    def _token_response(status, token, body):
        resp = webob.Response(status=status, content_type='application/json',
                              charset='UTF-8')
        resp.text = json.dumps(body)
        resp.headers['X-Subject-Token'] = token
        return resp

    def catalog(self, project_id=None):
        """The service catalog from the lab's running services."""
        entries = []
        for service_type, name, url in self.lab.endpoints(project_id):
            sid = uuid.uuid5(uuid.NAMESPACE_URL, service_type).hex
            endpoints = []
            for interface in ('public', 'internal', 'admin'):
                endpoints.append({
                    'id': uuid.uuid5(uuid.NAMESPACE_URL,
                                     interface + url).hex,
                    'interface': interface, 'region': 'RegionOne',
                    'region_id': 'RegionOne', 'url': url})
            entries.append({'id': sid, 'type': service_type, 'name': name,
                            'endpoints': endpoints})
        return entries

    def _subject(self, req):
        token = req.headers.get('X-Subject-Token')
        with self.lock:
            record = self.tokens.get(token)
        if record is None or record['expires_at'] < _utcnow():
            raise Fault(404, 'Could not find token: %s.' % token)
        return token, record

    def check_token(self, req, ctx):
        token, record = self._subject(req)
        return self._token_response(200, token, self._token_body(record))

    def revoke_token(self, req, ctx):
        token, _ = self._subject(req)
        with self.lock:
            self.tokens.pop(token, None)
        return 204, None

    def get_catalog(self, req, ctx):
        return 200, {'catalog': self.catalog(ctx.project_id),
                     'links': {'self': req.url}}

    # -- read APIs -----------------------------------------------------------
    @staticmethod
    def _public_user(user):
        return {k: v for k, v in user.items() if k != 'password'}

    def auth_projects(self, req, ctx):
        with self.lock:
            projects = [p for p in self.projects.values()
                        if self.roles_of(ctx.user_id, p['id'])]
        return 200, {'projects': projects}

    def _admin(self, ctx):
        if not ctx.is_admin:
            raise Fault(403, 'You are not authorized to perform the '
                             'requested action.')

    def list_projects(self, req, ctx):
        self._admin(ctx)
        name = req.GET.get('name')
        with self.lock:
            projects = [p for p in self.projects.values()
                        if name is None or p['name'] == name]
        return 200, {'projects': projects}

    def show_project(self, req, ctx, project_id):
        with self.lock:
            project = self.projects.get(project_id)
        if project is None or (not ctx.is_admin
                               and project_id != ctx.project_id):
            raise Fault(404, 'Could not find project: %s.' % project_id)
        return 200, {'project': project}

    def list_users(self, req, ctx):
        self._admin(ctx)
        name = req.GET.get('name')
        with self.lock:
            users = [self._public_user(u) for u in self.users.values()
                     if name is None or u['name'] == name]
        return 200, {'users': users}

    def show_user(self, req, ctx, user_id):
        with self.lock:
            user = self.users.get(user_id)
        if user is None or (not ctx.is_admin and user_id != ctx.user_id):
            raise Fault(404, 'Could not find user: %s.' % user_id)
        return 200, {'user': self._public_user(user)}

    def list_roles(self, req, ctx):
        with self.lock:
            return 200, {'roles': list(self.roles.values())}

    def list_assignments(self, req, ctx):
        self._admin(ctx)
        with self.lock:
            rows = [{'user': {'id': u}, 'scope': {'project': {'id': p}},
                     'role': {'id': r}} for (u, p, r) in self.assignments]
        return 200, {'role_assignments': rows}

    def _assignment(self, ctx, project_id, user_id, role_id):
        self._admin(ctx)
        for table, key, what in ((self.projects, project_id, 'project'),
                                 (self.users, user_id, 'user'),
                                 (self.roles, role_id, 'role')):
            if key not in table:
                raise Fault(404, 'Could not find %s: %s.' % (what, key))
        return (user_id, project_id, role_id)

    def assign_role(self, req, ctx, project_id, user_id, role_id):
        with self.lock:
            entry = self._assignment(ctx, project_id, user_id, role_id)
            if entry not in self.assignments:
                self.assignments.append(entry)
        return 204, None

    def unassign_role(self, req, ctx, project_id, user_id, role_id):
        with self.lock:
            entry = self._assignment(ctx, project_id, user_id, role_id)
            if entry not in self.assignments:
                raise Fault(404, 'Could not find role assignment.')
            self.assignments.remove(entry)
        return 204, None

    def list_services(self, req, ctx):
        return 200, {'services': [
            {'id': e['id'], 'type': e['type'], 'name': e['name'],
             'enabled': True} for e in self.catalog()]}

    def list_endpoints(self, req, ctx):
        rows = []
        for entry in self.catalog():
            for ep in entry['endpoints']:
                rows.append(dict(ep, service_id=entry['id'], enabled=True))
        return 200, {'endpoints': rows}
