"""Journal updates under the engine's concurrency (the *act* phase's cost).

    python -m tests.benchmarks.bench_journal [--steps 100] [--workers 1,4,8,16]
        [--formats 1,2]

One recovery record with ``--steps`` steps shaped like the engine's (server
facts, params, limits) on a real etcd; ``--workers`` threads each mark their
steps ``running`` then ``done`` (+ a timeline event) through
``Journal.update`` -- the read / deep-copy / compare-and-swap the engine does
twice per server.  Reports the wall time for all updates, the CAS conflicts
and the updates that gave up ("too many concurrent updates", 20 attempts),
and the bytes the updates wrote to etcd, for each journal format side by
side (``[journal] write_format``: 1 the steps inside the record, 2 each
step in its own key).
"""

import argparse
import concurrent.futures
import os
import platform
import sys
import threading
import time

from tests.benchmarks import stats
from tests.etcd_fixture import EtcdServer


def record():
    from vmr_coordinator.journal import new_record
    return new_record('bench', 'compute-2', {'type': 'host_down'},
                      time.time())


def plan(steps):
    """The engine's plan of ``steps`` servers, as a journal mutation."""
    def mutate(rec):
        rec['state'] = 'acting'
        rec['steps'] = planned(steps)
    return mutate


def planned(steps):
    return [{
        'server_id': '%036d' % i, 'server_name': 'lab-vm-%d' % i,
        'state': 'pending', 'contract': 'demo-evacuate', 'action': 'evacuate',
        'server': {'id': '%036d' % i, 'name': 'lab-vm-%d' % i,
                   'metadata': {}, 'project': 'p' * 32, 'flavor': 'm1.small',
                   'image': 'i' * 36, 'status': 'ACTIVE',
                   'host': 'compute-2'},
        'params': {'start_if_shutoff': True},
        'limits': {'concurrency': 100, 'retries': 3, 'timeout': 300}}
        for i in range(steps)]


def written(ops):
    """Bytes of the values ``ops`` put (etcd stores each in its history)."""
    return sum(len(op['request_put'].get('value', '')) * 3 // 4
               for op in ops if 'request_put' in op)


def run(steps, workers_list, formats=(1, 2), log=sys.stderr):
    from vmr_common import exceptions
    from vmr_common.store import Store
    from vmr_coordinator.journal import Journal, add_event
    etcd = EtcdServer(name='vmr-journal').start()
    results = []
    try:
        store = Store([etcd.endpoint], cluster='bench')
        key = store.keys.recovery('bench')
        lock = threading.Lock()
        counts = {'conflicts': 0, 'bytes': 0}

        def guarded(ops, compare=()):
            with lock:
                counts['bytes'] += written(ops)
            result = store.txn(list(compare), ops)
            if not result.succeeded:
                with lock:
                    counts['conflicts'] += 1
                raise exceptions.CompareFailed('the record changed meanwhile')
            return result

        def work(journal, i):
            def running(r):
                r['steps'][i].update(state='running', started_at=time.time())

            def done(r):
                r['steps'][i].update(state='done', finished_at=time.time(),
                                     result='evacuated')
                add_event(r, time.time(), 'step done', 'lab-vm-%d' % i)
            failed = 0
            for mutate in (running, done):
                try:
                    journal.update('bench', mutate)
                except exceptions.StoreError:
                    failed += 1
            return failed

        for fmt in formats:
            for workers in workers_list:
                journal = Journal(store, guarded, write_format=fmt)
                store.delete(store.keys.steps_of('bench'), prefix=True)
                store.put(key, record())
                journal.update('bench', plan(steps))
                counts.update(conflicts=0, bytes=0)
                t0 = time.monotonic()
                with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                    failed = sum(pool.map(lambda i: work(journal, i),
                                          range(steps)))
                took = time.monotonic() - t0
                size = len(store.get(key).raw)
                results.append({'format': fmt, 'steps': steps,
                                'workers': workers, 'updates': 2 * steps,
                                'seconds': round(took, 2),
                                'conflicts': counts['conflicts'],
                                'gave_up': failed,
                                'record_kb': size // 1024,
                                'written_kb': counts['bytes'] // 1024})
                print('  %s' % results[-1], file=log)
    finally:
        etcd.cleanup()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=100)
    parser.add_argument('--workers', default='1,4,8,16')
    parser.add_argument('--formats', default='1,2',
                        help='[journal] write_format values, side by side')
    parser.add_argument('--output', default='journal')
    args = parser.parse_args(argv)
    results = run(args.steps, [int(w) for w in args.workers.split(',')],
                  [int(f) for f in args.formats.split(',')])
    print('%6s %8s %8s %8s %10s %8s %10s %11s' % (
        'format', 'workers', 'updates', 'seconds', 'conflicts', 'gave up',
        'record KB', 'written KB'))
    for r in results:
        print('%6d %8d %8d %8.2f %10d %8d %10d %11d' % (
            r['format'], r['workers'], r['updates'], r['seconds'],
            r['conflicts'], r['gave_up'], r['record_kb'], r['written_kb']))
    stats.write_results(args.output, {
        'command': 'python -m tests.benchmarks.bench_journal ' + ' '.join(
            argv if argv is not None else sys.argv[1:]),
        'machine': platform.platform(), 'load_avg': os.getloadavg(),
        'results': results})
    return 0


if __name__ == '__main__':
    sys.exit(main())
