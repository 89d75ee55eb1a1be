"""Free loopback ports for the lab, the demo and the tests.

Asking the kernel for port 0 hands out a port from the *ephemeral* range,
which is also where every outgoing connection on the machine takes its
local port: between the moment we learn a port is free and the moment a
child process binds it, any client connection can take it (a CI run lost
a coordinator's API that way).  So ports here come from below the
ephemeral range, where the kernel never picks on its own, and one process
never hands out the same port twice.
"""

import random
import socket
import threading

RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range'
LOWEST = 10000

_lock = threading.Lock()
_given = set()
_rng = random.Random()


def ephemeral_range():
    """(low, high) of the kernel's ephemeral port range."""
    try:
        with open(RANGE_FILE) as fh:
            low, high = (int(x) for x in fh.read().split()[:2])
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _choices():
    low, high = ephemeral_range()
    if low - LOWEST >= 2000:
        return LOWEST, low - 1
    return high + 1, 65535


def _bindable(port, kind):
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def free_port(udp=False):
    """A port on 127.0.0.1 that is free now (TCP, or UDP with ``udp``).

    Both protocols are checked, so the port serves either.
    """
    first, last = _choices()
    with _lock:
        for _ in range(500):
            port = _rng.randint(first, last)
            if port in _given:
                continue
            if (_bindable(port, socket.SOCK_STREAM)
                    and _bindable(port, socket.SOCK_DGRAM)):
                _given.add(port)
                return port
    # Everything we tried was busy: let the kernel choose.
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def free_udp_port():
    """A UDP port on 127.0.0.1 that is free now."""
    return free_port(udp=True)
