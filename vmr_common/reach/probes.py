"""Reachability probes: a UDP echo responder and the prober side.

A probe is answered by the agent's own process, so a node whose kernel hangs
or whose agent is frozen does not answer (a TCP handshake would still
complete from the kernel's backlog).  The leader asks a few live agents to
probe a suspect on every network it registered; any answer means the suspect
is *partitioned*, not dead.
"""

import logging
import os
import socket
import threading
import time

from vmr_common import fdwait

LOG = logging.getLogger(__name__)

PROBE = b'vmr-probe '
REPLY = b'vmr-alive '


def parse_address(value, default_port):
    """``'10.0.0.5'``, ``'10.0.0.5:4747'`` or ``'udp://10.0.0.5:4747'`` →
    ``(host, port)``."""
    value = value.strip()
    if value.startswith('udp://'):
        value = value[len('udp://'):]
    if value.startswith('['):  # [v6]:port
        host, _, rest = value[1:].partition(']')
        return host, int(rest.lstrip(':') or default_port)
    if value.count(':') == 1:
        host, port = value.split(':')
        return host, int(port)
    return value, int(default_port)


class ProbeResponder(threading.Thread):
    """Answers ``vmr-probe <nonce>`` datagrams with ``vmr-alive <host> <nonce>``.

    ``alive()`` is consulted for every answer: the agent makes it return
    False when its main loop is stuck, so a wedged agent looks dead.
    """

    def __init__(self, host, endpoints, alive=lambda: True):
        super().__init__(name='vmr-probe-responder', daemon=True)
        self.host = host
        self.alive = alive
        self.sockets = []
        for bind_host, port in sorted(set(endpoints)):
            family = socket.AF_INET6 if ':' in bind_host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind((bind_host, port))
            except OSError as exc:
                sock.close()
                LOG.warning('probe responder: cannot listen on %s:%s (%s); '
                            'probes to that address will fail', bind_host,
                            port, exc)
                continue
            self.sockets.append(sock)
        self._halt = threading.Event()

    def stop(self):
        self._halt.set()

    def run(self):
        while not self._halt.is_set() and self.sockets:
            ready = fdwait.readable(self.sockets, 0.5)
            for sock in ready:
                try:
                    data, peer = sock.recvfrom(512)
                except OSError:
                    continue
                if not data.startswith(PROBE) or not self.alive():
                    continue
                nonce = data[len(PROBE):64]
                try:
                    sock.sendto(REPLY + self.host.encode() + b' ' + nonce, peer)
                except OSError:
                    pass
        for sock in self.sockets:
            sock.close()


def probe(addresses, timeout, default_port):
    """Probe every ``{network: address}``; returns ``{network: bool}``.

    All networks are probed in parallel on one socket per family; a reply
    counts only with the nonce we sent.
    """
    results = {net: False for net in addresses}
    if not addresses:
        return results
    nonce = os.urandom(8).hex().encode()
    pending = {}
    socks = {}
    try:
        for net, address in addresses.items():
            try:
                host, port = parse_address(address, default_port)
                family = socket.AF_INET6 if ':' in host else socket.AF_INET
                sock = socks.get(family)
                if sock is None:
                    sock = socks[family] = socket.socket(family,
                                                         socket.SOCK_DGRAM)
                sock.sendto(PROBE + nonce, (host, port))
                pending[(host, port)] = net
            except (OSError, ValueError) as exc:
                LOG.debug('probe %s %s: %s', net, address, exc)
        deadline = time.monotonic() + timeout
        resend = time.monotonic() + timeout / 3
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # UDP may drop one datagram: resend once a third in.
            if time.monotonic() >= resend:
                resend = deadline + 1
                for (host, port) in pending:
                    family = socket.AF_INET6 if ':' in host else socket.AF_INET
                    try:
                        socks[family].sendto(PROBE + nonce, (host, port))
                    except OSError:
                        pass
            ready = fdwait.readable(list(socks.values()),
                                    min(left, timeout / 3))
            for sock in ready:
                try:
                    data, peer = sock.recvfrom(512)
                except OSError:
                    continue
                if data.startswith(REPLY) and data.endswith(b' ' + nonce):
                    net = pending.pop((peer[0], peer[1]), None)
                    if net is not None:
                        results[net] = True
    finally:
        for sock in socks.values():
            sock.close()
    return results


def answer(prober, result, how, at=None):
    """The probe answer a prober writes: who, ``{network: reachable}``,
    ``how`` it knew (``watch`` or ``probe``) and when (``at``, wall clock,
    now by default)."""
    return {'prober': prober, 'reachable': result, 'how': how,
            'at': time.time() if at is None else at}


def verdict(watch, target, request, wait, default_port=4747):
    """A prober's ``{network: reachable}`` about ``target`` for one probe
    ``request`` (its addresses, port and timeout): at once from ``watch``
    when it knows, None while it does not unless ``wait``; waiting for it,
    or a one-shot :func:`probe` when there is no watch (or it stays
    undecided)."""
    addresses = request.get('addresses', {})
    port = request.get('port', default_port)
    timeout = float(request.get('timeout', 1.0))
    if watch is not None:
        if not wait:
            return watch.verdict(target, addresses, port, timeout)
        result = watch.wait_verdict(target, addresses, port, timeout)
        if result is not None:
            return result
    elif not wait:
        return None
    return probe(addresses, timeout, port)
