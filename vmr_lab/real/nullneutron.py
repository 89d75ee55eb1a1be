"""A stand-in for Neutron's API that knows no networks and no ports.

The real tier has no Neutron: servers boot with ``networks='none'``, but
Nova still asks Neutron for an instance's ports during rebuild, evacuation
and migration.  This answers every list with an empty one (and every
other call with 404), so those questions get the true answer: no ports.
Standard library only: run as ``python nullneutron.py PORT``.
"""

import http.server
import json
import sys
from urllib.parse import urlparse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = [p for p in urlparse(self.path).path.split('/') if p]
        if parts and parts[0] == 'v2.0':
            parts = parts[1:]
        if not parts:
            self._reply(200, {'resources': []})
        elif len(parts) == 1:
            name = parts[0].rsplit('.', 1)[0]
            self._reply(200, {name.replace('-', '_'): []})
        else:
            self._reply(404, {'NeutronError': {
                'type': 'NotFound', 'message': 'nothing here', 'detail': ''}})

    def _not_found(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)
        self._reply(404, {'NeutronError': {
            'type': 'NotFound', 'message': 'no Neutron here', 'detail': ''}})

    do_POST = do_PUT = do_DELETE = _not_found

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.command, self.path))


def main():
    port = int(sys.argv[1])
    server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    server.serve_forever()


if __name__ == '__main__':
    main()
