"""Real keepalived with VMR-rendered configs, in throw-away network namespaces.

Each test builds its own lab (``vmrt-<random>`` namespaces on a bridge, see
``vrrp_lab.py``) and tears it down in a finalizer even when it fails. The
notify hook is the rendered ``notify.sh`` calling real curl; its calls reach a
small HTTP receiver that runs inside the lab's hub namespace (``ip netns
exec``) and appends each request to a file the test reads.

Timing bounds here are deliberately generous (CI machines are noisy); the
measured distribution lives in ``tests/benchmarks/bench_keepalived.py`` and
``doc/keepalived.rst``.
"""

import dataclasses
import os
import statistics
import time

import pytest

from tests.functional.keepalived import vrrp_lab
from tests.functional.keepalived.vrrp_lab import VIP, VrrpLab, deploy_guest_pair
from vmr_keepalived import templater

_REASON = vrrp_lab.unavailable_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f'keepalived lab: {_REASON}')

# VRRP with advert_int 1: a backup declares the master dead after
# 3 x advert + skew (~3.6 s); a priority-0 advert (SIGTERM) needs only the skew.
ELECTION_TIMEOUT = 15.0
SIGTERM_BOUND = 3.0
LINK_DOWN_BOUND = 8.0


@pytest.fixture
def lab():
    lab = VrrpLab(nodes=2)
    try:
        lab.build()
        yield lab
    finally:
        lab.close()
        _assert_gone(lab)


def _assert_gone(lab):
    left = set(os.listdir('/run/netns')) & {lab.hub, *lab.nodes}
    assert not left, f'namespaces left behind: {left}'
    assert not os.path.exists(lab.workdir)


def _only_holder(lab, ns):
    return lambda: lab.holders(VIP) == [ns]


def _stays(lab, ns, seconds):
    """Assert the VIP stays on ``ns`` (and only there) for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        holders = lab.holders(VIP)
        assert holders == [ns], f'VIP moved to {holders} while it should stay on {ns}'
        time.sleep(0.05)


def _wait_state(deployed, member, state, since=0):
    def seen():
        bodies = deployed.notifications()[since:]
        return any(b == {'pair': deployed.pair.name, 'instance': member, 'state': state}
                   for b in bodies)
    return seen


def test_sigterm_failover_nopreempt_and_notify(lab):
    """SIGTERM of the master moves the VIP; a returning node does not take it back."""
    d = deploy_guest_pair(lab)  # preempt: false (the default)
    ns = d.namespaces
    lab.wait_for(_only_holder(lab, ns['web-1']), ELECTION_TIMEOUT)
    lab.wait_for(_wait_state(d, 'web-1', 'MASTER'), 10)
    lab.wait_for(_wait_state(d, 'web-2', 'BACKUP'), 10)

    timings = []
    master, backup = 'web-1', 'web-2'
    for _ in range(2):
        seen = len(d.notifications())
        start = time.monotonic()
        lab.stop_keepalived(ns[master], wait=False)
        lab.wait_for(_only_holder(lab, ns[backup]), ELECTION_TIMEOUT)
        timings.append(time.monotonic() - start)
        lab.procs[ns[master]].wait(timeout=10)
        lab.wait_for(_wait_state(d, master, 'STOP', seen), 10)
        lab.wait_for(_wait_state(d, backup, 'MASTER', seen), 10)

        # The old master returns: nopreempt keeps the VIP where it is, even
        # though the returning node may have the higher priority.
        seen = len(d.notifications())
        lab.start_keepalived(ns[master], d.configs[master])
        lab.wait_for(_wait_state(d, master, 'BACKUP', seen), 10)
        # In the first round the returning node is web-1 (priority 150): with
        # preempt it would take over at the first advert it hears (<= 1 s),
        # so 1.5 s of stability shows nopreempt at work.
        _stays(lab, ns[backup], 1.5)
        master, backup = backup, master

    assert max(timings) < SIGTERM_BOUND, f'SIGTERM failover took {timings} s'
    print(f'SIGTERM failover: {[round(t, 3) for t in timings]} s, '
          f'median {statistics.median(timings):.3f} s')


def test_link_down_failover_and_preempt(lab):
    """Master link down moves the VIP; with preempt the returning master takes it back."""
    d = deploy_guest_pair(lab, webhook=False, preempt=True)
    ns = d.namespaces
    lab.wait_for(_only_holder(lab, ns['web-1']), ELECTION_TIMEOUT)

    # keepalived sees its interface go down and enters FAULT, so it cannot
    # send a priority-0 advert: the backup waits the full master-down interval.
    start = time.monotonic()
    lab.link(ns['web-1'], up=False)
    lab.wait_for(lambda: lab.has_address(ns['web-2'], VIP), ELECTION_TIMEOUT)
    elapsed = time.monotonic() - start
    assert elapsed < LINK_DOWN_BOUND, f'link-down failover took {elapsed:.2f} s'
    assert not lab.has_address(ns['web-1'], VIP), 'a FAULT node must drop the VIP'

    lab.link(ns['web-1'], up=True)
    # preempt: web-1 (priority 150) reclaims the VIP from web-2 (100).
    lab.wait_for(_only_holder(lab, ns['web-1']), ELECTION_TIMEOUT)

    # Same after a SIGTERM and restart.
    lab.stop_keepalived(ns['web-1'])
    lab.wait_for(_only_holder(lab, ns['web-2']), ELECTION_TIMEOUT)
    lab.start_keepalived(ns['web-1'], d.configs['web-1'])
    lab.wait_for(_only_holder(lab, ns['web-1']), ELECTION_TIMEOUT)
    print(f'link-down failover: {elapsed:.3f} s')


def test_track_script_failure_moves_vip(lab):
    """The guarded service's check failing puts the master in FAULT: VIP moves."""
    healthy = {m: lab.write(f'{m}.healthy', '') for m in ('web-1', 'web-2')}
    d = deploy_guest_pair(lab, webhook=False, check_command=None,
                          start=False, service=None)
    # One check command per member (they share a file system here).
    for member, ns in d.namespaces.items():
        own = dataclasses.replace(d.pair, check_command=f'/usr/bin/test -e {healthy[member]}')
        conf = templater.render_guest_pair(own)[member][templater.CONF_FILE]
        lab.start_keepalived(ns, lab.write(f'{member}-track.conf', conf))
        # nopreempt: let web-1 win before web-2 starts (see deploy_guest_pair).
        lab.wait_for(lambda: len(lab.holders(VIP)) == 1, ELECTION_TIMEOUT)
    assert lab.holders(VIP) == [d.namespaces['web-1']]

    os.unlink(healthy['web-1'])
    lab.wait_for(_only_holder(lab, d.namespaces['web-2']), ELECTION_TIMEOUT)


def test_controller_vip_follows_readyz():
    """Three controllers: the VIP leaves a controller whose /readyz fails."""
    lab = VrrpLab(nodes=3)
    try:
        lab.build()
        port = 8779
        spec = templater.ControllerVip(
            controllers=[{'name': f'ctl-{i}', 'address': lab.addresses[ns]}
                         for i, ns in enumerate(lab.nodes)],
            vip=f'{VIP}/24', virtual_router_id=60, api_port=port,
            check_interval=1, check_fall=1, check_rise=1, check_timeout=1)
        rendered = templater.render_controller_vip(spec)
        for i, ns in enumerate(lab.nodes):
            # A static file server stands in for the coordinator: /readyz is
            # 200 while the file exists and 404 (curl -f fails) once removed.
            docroot = lab.path(f'ctl-{i}-www')
            os.mkdir(docroot)
            with open(os.path.join(docroot, 'readyz'), 'w') as f:
                f.write('ok\n')
            lab.start_in_namespace(ns, [
                'python3', '-m', 'http.server', str(port), '--bind', '127.0.0.1',
                '--directory', docroot])
        n0, n1, _ = lab.nodes
        for i, ns in enumerate(lab.nodes):
            conf = rendered[f'ctl-{i}'][templater.CONF_FILE]
            lab.start_keepalived(ns, lab.write(f'ctl-{i}.conf', conf))
            if i == 0:
                # nopreempt: the first MASTER keeps the VIP, so let ctl-0 win
                # before the others start (see deploy_guest_pair).
                lab.wait_for(lambda: lab.holders(VIP) == [n0], ELECTION_TIMEOUT)
        os.unlink(os.path.join(lab.path('ctl-0-www'), 'readyz'))
        # ctl-1 has the next priority (125 > 100).
        lab.wait_for(lambda: lab.holders(VIP) == [n1], ELECTION_TIMEOUT)
    finally:
        lab.close()
    _assert_gone(lab)
