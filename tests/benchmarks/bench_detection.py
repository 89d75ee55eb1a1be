"""Detection latency vs heartbeat TTL, and leader fail-over, on real processes.

    python -m tests.benchmarks.bench_detection [--ttls 2,3,5,10] [--kills 30]
                                               [--failovers 20]

For each TTL T: real etcd, six real agents and two real coordinators (agent
interval min(1, T/3), period min(0.5, T/6), grace 0, probe timeout 1 s).
Kills one agent at a time with SIGKILL and measures the time until the
leader writes ``failed`` into its host record; the victim is restarted at
once and the next kill takes another agent (already ``up`` again), so kills
do not wait for restarts.  Then kills the leader coordinator repeatedly and
measures the time until another one holds the leader key (leader TTL 3 s).
Prints p50 / p95 / p99 / max and writes JSON (+ PNG) into doc/benchmarks/.
The budget is T + grace + period + probe timeout (DESIGN §3).
"""

import argparse
import concurrent.futures
import os
import platform
import sys
import time

from tests.benchmarks import stats
from tests.etcd_fixture import EtcdServer
from tests.procs import Cluster, wait_for


def states(store):
    kvs, _ = store.get_prefix(store.keys.hosts)
    return {kv.key.rsplit('/', 1)[1]: kv.json().get('state') for kv in kvs}


def bring_back(store, victim, timeout=90):
    """Wait until the restarted ``victim`` is ``up`` again.

    Its failure opened a recovery that stays *blocked* (this cluster has no
    fence profile), which keeps the host *failed*: once the agent is back
    in the group, do what an operator would after checking the host --
    close the recovery -- so the next kill measures detection again.
    """
    from vmr_common.store import Compare, Op
    member = store.keys.member('vmr-agents', victim)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if states(store).get(victim) == 'up':
            return
        if store.get(member) is not None:
            kvs, _ = store.get_prefix(store.keys.journal)
            for kv in kvs:
                if kv.json().get('host') == victim:
                    store.delete(kv.key)
            store.delete(store.keys.host_lock(victim))
            kv = store.get(store.keys.host(victim))
            data = kv.json()
            if data.get('recovery') or data.get('state') != 'failed':
                # Back to plain *failed* with no recovery: the leader sees
                # the agent live again and moves it to *up* in its next
                # cycle (detection runs before the recovery stage).
                data.pop('recovery', None)
                data['state'] = 'failed'
                store.txn([Compare.mod_revision(kv.key, kv.mod_revision)],
                          [Op.put(kv.key, data)])
        time.sleep(0.5)
    raise AssertionError('%s did not come back up' % victim)


def leader(store):
    kv = store.get(store.keys.leader)
    return kv.value if kv else None


def run(kills, failovers, ttl, agents=6, probe_timeout=1.0, log=sys.stderr):
    etcd = EtcdServer(name='vmr-bench').start()
    timing = {'ttl': ttl, 'interval': min(1.0, ttl / 3),
              'period': min(0.5, ttl / 6), 'leader_ttl': 3,
              'leader_margin': 0.5, 'probe_timeout': probe_timeout,
              'grace': 0.0}
    cluster = Cluster([etcd.endpoint], agents=agents, coordinators=2,
                      timing=timing).start()
    store = cluster.store()
    detection, failover = [], []
    try:
        wait_for(lambda: len(states(store)) == agents and all(
            s == 'up' for s in states(store).values()) and leader(store), 90,
            message='cluster up')
        names = sorted(cluster.agents)
        for i in range(kills):
            victim = names[i % len(names)]
            bring_back(store, victim)
            time.sleep(0.3 + (i % 7) * 0.13)   # de-phase from the beats
            t0 = time.monotonic()
            cluster.agents[victim].kill()
            wait_for(lambda: states(store)[victim] == 'failed', 60,
                     interval=0.02, message='%s failed' % victim)
            detection.append(time.monotonic() - t0)
            cluster.agents[victim].start()
            print('T=%s kill %2d %s: %.2f s' % (ttl, i + 1, victim,
                                                 detection[-1]), file=log)
        for i in range(failovers):
            old = leader(store)
            time.sleep(0.5 + (i % 5) * 0.17)
            t0 = time.monotonic()
            cluster.coordinators[old].kill()
            wait_for(lambda: leader(store) not in (None, old), 60,
                     interval=0.02, message='new leader')
            failover.append(time.monotonic() - t0)
            cluster.coordinators[old].start()
            print('failover %2d: %.2f s' % (i + 1, failover[-1]), file=log)
    finally:
        cluster.stop()
        etcd.cleanup()
    return detection, failover, timing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--ttls', default='2,3,5,10',
                        help='heartbeat TTLs to measure, comma-separated')
    parser.add_argument('--kills', type=int, default=30)
    parser.add_argument('--failovers', type=int, default=20)
    parser.add_argument('--probe-timeout', type=float, default=1.0,
                        help='[coordinator] probe_timeout (s)')
    parser.add_argument('--parallel', action='store_true',
                        help='measure the TTLs at the same time, each on its '
                             'own etcd and processes (detection waits on '
                             'lease expiry, not on CPU)')
    parser.add_argument('--output', default='detection')
    args = parser.parse_args(argv)
    ttls = [float(x) for x in args.ttls.split(',')]
    rows, data = {}, {'command': 'python -m tests.benchmarks.bench_detection '
                      + ' '.join(argv if argv is not None else sys.argv[1:]),
                      'machine': platform.platform(), 'cpus': os.cpu_count(),
                      'ttls': {}}
    series = {}
    # Fail-overs once, with the first TTL's cluster.
    jobs = [(args.kills, args.failovers if i == 0 else 0, ttl, 6,
             args.probe_timeout) for i, ttl in enumerate(ttls)]
    if args.parallel:
        with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
            outcomes = list(pool.map(lambda job: run(*job), jobs))
    else:
        outcomes = [run(*job) for job in jobs]
    for ttl, (detection, failover, timing) in zip(ttls, outcomes):
        budget = ttl + timing['grace'] + timing['period'] + \
            timing['probe_timeout']
        rows['detection T=%gs' % ttl] = stats.summary(detection)
        series['T=%g s' % ttl] = detection
        data['ttls']['%g' % ttl] = {
            'timing': timing, 'budget': budget, 'detection': detection,
            'summary': rows['detection T=%gs' % ttl]}
        if failover:
            rows['leader failover (L=3s)'] = stats.summary(failover)
            data['failover'] = {'leader_ttl': timing['leader_ttl'],
                                'values': failover,
                                'summary': rows['leader failover (L=3s)']}
    data['load_avg_end'] = os.getloadavg()
    print(stats.table(rows))
    stats.write_results(args.output, data)
    stats.plot(args.output, series, 'seconds from SIGKILL to failed')
    if 'failover' in data:
        stats.plot(args.output + '_failover',
                   {'leader failover': data['failover']['values']},
                   'seconds from SIGKILL of the leader to a new leader')
    return 0


if __name__ == '__main__':
    sys.exit(main())
