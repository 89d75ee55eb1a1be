"""The REST API's WSGI application (WebOb + Routes).

Every coordinator serves it, leader or standby: reads come from one etcd
snapshot per request, writes go to etcd and only the leader acts on them.
:func:`make_app` composes the pieces::

    ErrorCatcher                     never a traceback, always JSON
      └─ PublicSplit                 /healthz /readyz /metrics /v1/alarms/*
                                     /dashboard/* (static: the page reads
                                     the API with the caller's token)
           ├─ public  → Api             /v1/openapi.json: no Keystone
           └─ others  → auth_token(Api)  keystone: token + oslo.policy
                        Api              noauth: the lab only

``/v1/alarms/aodh`` with an ``X-Auth-Token`` (Aodh's ``trust+http``
actions) takes the ``auth_token`` branch too: a Keystone token there is
validated like any other and checked against ``vmr:alarm:aodh``.

The routes live in :mod:`vmr_coordinator.api.routing`, their handlers in
:mod:`vmr_coordinator.api.resources` (one module per resource) and the
error they raise in :mod:`vmr_coordinator.api.errors`.
"""

import json
import logging
import time

import routes
import webob

from vmr_coordinator.api import resources
from vmr_coordinator.api.authconf import register_keystone_opts
from vmr_coordinator.api import routing
from vmr_coordinator.api.errors import ApiError

LOG = logging.getLogger(__name__)

JSON = 'application/json'


def error_response(status, message, field=None, headers=None):
    """The JSON error body every failure uses."""
    error = {'code': int(status), 'message': message}
    if field:
        error['field'] = field
    resp = webob.Response(status=int(status), content_type=JSON,
                          charset='utf-8')
    resp.text = json.dumps({'error': error}, sort_keys=True)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def json_response(status, body, headers=None):
    """A JSON answer (204 and None: no body)."""
    if body is None:
        resp = webob.Response(status=int(status))
        resp.content_type = None
    else:
        resp = webob.Response(status=int(status), content_type=JSON,
                              charset='utf-8')
        resp.text = json.dumps(body, sort_keys=True, default=str)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


class Api:
    """The router: matches a route, checks policy, calls its handler.

    Handlers (in :class:`resources.Resources`) take ``(req, **params)`` and
    return ``(status, body)`` or a ready :class:`webob.Response`; they raise
    :class:`ApiError` for anything else.
    """

    def __init__(self, conf, store, coordinator=None, enforcer=None):
        self.conf = conf
        self.keystone = conf.api.auth_strategy == 'keystone'
        self.enforcer = enforcer
        self.resources = resources.Resources(conf, store, coordinator)
        self.mapper = routes.Mapper()
        # The same paths without method conditions: tells 405 from 404.
        self.any_method = routes.Mapper()
        self.routes = {}
        self.methods = {}
        for route in routing.ROUTES:
            self.routes[route.name] = route
            self.mapper.connect(route.name, route.path,
                                conditions={'method': [route.method]},
                                requirements=route.requirements)
            if route.path not in self.methods:
                self.any_method.connect(route.path, route.path,
                                        requirements=route.requirements)
            self.methods.setdefault(route.path, set()).add(route.method)

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        started = time.monotonic()
        resp = self.handle(req)
        LOG.debug('API: %s %s -> %s (%.1f ms)', req.method, req.path_qs,
                  resp.status_int, (time.monotonic() - started) * 1000)
        return resp(environ, start_response)

    def handle(self, req):
        """Answer one request (errors included)."""
        found = self.mapper.routematch(environ=req.environ)
        if found is None:
            return self._no_route(req)
        params, matched = found
        route = self.routes[matched.name]
        try:
            self._bound_body(req, self.conf.api.max_body_bytes)
            rule = route.rule(req) if callable(route.rule) else route.rule
            if rule and self.keystone:
                self._authorize(req, rule)
            result = getattr(self.resources, route.handler)(req, **dict(params))
        except ApiError as exc:
            if exc.status >= 500:
                LOG.error('%s %s: %s', req.method, req.path, exc.message)
            return error_response(exc.status, exc.message, exc.field,
                                  exc.headers)
        if isinstance(result, webob.Response):
            return result
        status, body = result
        return json_response(status, body)

    @staticmethod
    def _bound_body(req, limit):
        """413 for a body over ``limit`` bytes, chunked ones included."""
        if req.content_length is not None:
            if req.content_length > limit:
                raise ApiError(413, 'request body larger than %d bytes'
                               % limit)
            return
        if req.method not in ('POST', 'PUT', 'PATCH'):
            return
        # No Content-Length (chunked): read at most one byte past the limit
        # so a client cannot make us buffer an unbounded body.
        data = req.body_file_raw.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, 'request body larger than %d bytes' % limit)
        req.body = data

    def _no_route(self, req):
        found = self.any_method.routematch(req.path_info)
        if found is not None:
            methods = ', '.join(sorted(self.methods[found[1].name]))
            return error_response(
                405, 'method %s not allowed on %s; allowed: %s'
                % (req.method, req.path_info, methods),
                headers={'Allow': methods})
        return error_response(404, 'no such resource: %s' % req.path_info)

    def _authorize(self, req, rule):
        from oslo_context import context as oslo_context
        from oslo_policy import policy as oslo_policy

        from vmr_coordinator.api import policy

        # keystonemiddleware already refused bad tokens; this guards
        # against a pipeline that lost it.
        if req.headers.get('X-Identity-Status') != 'Confirmed':
            raise ApiError(401, 'authentication required: send a valid '
                                'Keystone token in X-Auth-Token')
        context = oslo_context.RequestContext.from_environ(req.environ)
        try:
            policy.authorize(self.enforcer, rule, context)
            # a project reader sees only its own project's servers
            req.environ[routing.PROJECT_FILTER] = None if policy.allowed(
                self.enforcer, 'vmr:recovery:all_projects', context) \
                else (context.project_id or '')
        except oslo_policy.PolicyNotAuthorized:
            raise ApiError(403, 'policy does not allow %s (roles: %s)'
                           % (rule, ', '.join(context.roles) or 'none'))
        except oslo_policy.InvalidScope as exc:
            raise ApiError(403, 'token scope not allowed for %s: %s'
                           % (rule, exc))


class PublicSplit:
    """Sends public paths straight to the API and others through auth."""

    PUBLIC_PREFIXES = ('/healthz', '/readyz', '/metrics', '/v1/alarms/',
                       '/v1/openapi.json', '/dashboard', '/dashboard/')
    #: public paths that take a Keystone token as well, when one is sent
    TOKEN_PATHS = ('/v1/alarms/aodh',)

    def __init__(self, public, protected):
        self.public = public
        self.protected = protected

    #: what keystonemiddleware sets after validating a token; on the public
    #: branch nobody validated anything, so a caller's copies are dropped
    IDENTITY_KEYS = ('HTTP_X_IDENTITY_STATUS', 'HTTP_X_ROLES',
                     'HTTP_X_ROLE', 'HTTP_X_USER_ID', 'HTTP_X_USER_NAME',
                     'HTTP_X_PROJECT_ID', 'HTTP_X_PROJECT_NAME',
                     'HTTP_X_SERVICE_IDENTITY_STATUS', 'HTTP_X_SERVICE_ROLES')

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '') or '/'
        if path in self.TOKEN_PATHS and environ.get('HTTP_X_AUTH_TOKEN'):
            # keystonemiddleware drops whatever identity headers came
            # with the request and validates the token (401 if bad).
            return self.protected(environ, start_response)
        if any(path == p or (p.endswith('/') and path.startswith(p))
               for p in self.PUBLIC_PREFIXES):
            for key in self.IDENTITY_KEYS:
                environ.pop(key, None)
            return self.public(environ, start_response)
        return self.protected(environ, start_response)


class ErrorCatcher:
    """The outermost layer: any exception becomes a generic JSON 500.

    The traceback goes to the log only; the caller learns nothing about the
    internals (and no secret can leak through an exception text).
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except Exception:
            LOG.exception('API: unhandled error on %s %s',
                          environ.get('REQUEST_METHOD'),
                          environ.get('PATH_INFO'))
            resp = error_response(500, 'internal error; the coordinator '
                                       'log has the details')
            return resp(environ, start_response)


def keystone_middleware(conf):
    """keystonemiddleware's auth_token, configured from ``conf``."""
    from keystonemiddleware import auth_token
    register_keystone_opts(conf)

    def wrap(app):
        return auth_token.AuthProtocol(app, {'oslo_config_config': conf})
    return wrap


def make_app(conf, store, coordinator=None, auth_middleware=None):
    """The API as one WSGI callable.

    ``conf`` has the VMR groups registered; ``store`` is the coordinator's
    :class:`~vmr_common.store.Store`; ``coordinator`` (optional) is the local
    :class:`~vmr_coordinator.service.Coordinator`, for leadership, its last
    sentence and cycle time. ``auth_middleware`` (keystone only) replaces
    keystonemiddleware's ``auth_token`` — tests use it to stand in for
    Keystone.
    """
    enforcer = None
    if conf.api.auth_strategy == 'keystone':
        from vmr_coordinator.api import policy
        enforcer = policy.make_enforcer(conf)
    api = Api(conf, store, coordinator, enforcer)
    if conf.api.auth_strategy == 'keystone':
        wrap = auth_middleware or keystone_middleware(conf)
        app = PublicSplit(api, wrap(api))
    else:
        app = api
    return ErrorCatcher(app)
