"""ReachabilityWatch: warm answers from continuous probing, on loopback UDP."""

import socket
import threading
import time

import pytest

from vmr_common.reach import probes
from vmr_common.reach import watch as watch_mod


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def responder():
    made = []

    def make(alive=lambda: True):
        port = free_port()
        r = probes.ProbeResponder('h', [('127.0.0.1', port)], alive)
        r.start()
        made.append(r)
        return r, {'mgmt': '127.0.0.1:%d' % port}
    yield make
    for r in made:
        r.stop()


@pytest.fixture
def watch():
    w = watch_mod.ReachabilityWatch(0.1, retain=0.5)
    w.start()
    yield w
    w.stop()
    w.join(2)


def test_live_host_is_reachable_at_once(watch, responder):
    _, addrs = responder()
    started = time.monotonic()
    verdict = watch.wait_verdict('h', addrs, 4747, window=1.0)
    assert verdict == {'mgmt': True}
    assert time.monotonic() - started < 0.5   # no window to wait out


def test_silent_host_needs_the_whole_window(watch):
    addrs = {'mgmt': '127.0.0.1:%d' % free_port()}
    assert watch.verdict('h', addrs, 4747, window=0.6) is None
    started = time.monotonic()
    verdict = watch.wait_verdict('h', addrs, 4747, window=0.6)
    assert verdict == {'mgmt': False}
    assert time.monotonic() - started >= 0.5


def test_warm_watch_answers_without_waiting(watch, responder):
    r, addrs = responder()
    watch.set_targets({'h': (addrs, 4747)})
    time.sleep(0.5)
    assert watch.verdict('h', addrs, 4747, window=0.5) == {'mgmt': True}
    r.stop()
    r.join(2)
    time.sleep(0.8)          # silent longer than the window
    started = time.monotonic()
    assert watch.verdict('h', addrs, 4747, window=0.5) == {'mgmt': False}
    assert time.monotonic() - started < 0.05


def test_wedged_agent_looks_dead(watch, responder):
    _, addrs = responder(alive=lambda: False)
    assert watch.wait_verdict('h', addrs, 4747, window=0.5) == \
        {'mgmt': False}


def test_one_live_network_is_enough(watch, responder):
    _, addrs = responder()
    addrs = dict(addrs, storage='127.0.0.1:%d' % free_port())
    verdict = watch.wait_verdict('h', addrs, 4747, window=1.0)
    assert verdict['mgmt'] is True


def test_no_verdict_from_a_watch_that_does_not_run():
    stopped = watch_mod.ReachabilityWatch(0.1)        # never started
    addrs = {'mgmt': '127.0.0.1:%d' % free_port()}
    assert stopped.wait_verdict('h', addrs, 4747, window=0.2,
                                timeout=0.5) is None


def test_foreign_replies_do_not_count(watch):
    """Only replies carrying this watch's nonce count."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    stop = threading.Event()

    def impostor():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                _, peer = sock.recvfrom(512)
            except OSError:
                continue
            sock.sendto(probes.REPLY + b'h deadbeefdeadbeef', peer)
    t = threading.Thread(target=impostor, daemon=True)
    t.start()
    try:
        addrs = {'mgmt': '127.0.0.1:%d' % sock.getsockname()[1]}
        assert watch.wait_verdict('h', addrs, 4747, window=0.5) == \
            {'mgmt': False}
    finally:
        stop.set()
        t.join(2)
        sock.close()


def test_dropped_targets_are_kept_for_retain(watch, responder):
    _, addrs = responder()
    watch.set_targets({'h': (addrs, 4747), 'g': (addrs, 4747)})
    watch.set_targets({'g': (addrs, 4747)})
    assert watch.targets() == ['g', 'h']
    time.sleep(0.9)                              # retain is 0.5 s
    assert watch.targets() == ['g']


def test_unresolvable_network_is_unreachable(watch, responder):
    _, addrs = responder()
    verdict = watch.wait_verdict(
        'h', {'bad': 'no-such-host.invalid'}, 4747, window=0.3)
    assert verdict == {'bad': False}


def test_verdict_without_a_watch_probes_once(responder):
    _, addrs = responder()
    request = {'addresses': addrs, 'port': 4747, 'timeout': 0.5}
    assert probes.verdict(None, 'h', request, wait=False) is None
    assert probes.verdict(None, 'h', request, wait=True) == {'mgmt': True}
    dead = dict(request, addresses={'mgmt': '127.0.0.1:%d' % free_port()})
    assert probes.verdict(None, 'h', dead, wait=True) == {'mgmt': False}
