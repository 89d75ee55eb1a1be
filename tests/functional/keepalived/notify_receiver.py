"""A minimal VMR webhook stand-in for the keepalived functional tests.

Runs inside the lab's hub namespace (``ip netns exec``). Every POST is
appended to ``--out`` as one JSON line ``{"path", "token_ok", "body"}``;
a request without the right token header gets 403, like the real API would.
"""

import argparse
import http.server
import json
import os
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--bind', required=True)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--token-file', required=True)
    parser.add_argument('--header', default='X-VMR-Token')
    parser.add_argument('--out', required=True)
    parser.add_argument('--ready-file', required=True)
    args = parser.parse_args(argv)
    with open(args.token_file) as f:
        token = f.read().strip()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get('Content-Length', 0))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {'unparsable': raw.decode(errors='replace')}
            token_ok = self.headers.get(args.header) == token
            with open(args.out, 'a') as out:
                out.write(json.dumps({'path': self.path, 'token_ok': token_ok,
                                      'body': body}) + '\n')
            self.send_response(204 if token_ok else 403)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    with open(args.ready_file, 'w') as f:
        f.write(str(os.getpid()))
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
