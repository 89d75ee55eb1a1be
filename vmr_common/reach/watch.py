"""Continuous reachability: probe a set of hosts all the time and answer
a prober's question from memory, at once.

The probes themselves (the packet, the responder, a one-shot probe) are in
:mod:`vmr_common.reach.probes`.
"""

import collections
import logging
import os
import random
import socket
import threading
import time

from vmr_common.reach.probes import PROBE, REPLY, parse_address

LOG = logging.getLogger(__name__)


class _Seen:
    """What one address did: when we last probed it (the last few sends)
    and when it last answered (monotonic seconds)."""

    __slots__ = ('first', 'sends', 'last_ok')

    def __init__(self):
        self.first = None
        self.sends = collections.deque(maxlen=16)
        self.last_ok = None

    def sent(self, when):
        if self.first is None:
            self.first = when
        self.sends.append(when)

    def silent(self, now, window, needed, allowance):
        """True when probed for at least ``window`` seconds without an
        answer: the first probe is that old and at least ``needed`` probes
        sent inside the window (each at least ``allowance`` ago, time
        enough to be answered) got no answer."""
        if self.last_ok is not None and now - self.last_ok <= window:
            return False
        if self.first is None or now - self.first < window:
            return False
        sent = sum(1 for t in self.sends
                   if now - window <= t <= now - allowance)
        return sent >= needed


def _resolve(address, default_port):
    """``(family, (ip, port))`` for one probe address, resolved once."""
    host, port = parse_address(address, default_port)
    info = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    return info[0], info[4][:2]


class ReachabilityWatch(threading.Thread):
    """Probes a set of hosts all the time and remembers who answered when.

    The probers of a suspect answer from this memory at once, instead of
    sending a probe and waiting a whole timeout for a dead host to stay
    silent: a host whose lease just expired has been silent for about a
    heartbeat TTL already.  Agents watch the few hosts they would be asked
    about (their ring neighbours); the leader watches every host.

    ``verdict()`` concludes *unreachable* on a network only after the
    address was probed for at least ``window`` seconds without an answer
    while this watch kept running; anything it has not watched that long is
    added and watched from now on (``wait_verdict`` then returns after
    ``window`` at most).  A reply counts only with this watch's nonce and
    from the address probed.
    """

    #: sends per burst before the replies are read, so a burst of answers
    #: never overflows the socket's receive buffer
    BURST = 64

    def __init__(self, interval, retain=30.0, clock=time.monotonic,
                 name='vmr-reachability'):
        super().__init__(name=name, daemon=True)
        self.interval = float(interval)
        self.retain = float(retain)
        self.clock = clock
        self._lock = threading.Lock()
        self._targets = {}   # name -> {net: (family, addr)}
        self._specs = {}     # name -> ({net: address}, port) as given
        self._until = {}     # name -> monotonic time it may be dropped
        self._seen = {}      # (family, addr) -> _Seen
        self._socks = {}
        self._nonce = os.urandom(8).hex().encode()
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._changed = threading.Condition(self._lock)
        self.last_round = None
        self.rounds = 0

    # -- what to watch --------------------------------------------------
    def set_targets(self, targets, default_port=4747):
        """Watch ``{name: ({network: address}, port)}`` from now on.

        Names that drop out are still watched for ``retain`` seconds (a
        question about a host that just left the list finds a warm
        answer).  Unresolvable addresses are skipped (logged at debug).
        """
        with self._lock:
            specs = dict(self._specs)
        resolved = {}
        for name, (addresses, port) in targets.items():
            spec = (dict(addresses or {}), port or default_port)
            if specs.get(name) != spec:
                resolved[name] = (spec, self._resolve_all(*spec))
        now = self.clock()
        with self._lock:
            for name in self._targets:
                if name not in targets and self._until.get(name) is None:
                    self._until[name] = now + self.retain
            for name, (spec, nets) in resolved.items():
                self._specs[name] = spec
                self._targets[name] = nets
            for name in targets:
                self._until[name] = None
        if resolved:
            self._wake.set()

    def _resolve_all(self, addresses, port):
        nets = {}
        for net, address in (addresses or {}).items():
            try:
                nets[net] = _resolve(address, port)
            except (OSError, ValueError) as exc:
                LOG.debug('reachability: cannot resolve %s %s: %s', net,
                          address, exc)
        return nets

    def targets(self):
        with self._lock:
            return sorted(self._targets)

    # -- answers ----------------------------------------------------------
    def verdict(self, name, addresses, port, window):
        """``{network: reachable}`` for ``name``, or None while undecided.

        Decided when some network answered within ``window`` (the host is
        reachable: the other networks may be left False) or when every
        network was probed for ``window`` seconds without an answer.  An
        unknown name is watched from now on (kept for ``retain``).
        """
        spec = (dict(addresses or {}), port)
        with self._lock:
            self._drain()
            nets = self._targets.get(name)
            if self._specs.get(name) != spec:
                nets = None
            elif self._until.get(name) is not None:
                # still asked about: keep watching it a while longer
                self._until[name] = self.clock() + self.retain
        if nets is None:
            nets = self._resolve_all(*spec)
            with self._lock:
                known = name in self._targets
                self._specs[name] = spec
                self._targets[name] = nets
                if not known or self._until.get(name) is not None:
                    self._until[name] = self.clock() + self.retain
            self._wake.set()
        now = self.clock()
        # A probe must have had time to come back before its silence
        # counts, and a silence needs two probes when the window allows.
        allowance = min(0.1, self.interval / 2)
        needed = 2 if window >= 2 * self.interval + allowance else 1
        with self._lock:
            healthy = (self.is_alive() and self.last_round is not None and
                       now - self.last_round <= 3 * self.interval + 0.5)
            result, undecided = {}, False
            for net in addresses or {}:
                seen = self._seen.get(nets[net]) if net in nets else None
                if seen is not None and seen.last_ok is not None and \
                        now - seen.last_ok <= window:
                    result[net] = True
                    continue
                result[net] = False
                if net in nets and not (healthy and seen is not None and
                                        seen.silent(now, window, needed,
                                                    allowance)):
                    undecided = True
        if any(result.values()) or not undecided:
            return result
        return None

    def wait_verdict(self, name, addresses, port, window, timeout=None):
        """:meth:`verdict`, waiting up to ``timeout`` (default ``window`` +
        2 intervals) for it to be decided; None if it still is not."""
        deadline = self.clock() + (window + 2 * self.interval + 0.2
                                   if timeout is None else timeout)
        while True:
            result = self.verdict(name, addresses, port, window)
            left = deadline - self.clock()
            if result is not None or left <= 0:
                return result
            with self._changed:
                self._changed.wait(min(left, self.interval))

    # -- the thread -------------------------------------------------------
    def stop(self):
        self._halt.set()
        self._wake.set()

    #: receive buffer asked for (root may exceed net.core.rmem_max): a
    #: leader watching thousands of hosts gets their replies in bursts
    RCVBUF = 4 << 20

    def _sock(self, family):
        sock = self._socks.get(family)
        if sock is None:
            sock = self._socks[family] = socket.socket(family,
                                                       socket.SOCK_DGRAM)
            sock.setblocking(False)
            for option in (getattr(socket, 'SO_RCVBUFFORCE', None),
                           socket.SO_RCVBUF):
                if option is None:
                    continue
                try:
                    sock.setsockopt(socket.SOL_SOCKET, option, self.RCVBUF)
                    break
                except OSError:
                    continue
        return sock

    def _drain(self):
        """Read every reply waiting (caller holds the lock)."""
        now = self.clock()
        got = False
        tail = b' ' + self._nonce
        seen_of = self._seen
        for family, sock in self._socks.items():
            recv = sock.recvfrom
            while True:
                try:
                    data, peer = recv(512)
                except OSError:       # incl. BlockingIOError: all read
                    break
                if not data.endswith(tail) or not data.startswith(REPLY):
                    continue
                seen = seen_of.get((family, peer[:2]))
                if seen is not None:
                    seen.last_ok = now
                    got = True
        if got:
            self._changed.notify_all()

    def _plan(self):
        """Every address to probe this round, in a new random order (a
        reply lost to a burst never hits the same hosts round after
        round); forgets targets whose retention ran out."""
        now = self.clock()
        with self._lock:
            for name, until in list(self._until.items()):
                if until is not None and now >= until:
                    self._targets.pop(name, None)
                    self._specs.pop(name, None)
                    self._until.pop(name, None)
            wanted = {addr for nets in self._targets.values()
                      for addr in nets.values()}
            for addr in list(self._seen):
                if addr not in wanted:
                    del self._seen[addr]
        addrs = list(wanted)
        random.shuffle(addrs)
        return addrs

    def _send(self, addrs):
        message = PROBE + self._nonce
        seen_of = self._seen
        with self._lock:
            now = self.clock()
            for key in addrs:
                family, addr = key
                try:
                    self._sock(family).sendto(message, addr)
                except OSError as exc:
                    LOG.debug('reachability: probe %s: %s', addr, exc)
                    continue
                seen = seen_of.get(key)
                if seen is None:
                    seen = seen_of[key] = _Seen()
                seen.sent(now)
            self._drain()

    def _pump(self, until):
        """Read replies until ``until`` (monotonic) or a wake-up, in
        batches every 20 ms at most: waking for every datagram costs more
        CPU than the datagrams (the receive buffer holds a batch easily,
        and a reply read late only looks fresher)."""
        while not self._halt.is_set() and not self._wake.is_set():
            left = until - self.clock()
            if left <= 0:
                return
            self._wake.wait(min(left, 0.02))
            with self._lock:
                self._drain()

    def _send_new(self, planned):
        """After a wake-up, probe the addresses added since the round was
        planned (and add them to ``planned``); False when not woken."""
        if not self._wake.is_set():
            return False
        self._wake.clear()
        with self._lock:
            extra = [addr for nets in self._targets.values()
                     for addr in nets.values() if addr not in planned]
        planned.update(extra)
        self._send(extra)
        return True

    def run(self):
        """Rounds of probes, each spread over most of the interval in
        bursts of :attr:`BURST` so the replies come back at an even rate;
        a new target (a question about a host nobody watched) is probed
        at once, not at the next round."""
        try:
            while not self._halt.is_set():
                started = self.clock()
                self._wake.clear()
                addrs = self._plan()
                planned = set(addrs)
                bursts = [addrs[i:i + self.BURST]
                          for i in range(0, len(addrs), self.BURST)]
                gap = 0.8 * self.interval / max(1, len(bursts))
                for i, burst in enumerate(bursts):
                    if self._halt.is_set():
                        return
                    self._send(burst)
                    self._pump(started + (i + 1) * gap)
                    self._send_new(planned)
                with self._lock:
                    self.last_round = self.clock()
                    self.rounds += 1
                    self._changed.notify_all()
                while not self._halt.is_set():
                    self._pump(started + self.interval)
                    if not self._send_new(planned):
                        break
        finally:
            with self._lock:
                for sock in self._socks.values():
                    sock.close()
                self._socks.clear()
