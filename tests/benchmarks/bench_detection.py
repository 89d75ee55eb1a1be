"""Detection latency and leader fail-over on real etcd and real processes.

    python -m tests.benchmarks.bench_detection [--kills 20] [--failovers 10]
                                               [--ttl 3]

Kills one agent at a time with SIGKILL and measures the time until the
leader writes ``failed`` into its host record; restarts it and waits until
it is ``up`` again. Then kills the leader coordinator repeatedly and
measures the time until another one holds the leader key. Prints p50 / p95
/ p99 / max and writes JSON (+ PNG if matplotlib is installed) into
doc/benchmarks/.
"""

import argparse
import platform
import sys
import time

from tests.benchmarks import stats
from tests.etcd_fixture import EtcdServer
from tests.procs import Cluster, wait_for


def states(store):
    kvs, _ = store.get_prefix(store.keys.hosts)
    return {kv.key.rsplit('/', 1)[1]: kv.json().get('state') for kv in kvs}


def leader(store):
    kv = store.get(store.keys.leader)
    return kv.value if kv else None


def run(kills, failovers, ttl):
    etcd = EtcdServer(name='vmr-bench').start()
    timing = {'ttl': ttl, 'interval': min(1.0, ttl / 3),
              'period': min(0.5, ttl / 6), 'leader_ttl': 3,
              'leader_margin': 0.5, 'probe_timeout': 1.0, 'grace': 0.0}
    cluster = Cluster([etcd.endpoint], agents=4, coordinators=2,
                      timing=timing).start()
    store = cluster.store()
    detection, failover = [], []
    try:
        wait_for(lambda: len(states(store)) == 4 and all(
            s == 'up' for s in states(store).values()) and leader(store), 60,
            message='cluster up')
        names = sorted(cluster.agents)
        for i in range(kills):
            victim = names[i % len(names)]
            time.sleep(1.0 + (i % 7) * 0.13)   # de-phase from the beats
            t0 = time.monotonic()
            cluster.agents[victim].kill()
            wait_for(lambda: states(store)[victim] == 'failed', 60,
                     interval=0.02, message='%s failed' % victim)
            detection.append(time.monotonic() - t0)
            cluster.agents[victim].start()
            wait_for(lambda: states(store)[victim] == 'up', 60,
                     message='%s back' % victim)
            print('kill %2d %s: %.2f s' % (i + 1, victim, detection[-1]),
                  file=sys.stderr)
        for i in range(failovers):
            old = leader(store)
            time.sleep(0.5 + (i % 5) * 0.17)
            t0 = time.monotonic()
            cluster.coordinators[old].kill()
            wait_for(lambda: leader(store) not in (None, old), 60,
                     interval=0.02, message='new leader')
            failover.append(time.monotonic() - t0)
            cluster.coordinators[old].start()
            print('failover %2d: %.2f s' % (i + 1, failover[-1]),
                  file=sys.stderr)
    finally:
        cluster.stop()
        etcd.cleanup()
    return detection, failover, timing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--kills', type=int, default=20)
    parser.add_argument('--failovers', type=int, default=10)
    parser.add_argument('--ttl', type=float, default=3)
    args = parser.parse_args(argv)
    detection, failover, timing = run(args.kills, args.failovers, args.ttl)
    rows = {'detection (kill -> failed)': stats.summary(detection),
            'leader failover': stats.summary(failover)}
    print(stats.table(rows))
    stats.write_results('detection', {
        'command': 'python -m tests.benchmarks.bench_detection --kills %d '
                   '--failovers %d --ttl %s' % (args.kills, args.failovers,
                                                args.ttl),
        'timing': timing, 'machine': platform.platform(),
        'detection': detection, 'failover': failover, 'summary': rows})
    stats.plot('detection', {'kill -> failed': detection,
                             'leader failover': failover}, 'seconds')
    return 0


if __name__ == '__main__':
    sys.exit(main())
