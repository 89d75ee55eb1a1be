"""Failover time of a VMR-rendered keepalived guest pair, in network namespaces.

Builds the same throw-away lab as the functional tests (``vmrt-<random>``
namespaces, veths on a bridge, everything removed at the end), starts real
keepalived with a rendered guest-pair config (unicast VRRP, ``nopreempt``)
and repeatedly takes the current master down:

* ``sigterm``: SIGTERM to the master's keepalived (it sends a priority-0
  advert and releases the VIP), then restart it;
* ``link-down``: the master's own eth0 goes down (keepalived enters FAULT and
  cannot advertise, so the backup waits the master-down interval), then up;
* ``sigkill`` (not run by default): SIGKILL to the foreground keepalived
  parent; its VRRP child still stops cleanly, so this behaves like SIGTERM.

Failover time = from the signal / link change until the VIP is configured on
the other node (polled every 5 ms with ``ip addr``). With ``nopreempt`` the VIP
stays on the new master, so each repetition fails over in the other direction.

Run as root::

    python -m tests.benchmarks.bench_keepalived --repetitions 20
"""

import argparse
import math
import signal
import statistics
import sys
import time

from tests.functional.keepalived import vrrp_lab
from tests.functional.keepalived.vrrp_lab import VIP, VrrpLab, deploy_guest_pair

MODES = ('sigterm', 'link-down', 'sigkill')
DEFAULT_MODES = ('sigterm', 'link-down')
BACKUP_LINE = 'Entering BACKUP STATE'


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (with 20 samples p99 is the maximum)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _master(lab: VrrpLab, d) -> str:
    holders = lab.holders(VIP)
    if len(holders) != 1:
        raise RuntimeError(f'expected one VIP holder, got {holders}')
    return next(m for m, ns in d.namespaces.items() if ns == holders[0])


def run_mode(lab: VrrpLab, d, mode: str, repetitions: int, timeout: float) -> list[float]:
    """Fail the current master over ``repetitions`` times; return the durations."""
    samples = []
    for _ in range(repetitions):
        master = _master(lab, d)
        backup = next(m for m in d.namespaces if m != master)
        m_ns, b_ns = d.namespaces[master], d.namespaces[backup]
        if mode in ('sigterm', 'sigkill'):
            sig = signal.SIGTERM if mode == 'sigterm' else signal.SIGKILL
            start = time.monotonic()
            lab.stop_keepalived(m_ns, sig, wait=False)
        else:
            before = lab.log_count(m_ns, BACKUP_LINE)
            start = time.monotonic()
            lab.link(m_ns, up=False)
        lab.wait_for(lambda b=b_ns: lab.has_address(b, VIP), timeout, interval=0.005)
        samples.append(time.monotonic() - start)

        # Bring the old master back and wait until it settled as BACKUP, so
        # the next repetition starts from a clean master/backup pair.
        if mode in ('sigterm', 'sigkill'):
            lab.procs[m_ns].wait(timeout=10)
            lab.start_keepalived(m_ns, d.configs[master])
            before = 0
        else:
            lab.link(m_ns, up=True)
        lab.wait_for(lambda n=m_ns, c=before: lab.log_count(n, BACKUP_LINE) > c,
                     timeout, interval=0.05)
        lab.wait_for(lambda b=b_ns: lab.holders(VIP) == [b], timeout, interval=0.05)
        time.sleep(0.5)
    return samples


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table of failover times."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repetitions', type=int, default=20)
    parser.add_argument('--modes', nargs='+', choices=MODES, default=list(DEFAULT_MODES))
    parser.add_argument('--advert-int', type=int, default=1)
    args = parser.parse_args(argv)
    reason = vrrp_lab.unavailable_reason()
    if reason:
        print(f'cannot run: {reason}', file=sys.stderr)
        return 2

    results = {}
    with VrrpLab(nodes=2) as lab:
        d = deploy_guest_pair(lab, webhook=False, advert_int=args.advert_int)
        lab.wait_for(lambda: len(lab.holders(VIP)) == 1, 30, interval=0.05)
        time.sleep(1)
        for mode in args.modes:
            results[mode] = run_mode(lab, d, mode, args.repetitions,
                                     timeout=10 + 5 * args.advert_int)

    print(f'keepalived {vrrp_lab.KEEPALIVED}, unicast VRRPv2, advert_int {args.advert_int} s, '
          f'priorities 150/100, nopreempt; failover = master down -> VIP on the backup')
    header = f'{"mode":<10} {"n":>3} ' + ' '.join(
        f'{c:>7}' for c in ('min', 'p50', 'p95', 'p99', 'max', 'mean'))
    print(header)
    print('-' * len(header))
    for mode, samples in results.items():
        print(f'{mode:<10} {len(samples):>3} {min(samples):>7.3f} '
              f'{percentile(samples, 50):>7.3f} '
              f'{percentile(samples, 95):>7.3f} {percentile(samples, 99):>7.3f} '
              f'{max(samples):>7.3f} {statistics.fmean(samples):>7.3f}')
    print('(seconds)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
