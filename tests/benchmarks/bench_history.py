"""What the leader's snapshot costs as closed recoveries pile up.

    python -m tests.benchmarks.bench_history [--closed 0,100,1000,10000]
        [--kept 0,100,1000,2000] [--steps 20] [--snapshots 30]

On one real etcd, each size gets its own VMR cluster holding the same
small live state (3 host records, 3 agents, one open recovery) plus N
closed recoveries of ``--steps`` servers each (shaped like the engine's,
about 10 KB at 20):

* **archived** (``--closed``): the N records below ``history/``, where the
  leader moves them now (``[journal] archive_after``);
* **kept** (``--kept``): the N records below ``journal/``, where 0.1.0 left
  every closed recovery forever.

For each cluster ``--snapshots`` snapshots are taken the way the leader
takes them (:func:`vmr_coordinator.snapshot.take` with its cache), and the
wall time and this process's CPU time of each are reported (p50 / p99), and
the ratio to the empty cluster of the same kind.
"""

import argparse
import gc
import os
import platform
import sys
import time

from tests.benchmarks import stats
from tests.benchmarks.bench_journal import record
from tests.etcd_fixture import EtcdServer

GROUP = 'vmr-agents'


class BigEtcd(EtcdServer):
    """An etcd whose backend holds the 10,000-record history (about
    100 MB per size, more than the default quota allows with the kept
    journals beside it)."""

    def extra_args(self):
        return ['--quota-backend-bytes', str(8 * 1024 ** 3)]
#: records per write transaction (etcd's default --max-txn-ops is 128 and
#: a request may not exceed 1.5 MB)
BATCH = 50


def seed(store, closed, where, steps):
    """The live state every cluster shares, and ``closed`` closed
    recoveries below ``where`` (``journal`` or ``history``)."""
    from vmr_common.store import Op
    keys = store.keys
    for i in range(1, 4):
        store.put(keys.host('compute-%d' % i), {'state': 'up'})
        store.put(keys.member(GROUP, 'compute-%d' % i), b'\x80')
    live = record(steps)
    live.update(id='open', state='acting')
    store.put(keys.recovery('open'), live)
    prefix = keys.journal if where == 'journal' else keys.history
    done = record(steps)
    done.update(state='done', archived_at=time.time())
    for start in range(0, closed, BATCH):
        store.txn([], [Op.put('%sclosed-%06d' % (prefix, i),
                              dict(done, id='closed-%06d' % i))
                       for i in range(start, min(closed, start + BATCH))])


def run(archived, kept, steps, snapshots, log=sys.stderr):
    """Seed every cluster, then take their snapshots in turns (one each per
    round), so every size is measured under the same load."""
    from vmr_common.store import Store
    from vmr_coordinator import snapshot as snapshot_mod
    etcd = BigEtcd(name='vmr-history').start()
    clusters = []
    try:
        for where, sizes in (('history', archived), ('journal', kept)):
            for n in sizes:
                store = Store([etcd.endpoint], cluster='%s-%d' % (where, n))
                t0 = time.monotonic()
                seed(store, n, where, steps)
                cache = snapshot_mod.SnapshotCache()
                snapshot_mod.take(store, GROUP, cache)  # the leader's first
                clusters.append({'where': where, 'n': n, 'store': store,
                                 'cache': cache, 'wall': [], 'cpu': [],
                                 'seeded': time.monotonic() - t0})
                print('  seeded %s %d in %.1f s' % (where, n,
                                                    clusters[-1]['seeded']),
                      file=log, flush=True)
        load_before = os.getloadavg()
        for i in range(snapshots + 1):
            # A different cluster first each round; the garbage one
            # snapshot leaves is collected before the next is timed.
            shift = i % len(clusters)
            for c in clusters[shift:] + clusters[:shift]:
                gc.collect()
                t0, c0 = time.perf_counter(), time.process_time()
                snap = snapshot_mod.take(c['store'], GROUP, c['cache'])
                wall = (time.perf_counter() - t0) * 1000
                cpu = (time.process_time() - c0) * 1000
                c['journal'] = len(snap.journal)
                # freed here, not inside the next cluster's timing
                del snap
                if i:   # round 0 warms up, it is not counted
                    c['wall'].append(wall)
                    c['cpu'].append(cpu)
        load_after = os.getloadavg()
    finally:
        etcd.cleanup()
    results = [{'closed_in': c['where'], 'closed': c['n'],
                'journal_records': c['journal'],
                'snapshot_ms': stats.summary(c['wall']),
                'cpu_ms': stats.summary(c['cpu']),
                'seed_seconds': round(c['seeded'], 1),
                'load_avg': [round(x, 2) for x in load_before + load_after]}
               for c in clusters]
    for r in results:
        base = next((b for b in results if b['closed_in'] == r['closed_in']
                     and b['closed'] == 0), None)
        if base:
            r['ratio_p50'] = round(r['snapshot_ms']['p50'] /
                                   base['snapshot_ms']['p50'], 2)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--closed', default='0,100,1000,10000',
                        help='sizes of the history (archived records)')
    parser.add_argument('--kept', default='0,100,1000,2000',
                        help='sizes of closed records kept in the journal '
                             '(0.1.0\'s behaviour); empty for none')
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--snapshots', type=int, default=30)
    parser.add_argument('--output', default='history')
    args = parser.parse_args(argv)

    def sizes(text):
        return [int(n) for n in text.split(',') if n.strip()]
    results = run(sizes(args.closed), sizes(args.kept), args.steps,
                  args.snapshots)
    print('%-8s %7s %8s %10s %10s %9s %9s %6s' % (
        'closed', 'n', 'journal', 'p50 ms', 'p99 ms', 'cpu p50', 'cpu p99',
        'ratio'))
    for r in results:
        print('%-8s %7d %8d %10.2f %10.2f %9.2f %9.2f %6.2f' % (
            r['closed_in'], r['closed'], r['journal_records'],
            r['snapshot_ms']['p50'], r['snapshot_ms']['p99'],
            r['cpu_ms']['p50'], r['cpu_ms']['p99'], r.get('ratio_p50', 0)))
    stats.write_results(args.output, {
        'command': 'python -m tests.benchmarks.bench_history ' + ' '.join(
            argv if argv is not None else sys.argv[1:]),
        'machine': platform.platform(), 'steps': args.steps,
        'results': results})
    return 0


if __name__ == '__main__':
    sys.exit(main())
