"""fdwait.readable works for descriptors select.select refuses (>= 1024)."""

import os
import resource
import select
import socket

import pytest

from vmr_common import fdwait


def test_a_descriptor_above_1024_is_waited_on():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    high = 1500
    if max(soft, hard) <= high:
        pytest.skip('RLIMIT_NOFILE %s/%s: cannot open fd %d' % (soft, hard,
                                                                high))
    if soft <= high:
        resource.setrlimit(resource.RLIMIT_NOFILE, (high + 1, hard))
    a, b = socket.socketpair()
    fd = os.dup2(a.fileno(), high)
    try:
        with pytest.raises(ValueError):
            select.select([fd], [], [], 0)      # what broke the probe thread
        assert fdwait.readable([fd], 0.05) == []
        b.sendall(b'x')
        assert fdwait.readable([fd], 1.0) == [fd]
    finally:
        os.close(fd)
        a.close()
        b.close()
        if soft <= high:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_closed_sockets_are_skipped_and_objects_come_back():
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    c.close()
    try:
        b.sendall(b'x')
        assert fdwait.readable([a, c], 1.0) == [a]
        assert fdwait.readable([], 0.01) == []
    finally:
        for sock in (a, b, d):
            sock.close()
