"""A tiny Redfish service for the lab and tests, on 127.0.0.1.

Just enough of DMTF Redfish for sushy (and the ``redfish`` fencer) to
power systems off and on: the service root, a session service (sushy's
session auth: ``POST .../Sessions`` -> ``X-Auth-Token``), HTTP basic auth,
``Systems/<id>`` with ``PowerState`` and the ``ComputerSystem.Reset``
action.  Each system is backed by ``get_power()`` -> 'on'|'off' and
``set_power(state)`` callables, like :mod:`vmr_lab.bmc`.  No artificial
delays (sushy-tools' fake driver sleeps 1-11 s per power change).

Plain HTTP only: sushy speaks it; fence_redfish (HTTPS only) is not served.
"""

import base64
import hmac
import json
import logging
import secrets
import threading
import uuid
import wsgiref.simple_server
from socketserver import ThreadingMixIn

LOG = logging.getLogger(__name__)

ROOT = '/redfish/v1'
SESSIONS = ROOT + '/SessionService/Sessions'

# ResetType -> set_power() value.
RESET_TYPES = {
    'On': 'on', 'ForceOn': 'on', 'ForceOff': 'off',
    'GracefulShutdown': 'shutdown', 'GracefulRestart': 'reset',
    'ForceRestart': 'reset', 'PowerCycle': 'cycle', 'Nmi': 'diag',
}


class _Server(ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):  # no per-request stderr noise
        LOG.debug('redfish: ' + fmt, *args)


class RedfishServer:
    """Serve Redfish systems over HTTP on ``address:port`` (0 = any free port)."""

    def __init__(self, username, password, address='127.0.0.1', port=0):
        self.username = username
        self._password = password
        self.address = address
        self.port = int(port)
        self._systems = {}
        self._sessions = {}   # token -> session id
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.requests = 0

    # -- configuration ----------------------------------------------------
    def add_system(self, system_id, get_power, set_power):
        """Serve ``Systems/<system_id>`` backed by the power callables."""
        with self._lock:
            self._systems[str(system_id)] = (get_power, set_power)
        return '%s/Systems/%s' % (ROOT, system_id)

    @property
    def url(self):
        """Base URL, e.g. ``http://127.0.0.1:8000``."""
        return 'http://%s:%d' % (self.address, self.port)

    def start(self):
        """Bind and serve in a daemon thread (idempotent)."""
        if self._httpd is None:
            self._httpd = wsgiref.simple_server.make_server(
                self.address, self.port, self, server_class=_Server,
                handler_class=_QuietHandler)
            self.port = self._httpd.server_address[1]
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={'poll_interval': 0.2},
                name='vmr-lab-redfish', daemon=True)
            self._thread.start()
        return self

    def stop(self):
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return '<RedfishServer %s user=%s systems=%s>' % (
            self.url, self.username, sorted(self._systems))

    # -- WSGI -------------------------------------------------------------
    def __call__(self, environ, start_response):
        self.requests += 1
        method = environ['REQUEST_METHOD']
        path = environ.get('PATH_INFO', '/').rstrip('/') or '/'
        try:
            length = int(environ.get('CONTENT_LENGTH') or 0)
        except ValueError:
            length = 0
        raw = environ['wsgi.input'].read(length) if length else b''
        try:
            status, body, headers = self._route(method, path, raw, environ)
        except Exception:  # a simulator bug: still answer like a BMC
            LOG.exception('redfish: error on %s %s', method, path)
            status, body, headers = 500, _error('InternalError',
                                                'internal error'), {}
        payload = b'' if body is None else json.dumps(body).encode()
        reason = {200: 'OK', 201: 'Created', 204: 'No Content',
                  400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found',
                  405: 'Method Not Allowed', 500: 'Internal Server Error'}
        head = [('Content-Type', 'application/json'),
                ('Content-Length', str(len(payload))),
                ('OData-Version', '4.0')]
        head.extend(headers.items())
        start_response('%d %s' % (status, reason.get(status, '')), head)
        return [payload]

    def _authorised(self, environ):
        token = environ.get('HTTP_X_AUTH_TOKEN')
        if token:
            with self._lock:
                return token in self._sessions
        auth = environ.get('HTTP_AUTHORIZATION', '')
        if auth.startswith('Basic '):
            try:
                user, _, password = base64.b64decode(
                    auth[6:]).decode().partition(':')
            except (ValueError, UnicodeDecodeError):
                return False
            return self._check(user, password)
        return False

    def _check(self, user, password):
        return (hmac.compare_digest(str(user), self.username)
                and hmac.compare_digest(str(password), self._password))

    def _route(self, method, path, raw, environ):
        if path in (ROOT, '/redfish'):
            if path == '/redfish':
                return 200, {'v1': ROOT + '/'}, {}
            return 200, self._service_root(), {}
        if path == SESSIONS and method == 'POST':
            return self._login(raw)
        if not self._authorised(environ):
            return 401, _error('Security.1.0.AccessDenied',
                               'authentication required'), {
                                   'WWW-Authenticate': 'Basic realm="vmr"'}
        if path == ROOT + '/SessionService':
            return 200, {'@odata.id': path, 'Id': 'SessionService',
                         'Name': 'Session Service', 'ServiceEnabled': True,
                         'SessionTimeout': 600,
                         'Sessions': {'@odata.id': SESSIONS}}, {}
        if path == SESSIONS:
            with self._lock:
                ids = sorted(self._sessions.values())
            return 200, _collection(SESSIONS, 'Sessions', ids), {}
        if path.startswith(SESSIONS + '/'):
            return self._session(method, path, environ)
        if path == ROOT + '/Systems':
            with self._lock:
                ids = sorted(self._systems)
            return 200, _collection(path, 'Systems',
                                    ['%s/%s' % (path, i) for i in ids]), {}
        prefix = ROOT + '/Systems/'
        if path.startswith(prefix):
            rest = path[len(prefix):]
            system_id, _, action = rest.partition('/')
            with self._lock:
                backing = self._systems.get(system_id)
            if backing is None:
                return 404, _error('Base.1.0.ResourceMissingAtURI',
                                   'no system %s' % system_id), {}
            if not action and method == 'GET':
                return 200, self._system(system_id, backing[0]), {}
            if action == 'Actions/ComputerSystem.Reset' and method == 'POST':
                return self._reset(system_id, backing[1], raw)
            return 405, _error('Base.1.0.ActionNotSupported',
                               '%s not supported on %s' % (method, path)), {}
        return 404, _error('Base.1.0.ResourceMissingAtURI',
                           'no resource %s' % path), {}

    def _service_root(self):
        return {
            '@odata.id': ROOT + '/', '@odata.type':
                '#ServiceRoot.v1_5_0.ServiceRoot',
            'Id': 'RootService', 'Name': 'VMR lab Redfish service',
            'RedfishVersion': '1.6.0', 'UUID': str(uuid.uuid5(
                uuid.NAMESPACE_URL, self.url)),
            'Systems': {'@odata.id': ROOT + '/Systems'},
            'SessionService': {'@odata.id': ROOT + '/SessionService'},
            'Links': {'Sessions': {'@odata.id': SESSIONS}},
        }

    def _login(self, raw):
        try:
            body = json.loads(raw or b'{}')
        except ValueError:
            return 400, _error('Base.1.0.MalformedJSON', 'bad JSON'), {}
        if not self._check(body.get('UserName', ''), body.get('Password', '')):
            return 401, _error('Security.1.0.AccessDenied',
                               'invalid credentials'), {}
        token = secrets.token_hex(16)
        session_id = uuid.uuid4().hex[:12]
        location = '%s/%s' % (SESSIONS, session_id)
        with self._lock:
            self._sessions[token] = location
        return 201, {'@odata.id': location, 'Id': session_id,
                     'Name': 'User Session', 'UserName': self.username}, {
                         'X-Auth-Token': token, 'Location': location}

    def _session(self, method, path, environ):
        with self._lock:
            tokens = [t for t, loc in self._sessions.items() if loc == path]
            if not tokens:
                return 404, _error('Base.1.0.ResourceMissingAtURI',
                                   'no session'), {}
            if method == 'DELETE':
                for token in tokens:
                    del self._sessions[token]
                return 204, None, {}
        return 200, {'@odata.id': path, 'Id': path.rsplit('/', 1)[-1],
                     'Name': 'User Session', 'UserName': self.username}, {}

    def _system(self, system_id, get_power):
        path = '%s/Systems/%s' % (ROOT, system_id)
        state = get_power()
        return {
            '@odata.id': path,
            '@odata.type': '#ComputerSystem.v1_10_0.ComputerSystem',
            'Id': system_id, 'Name': system_id,
            'SystemType': 'Physical',
            'PowerState': 'On' if state == 'on' else 'Off',
            'Status': {'State': 'Enabled', 'Health': 'OK'},
            'Actions': {'#ComputerSystem.Reset': {
                'target': path + '/Actions/ComputerSystem.Reset',
                'ResetType@Redfish.AllowableValues': sorted(RESET_TYPES),
            }},
        }

    def _reset(self, system_id, set_power, raw):
        try:
            reset_type = json.loads(raw or b'{}').get('ResetType')
        except ValueError:
            return 400, _error('Base.1.0.MalformedJSON', 'bad JSON'), {}
        if reset_type not in RESET_TYPES:
            return 400, _error('Base.1.0.ActionParameterValueNotInList',
                               'ResetType %r not supported' % reset_type), {}
        LOG.debug('redfish: %s on system %s', reset_type, system_id)
        set_power(RESET_TYPES[reset_type])
        return 204, None, {}


def _collection(path, name, members):
    return {'@odata.id': path, 'Name': name,
            'Members@odata.count': len(members),
            'Members': [{'@odata.id': m} for m in members]}


def _error(code, message):
    return {'error': {'code': code, 'message': message,
                      '@Message.ExtendedInfo': []}}
