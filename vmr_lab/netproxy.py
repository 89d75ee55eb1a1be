"""A TCP proxy whose link can be cut: the management path of a lab host.

Agents of a simulated host reach etcd through their host's
:class:`TcpProxy`.  Modes:

``pass``
    forward both ways.
``drop``
    a black hole: new connections are accepted and held, and nothing is
    forwarded in either direction (bytes wait in the kernel buffers, like
    packets retransmitted into a cut link).  Back to ``pass`` and the held
    data flows again -- except on connections the client closed meanwhile
    (it gave up): those are reset, not replayed.  etcd 3.5.0-3.5.4 panics
    when the client of a read-only transaction disconnects while it runs
    (etcd issue 14110), and a replayed request closely followed by its
    client's FIN is exactly that.
``drop-up`` / ``drop-down``
    a link cut one way only: what the client sends (``up``) or what the
    target answers (``down``) is held, the other direction flows.  A new
    connection waits in either (its handshake needs both ways).
``delay``
    forward, but hold ``fraction`` of the chunks for ``ms`` milliseconds.
"""

import logging
import random
import select
import socket
import threading
import time

from vmr_common import fdwait

LOG = logging.getLogger(__name__)

MODES = ('pass', 'drop', 'drop-up', 'drop-down', 'delay')


class TcpProxy:
    """Forward ``127.0.0.1:listen_port`` to ``target_host:target_port``."""

    def __init__(self, listen_port, target_host, target_port,
                 listen_host='127.0.0.1'):
        self.target = (target_host, int(target_port))
        self.mode = 'pass'
        self.delay_ms = 0
        self.delay_fraction = 1.0
        self._cond = threading.Condition()
        self._stopped = False
        self._pairs = {}     # open client socket -> upstream socket (or None)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((listen_host, int(listen_port)))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._thread = None

    def start(self):
        """Start accepting in a daemon thread; return self."""
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name='vmr-lab-proxy-%d' % self.port)
        self._thread.start()
        return self

    def set_mode(self, mode, ms=0, fraction=1.0):
        """Switch to ``pass``, ``drop``, ``drop-up``, ``drop-down`` or
        ``delay`` (``ms``, ``fraction``)."""
        if mode not in MODES:
            raise ValueError('unknown proxy mode %r; expected one of %s'
                             % (mode, ', '.join(MODES)))
        with self._cond:
            if self.mode.startswith('drop') and mode != self.mode:
                self._reset_abandoned()
            self.mode = mode
            self.delay_ms = int(ms)
            self.delay_fraction = float(fraction)
            self._cond.notify_all()

    def _reset_abandoned(self):
        """Reset the held connections whose client hung up during the cut
        (caller holds the lock)."""
        for client, upstream in list(self._pairs.items()):
            poller = select.poll()
            try:
                poller.register(client, select.POLLRDHUP)
                hung_up = bool(poller.poll(0))
            except (OSError, ValueError):
                hung_up = True
            if not hung_up:
                continue
            del self._pairs[client]
            for sock in (client, upstream):
                if sock is None:
                    continue
                try:
                    # linger 0: an RST, as when TCP gives up
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b'\x01\x00\x00\x00\x00\x00\x00\x00')
                    sock.close()
                except OSError:
                    pass

    def stop(self):
        """Close the listener and every connection."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            pairs, self._pairs = self._pairs, {}
        try:
            self._sock.close()
        except OSError:
            pass
        for sock in [s for pair in pairs.items() for s in pair if s]:
            try:
                sock.close()
            except OSError:
                pass

    def _forget(self, client):
        with self._cond:
            self._pairs.pop(client, None)
        client.close()

    def _accept_loop(self):
        while not self._stopped:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._open, args=(client,), daemon=True,
                             name='vmr-lab-proxy-conn').start()

    def _cut(self, direction=None):
        """Is ``direction`` (``up``, ``down``; None: a new connection) cut?"""
        if direction is None:
            return self.mode.startswith('drop')
        return self.mode in ('drop', 'drop-' + direction)

    def _wait_passable(self, direction=None):
        """Block while the link is cut; False when the proxy stopped."""
        with self._cond:
            while self._cut(direction) and not self._stopped:
                self._cond.wait(0.5)
            return not self._stopped

    def _open(self, client):
        with self._cond:
            self._pairs[client] = None
        if not self._wait_passable():
            self._forget(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError as exc:
            LOG.debug('proxy %d: cannot reach %s:%d: %s', self.port,
                      self.target[0], self.target[1], exc)
            self._forget(client)
            return
        with self._cond:
            if client not in self._pairs:     # reset during the cut
                upstream.close()
                return
            self._pairs[client] = upstream
        for src, dst, direction in ((client, upstream, 'up'),
                                    (upstream, client, 'down')):
            threading.Thread(target=self._pump, args=(src, dst, direction),
                             daemon=True, name='vmr-lab-proxy-pump').start()

    def _pump(self, src, dst, direction):
        try:
            while True:
                # Do not even read while cut: the sender's data stays in
                # the socket buffers, as on a real partitioned link.
                if not self._wait_passable(direction):
                    break
                ready = fdwait.readable([src], 0.5)
                if not ready:
                    continue
                if self._cut(direction):
                    continue
                data = src.recv(65536)
                if not data:
                    break
                if self.mode == 'delay' and \
                        random.random() < self.delay_fraction:
                    time.sleep(self.delay_ms / 1000.0)
                if not self._wait_passable(direction):
                    break
                dst.sendall(data)
        except (OSError, ValueError):
            # ValueError: the other pump closed the socket under select()
            pass
        finally:
            with self._cond:
                self._pairs.pop(src, None)
                self._pairs.pop(dst, None)
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    sock.close()
                except OSError:
                    pass
