"""The leader's reachability watch: CPU per monitored host, and whether it
ever calls a live host unreachable.

    python -m tests.benchmarks.bench_reachability [--hosts 500,2000,5000]
                                                  [--interval 0.25]
                                                  [--seconds 30] [--dead 10]

For each count N: one responder process answers probes on N UDP sockets on
127.0.0.1 (one per simulated host, the same reply an agent sends), and this
process runs one ``ReachabilityWatch`` over all N, as the leader does with
``[coordinator] watch_interval``.  Measures

* the watch's CPU (this process' CPU time over ``--seconds`` of watching,
  in percent of one core);
* false *unreachable* verdicts: every second, the verdict with the default
  window (1 s: ``probe_timeout`` 2 s / 2) for every host; a live host judged
  unreachable there would be fenced if its lease also expired;
* for ``--dead`` hosts whose sockets are then closed: the time until the
  watch calls them unreachable (the window, by design) while every other
  host stays reachable.

The responder shares the 2 cores with the watch, so at large N it is the
simulated fleet, not the watch, that runs short of CPU first: replies it
drops show up as false verdicts, which is the point of measuring them.
"""

import argparse
import multiprocessing
import os
import platform
import resource
import select
import socket
import sys
import time

from tests.benchmarks import stats
from vmr_common.reach import probes

WINDOW = 1.0


def responder(count, conn):
    """Answer probes on ``count`` sockets until told to stop; close the
    sockets of the ports sent over ``conn`` (those hosts die)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256),
                                                    hard))
    socks = {}
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.0.0.1', 0))
        s.setblocking(False)
        socks[s.fileno()] = s
    conn.send([s.getsockname()[1] for s in socks.values()])
    poller = select.epoll()
    for fd in socks:
        poller.register(fd, select.EPOLLIN)
    poller.register(conn.fileno(), select.EPOLLIN)
    answered = 0
    while True:
        for fd, _ in poller.poll(1.0):
            if fd == conn.fileno():
                msg = conn.recv()
                if msg == 'stop':
                    conn.send(answered)
                    return
                for port in msg:
                    for sfd, s in list(socks.items()):
                        if s.getsockname()[1] == port:
                            poller.unregister(sfd)
                            s.close()
                            del socks[sfd]
                continue
            s = socks.get(fd)
            if s is None:
                continue
            while True:
                try:
                    data, peer = s.recvfrom(512)
                except (BlockingIOError, InterruptedError):
                    break
                if data.startswith(probes.PROBE):
                    s.sendto(probes.REPLY + b'h ' + data[len(probes.PROBE):],
                             peer)
                    answered += 1


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(count, interval, seconds, dead, log=sys.stderr):
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=responder, args=(count, child),
                                   daemon=True)
    proc.start()
    try:
        ports = parent.recv()
        targets = {'host-%05d' % i: ({'mgmt': '127.0.0.1:%d' % port}, port)
                   for i, port in enumerate(ports)}
        watch = probes.ReachabilityWatch(interval)
        watch.start()
        watch.set_targets(targets)
        time.sleep(2 * WINDOW)                      # warm up
        # 1. CPU of watching alone
        c0, t0, r0 = cpu(), time.monotonic(), watch.rounds
        time.sleep(seconds)
        watch_cpu = (cpu() - c0) / (time.monotonic() - t0) * 100
        rounds = (watch.rounds - r0) / (time.monotonic() - t0)
        # 2. verdicts for everyone, once a second
        false_unreachable, undecided, checks = 0, 0, 0
        verdict_ms = []
        for _ in range(int(seconds)):
            started = time.monotonic()
            for name, (addrs, port) in targets.items():
                v = watch.verdict(name, addrs, port, WINDOW)
                checks += 1
                if v is None:
                    undecided += 1
                elif not v['mgmt']:
                    false_unreachable += 1
            took = time.monotonic() - started
            verdict_ms.append(took * 1000 / len(targets))
            time.sleep(max(0.0, 1.0 - took))
        # 3. some hosts die
        victims = sorted(targets)[:dead]
        parent.send([targets[v][1] for v in victims])
        killed = time.monotonic()
        detected = {}
        live_flagged = 0
        while len(detected) < len(victims) and \
                time.monotonic() - killed < 10 * WINDOW:
            for name in victims:
                if name in detected:
                    continue
                addrs, port = targets[name]
                v = watch.verdict(name, addrs, port, WINDOW)
                if v is not None and not v['mgmt']:
                    detected[name] = time.monotonic() - killed
            for name in sorted(targets)[dead:dead + 50]:
                addrs, port = targets[name]
                v = watch.verdict(name, addrs, port, WINDOW)
                if v is not None and not v['mgmt']:
                    live_flagged += 1
            time.sleep(0.02)
        watch.stop()
        parent.send('stop')
        answered = parent.recv()
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    result = {
        'hosts': count, 'interval': interval, 'window': WINDOW,
        'watch_cpu_percent': round(watch_cpu, 1),
        'rounds_per_s': round(rounds, 2),
        'verdict_checks': checks, 'false_unreachable': false_unreachable,
        'undecided': undecided,
        'verdict_us_per_host': round(stats.percentile(verdict_ms, 50) * 1000,
                                     1),
        'dead': len(victims), 'dead_detected': len(detected),
        'dead_after': sorted(round(v, 3) for v in detected.values()),
        'live_flagged_after_deaths': live_flagged,
        'replies_sent': answered,
    }
    print('%5d hosts every %.2f s: watch %.1f %% of a core, %d false '
          'unreachable in %d verdicts, %d/%d dead seen unreachable after '
          'p50 %.2f s' % (count, interval, watch_cpu, false_unreachable,
                          checks, len(detected), len(victims),
                          stats.percentile(list(detected.values()), 50)),
          file=log, flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--hosts', default='500,2000,5000')
    parser.add_argument('--interval', type=float, default=0.25,
                        help='[coordinator] watch_interval (s)')
    parser.add_argument('--seconds', type=float, default=30)
    parser.add_argument('--dead', type=int, default=10)
    parser.add_argument('--rcvbuf', type=int, default=None,
                        help='receive buffer of the watch\'s socket (bytes; '
                             'default: the product\'s); 212992 is what a '
                             'non-root coordinator gets on a default '
                             'kernel')
    parser.add_argument('--output', default='reachability')
    args = parser.parse_args(argv)
    if args.rcvbuf:
        probes.ReachabilityWatch.RCVBUF = args.rcvbuf
    data = {'command': 'python -m tests.benchmarks.bench_reachability ' +
            ' '.join(argv if argv is not None else sys.argv[1:]),
            'machine': platform.platform(), 'cpus': os.cpu_count(),
            'load_avg_start': os.getloadavg(), 'runs': [],
            'rcvbuf': probes.ReachabilityWatch.RCVBUF}
    for count in [int(x) for x in args.hosts.split(',')]:
        data['runs'].append(measure(count, args.interval, args.seconds,
                                    args.dead))
    data['load_avg_end'] = os.getloadavg()
    print('%6s %8s %10s %12s %10s %10s' % ('hosts', 'interval', 'cpu %',
                                           'false unr.', 'verdicts',
                                           'dead seen'))
    for r in data['runs']:
        print('%6d %8.2f %10.1f %12d %10d %7d/%d' % (
            r['hosts'], r['interval'], r['watch_cpu_percent'],
            r['false_unreachable'], r['verdict_checks'], r['dead_detected'],
            r['dead']))
    stats.write_results(args.output, data)
    return 0


if __name__ == '__main__':
    sys.exit(main())
