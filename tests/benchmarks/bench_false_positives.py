"""False positives under stress: healthy but jittery agents must never be fenced.

    python -m tests.benchmarks.bench_false_positives [--minutes 2]
        [--agents 4] [--ttl 3] [--delay-ms 200] [--delay-fraction 0.3]
        [--starve 0.5] [--pause-every 20]

Real etcd, two real coordinators, ``--agents`` real agents, each reaching
etcd through its own local TCP proxy (``vmr_lab.netproxy.TcpProxy``), and
every agent stressed by three injectors at once for ``--minutes``:

* CPU starvation: the agent's process group is stopped for ``--starve`` of
  every 100 ms (SIGSTOP/SIGCONT duty cycle, like a cgroup CPU quota of
  1 - starve; other users' load on the machine comes on top),
* network jitter: the proxy holds ``--delay-fraction`` of the chunks on the
  agent's etcd connection for ``--delay-ms``,
* pauses: at random (exponential, mean ``--pause-every`` s) the agent is
  stopped for ``--pause-factor`` x TTL (default 0.5) in one piece.

None of the agents ever dies, so every ``suspect`` is a false suspect and
every ``failed`` (what would be fenced) is a false fence.  Suspects are
counted from the hosts' records (polled every 50 ms, plus the ``flaps``
each return from suspect leaves in the record), fences from ``failed``
states and recovery records in the journal.  Target: 0 false fences.
"""

import argparse
import os
import platform
import random
import signal
import sys
import threading
import time

from tests.benchmarks import stats
from tests.etcd_fixture import EtcdServer
from tests.procs import Cluster, ServiceProcess, wait_for


class Stressor:
    """The three injectors of one agent, in two daemon threads."""

    def __init__(self, proc, ttl, starve, pause_every, rng,
                 pause_factor=0.5):
        self.proc = proc
        self.ttl = ttl
        self.pause_factor = pause_factor
        self.starve = starve
        self.pause_every = pause_every
        self.rng = rng
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.pauses = 0
        self.threads = [threading.Thread(target=self._starve, daemon=True),
                        threading.Thread(target=self._pause, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _starve(self):
        off = 0.1 * self.starve
        while not self.stop_event.is_set():
            if off > 0:
                with self.lock:
                    self.proc.signal(signal.SIGSTOP)
                    time.sleep(off)
                    self.proc.signal(signal.SIGCONT)
            self.stop_event.wait(0.1 - off)

    def _pause(self):
        while not self.stop_event.wait(self.rng.expovariate(
                1.0 / self.pause_every)):
            with self.lock:
                self.proc.signal(signal.SIGSTOP)
                time.sleep(self.pause_factor * self.ttl)
                self.proc.signal(signal.SIGCONT)
                self.pauses += 1

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(5)
        self.proc.signal(signal.SIGCONT)


def run(minutes, agents, ttl, delay_ms, delay_fraction, starve,
        pause_every, grace, pause_factor=0.5, seed=1, log=sys.stderr,
        period=None, probe_timeout=1.0):
    from vmr_lab.netproxy import TcpProxy
    rng = random.Random(seed)
    etcd = EtcdServer(name='vmr-fp').start()
    timing = {'ttl': ttl, 'interval': min(1.0, ttl / 3),
              'period': period or min(0.5, ttl / 6), 'leader_ttl': 3,
              'leader_margin': 0.5, 'probe_timeout': probe_timeout,
              'grace': grace}
    cluster = Cluster([etcd.endpoint], agents=0, coordinators=2,
                      timing=timing)
    port = int(etcd.endpoint.rsplit(':', 1)[1])
    proxies, stressors = {}, []
    result = {'timing': timing, 'minutes': minutes, 'agents': agents,
              'delay_ms': delay_ms, 'delay_fraction': delay_fraction,
              'starve': starve, 'pause_every': pause_every,
              'pause_seconds': pause_factor * ttl, 'grace': grace}
    try:
        for i in range(1, agents + 1):
            name = 'compute-%d' % i
            proxy = TcpProxy(0, '127.0.0.1', port).start()
            proxies[name] = proxy
            cluster.agents[name] = ServiceProcess(
                'agent', name, ['http://127.0.0.1:%d' % proxy.port],
                cluster.cluster, cluster.workdir, timing)
        cluster.start()
        store = cluster.store()

        def states():
            kvs, _ = store.get_prefix(store.keys.hosts)
            return {kv.key.rsplit('/', 1)[1]: kv.json() for kv in kvs}
        wait_for(lambda: len(states()) == agents and all(
            r.get('state') == 'up' for r in states().values()), 90,
            message='every agent up')
        for name, proc in cluster.agents.items():
            proxies[name].set_mode('delay', ms=delay_ms,
                                   fraction=delay_fraction)
            stressors.append(Stressor(proc, ttl, starve, pause_every,
                                      random.Random(rng.random()),
                                      pause_factor).start())
        print('stressing %d agents for %.1f min' % (agents, minutes),
              file=log)
        suspects, flaps, failed = {}, set(), {}
        last = {}
        t0 = time.monotonic()
        deadline = t0 + minutes * 60
        polls = 0
        while time.monotonic() < deadline:
            try:
                records = states()
            except Exception:   # etcd busy: keep going, count nothing
                time.sleep(0.05)
                continue
            polls += 1
            for name, rec in records.items():
                state = rec.get('state')
                if state != last.get(name):
                    if state in ('suspect', 'partitioned') and last.get(
                            name) not in ('suspect', 'partitioned'):
                        suspects[name] = suspects.get(name, 0) + 1
                    if state == 'failed':
                        failed[name] = failed.get(name, 0) + 1
                        print('FALSE FENCE: %s failed: %s' % (
                            name, rec.get('reason')), file=log)
                    last[name] = state
                for at in rec.get('flaps', []):
                    flaps.add((name, at))
            time.sleep(0.05)
        journal, _ = store.get_prefix(store.keys.journal)
        result.update({
            'seconds': round(time.monotonic() - t0, 1),
            'false_suspects_seen': sum(suspects.values()),
            'false_suspects_by_flaps': len(flaps),
            'false_suspects': max(sum(suspects.values()), len(flaps)),
            'suspects_by_host': suspects,
            'false_fences': sum(failed.values()),
            'recovery_records': len(journal),
            'pauses': sum(s.pauses for s in stressors),
            'polls': polls,
            'load_avg': os.getloadavg(),
        })
    finally:
        for s in stressors:
            s.stop()
        cluster.stop()
        for proxy in proxies.values():
            proxy.stop()
        etcd.cleanup()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--minutes', type=float, default=2.0)
    parser.add_argument('--agents', type=int, default=4)
    parser.add_argument('--ttl', type=float, default=3.0)
    parser.add_argument('--grace', type=float, default=0.0,
                        help='[coordinator] grace (0: the harshest, lab '
                             'default)')
    parser.add_argument('--delay-ms', type=float, default=200)
    parser.add_argument('--delay-fraction', type=float, default=0.3)
    parser.add_argument('--starve', type=float, default=0.5)
    parser.add_argument('--pause-every', type=float, default=20.0)
    parser.add_argument('--pause-factor', type=float, default=0.5,
                        help='pause length as a multiple of the TTL')
    parser.add_argument('--period', type=float, default=None,
                        help='[coordinator] period (default: min(0.5, '
                             'ttl/6); the shipped default is 1)')
    parser.add_argument('--probe-timeout', type=float, default=1.0,
                        help='[coordinator] probe_timeout (the shipped '
                             'default is 2)')
    parser.add_argument('--output', default='false_positives')
    args = parser.parse_args(argv)
    result = run(args.minutes, args.agents, args.ttl, args.delay_ms,
                 args.delay_fraction, args.starve, args.pause_every,
                 args.grace, args.pause_factor, period=args.period,
                 probe_timeout=args.probe_timeout)
    result['command'] = 'python -m tests.benchmarks.bench_false_positives ' \
        + ' '.join(argv if argv is not None else sys.argv[1:])
    result['machine'] = platform.platform()
    print('%.1f min, %d agents, %d pauses of %.1f s: %d false suspects, '
          '%d false fences, %d recovery records' % (
              result['seconds'] / 60, args.agents, result['pauses'],
              result['pause_seconds'], result['false_suspects'],
              result['false_fences'], result['recovery_records']))
    stats.write_results(args.output, result)
    return 0 if result['false_fences'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
