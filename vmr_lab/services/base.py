"""The small WSGI framework every simulated OpenStack service is built on.

A service subclasses :class:`Service`, registers its routes in ``setup_routes``
with :meth:`Service.route`, and writes handlers ``handler(req, ctx, **params)``
that return ``(status, body)`` (``body`` a JSON-serialisable object or ``None``),
or a ready :class:`webob.Response`.  Errors are raised as :class:`Fault`; they
become the error bodies real OpenStack services answer with, never a traceback.
"""

import json
import logging
import threading
import time
import uuid

import routes
import webob

LOG = logging.getLogger(__name__)


def utc_timestamp():
    """Now in UTC to the second, as Glance and Neutron write ``created_at``
    and ``updated_at`` (``2026-12-06T20:05:00Z``)."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def after_marker(rows, marker, not_found, key='id'):
    """The one pagination rule: the rows after the one whose ``key`` is
    ``marker`` (all of them without a marker); an unknown marker is a 400
    with the service's own text, ``not_found % marker``."""
    if not marker:
        return rows
    ids = [row[key] for row in rows]
    if marker not in ids:
        raise Fault(400, not_found % marker)
    return rows[ids.index(marker) + 1:]


class Fault(Exception):
    """An API error: rendered with the owning service's error body format."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.headers = headers or {}


class AuthContext:
    """Who is calling: the result of validating an ``X-Auth-Token``."""

    def __init__(self, token, user_id, user_name, project_id, project_name,
                 roles):
        self.token = token
        self.user_id = user_id
        self.user_name = user_name
        self.project_id = project_id
        self.project_name = project_name
        self.roles = list(roles)

    @property
    def is_admin(self):
        return 'admin' in self.roles

    @property
    def can_write(self):
        return 'admin' in self.roles or 'member' in self.roles

    def __repr__(self):
        return '<AuthContext %s/%s %s>' % (self.user_name, self.project_name,
                                          ','.join(self.roles))


_FAULT_NAMES = {
    400: 'badRequest', 401: 'unauthorized', 403: 'forbidden',
    404: 'itemNotFound', 405: 'badMethod',
    409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType',
    429: 'overLimit',
    500: 'computeFault', 501: 'notImplemented', 503: 'serviceUnavailable',
}


class Service:
    """Base of one simulated OpenStack API, a WSGI application.

    ``lab`` is the object holding every service and the shared state; a
    service reaches another one through it (``lab.keystone``, ``lab.nova``,
    ...).  ``lab.keystone.validate(token)`` returns an :class:`AuthContext`
    or raises ``Fault(401, ...)``.
    """

    #: service type in the catalog, e.g. 'compute'
    service_type = None
    #: name in the catalog, e.g. 'nova'
    name = None
    #: whether answers carry ``x-openstack-request-id`` (Mistral's do not)
    sends_request_id = True

    def __init__(self, lab):
        self.lab = lab
        self.lock = threading.RLock()
        self._mapper = routes.Mapper()
        self._public = set()
        self.setup_routes()
        # Faults to inject: list of (method, path-substring, status, count).
        self.injected_faults = []

    # -- to override -----------------------------------------------------
    def setup_routes(self):
        raise NotImplementedError

    def fault_body(self, fault):
        """The error body for ``fault`` (Nova style by default)."""
        name = _FAULT_NAMES.get(fault.status, 'computeFault')
        return {name: {'code': fault.status, 'message': fault.message}}

    def extra_headers(self, req):
        """Headers added to every response (e.g. microversion headers)."""
        return {}

    def check_request(self, req):
        """Validate a routed request before authentication (raise Fault).

        Nova uses it to negotiate the microversion, so an unsupported version
        is refused with 406 before anything else happens.
        """

    def malformed_input(self, exc):
        """The Fault for input a handler tripped over, or None.

        ``exc`` is the TypeError, ValueError, KeyError or AttributeError a
        request raised past the service's own checks.  A service whose real
        counterpart answers such input with a 400 returns that 400 here (the
        error is still logged: it may hide a lab bug); None, the default,
        leaves it a 500.
        """
        return None

    # -- helpers ---------------------------------------------------------
    def route(self, method, path, handler, public=False):
        """Register ``handler`` for ``method`` on ``path`` (routes syntax)."""
        name = '%s %s' % (method, path)
        self._mapper.connect(name, path, handler=handler,
                             conditions={'method': [method]})
        if public:
            self._public.add(handler)

    def inject_fault(self, status, count=1, method=None, path_contains=''):
        """Make the next ``count`` matching requests fail with ``status``."""
        with self.lock:
            self.injected_faults.append(
                [method, path_contains, int(status), int(count)])

    def _take_injected_fault(self, req):
        with self.lock:
            for fault in self.injected_faults:
                method, part, status, count = fault
                if method and method != req.method:
                    continue
                if part and part not in req.path_info:
                    continue
                if count <= 0:
                    continue
                fault[3] -= 1
                self.injected_faults = [f for f in self.injected_faults
                                        if f[3] > 0]
                return status
        return None

    @staticmethod
    def json_body(req, required_key=None):
        """Parse the request body as a JSON object or raise ``Fault(400)``."""
        if not req.body:
            raise Fault(400, 'The request body is empty; a JSON object '
                             'is required.')
        try:
            body = json.loads(req.body)
        except ValueError as exc:
            raise Fault(400, 'Malformed request body: %s' % exc)
        if not isinstance(body, dict):
            raise Fault(400, 'The request body must be a JSON object.')
        if required_key is not None:
            if not isinstance(body.get(required_key), dict):
                raise Fault(400, "Missing or invalid '%s' object in request "
                                 "body." % required_key)
            return body[required_key]
        return body

    # -- WSGI ------------------------------------------------------------
    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        request_id = 'req-' + str(uuid.uuid4())
        # Handlers record it (Nova instance actions carry the request id).
        environ['openstack.request_id'] = request_id
        try:
            resp = self._dispatch(req)
        except Fault as fault:
            resp = self._fault_response(fault, req)
        except Exception:  # a bug in the simulator: still no traceback out
            LOG.exception('%s: unhandled error on %s %s', self.name,
                          req.method, req.path)
            resp = self._fault_response(
                Fault(500, 'The server has either erred or is incapable of '
                           'performing the requested operation.'), req)
        if self.sends_request_id:
            resp.headers['x-openstack-request-id'] = request_id
            resp.headers['X-Compute-Request-Id'] = request_id
        for key, value in self.extra_headers(req).items():
            resp.headers[key] = value
        return resp(environ, start_response)

    def _fault_response(self, fault, req=None):
        """The response for ``fault`` (``req``: the request, to negotiate)."""
        resp = webob.Response(status=fault.status, content_type='application/json',
                              charset='UTF-8')
        resp.text = json.dumps(self.fault_body(fault))
        for key, value in fault.headers.items():
            resp.headers[key] = value
        return resp

    def _dispatch(self, req):
        try:
            return self._route(req)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            fault = self.malformed_input(exc)
            if fault is None:
                raise
            LOG.warning('%s: bad request %s %s: %r', self.name, req.method,
                        req.path, exc, exc_info=True)
            raise fault

    def _route(self, req):
        path = req.path_info.rstrip('/') or '/'
        match = self._mapper.match(path, environ={'REQUEST_METHOD': req.method})
        if match is None:
            if self._mapper.match(path) is not None:
                raise Fault(405, 'Method %s not allowed on %s'
                            % (req.method, path))
            raise Fault(404, 'The resource could not be found.')
        params = dict(match)
        handler = params.pop('handler')
        self.check_request(req)
        ctx = None
        if handler not in self._public:
            token = req.headers.get('X-Auth-Token')
            if not token:
                raise Fault(401, 'The request you have made requires '
                                 'authentication.')
            ctx = self.lab.keystone.validate(token)
        status = self._take_injected_fault(req)
        if status is not None:
            raise Fault(status, 'Injected fault (lab): HTTP %d' % status)
        result = handler(req, ctx, **params)
        if isinstance(result, webob.Response):
            return result
        status, body = result
        resp = webob.Response(status=status)
        if body is not None:
            resp.content_type = 'application/json'
            resp.charset = 'UTF-8'
            resp.text = json.dumps(body)
        else:
            resp.content_type = None
        return resp
