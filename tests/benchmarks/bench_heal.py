"""Failure-to-healed on the whole lab, split into detect / fence / act.

    python -m tests.benchmarks.bench_heal [--servers 20,100]
        [--workers 1,4,8,16] [--repeat 1] [--journal-formats 1,2]
    python -m tests.benchmarks.bench_heal --cloud real [--servers 10,20]
        [--repeat 5] [--timing shipped|demo] [--network private|none]
        [--compare REV]

``--cloud real`` measures on real Nova instead, beside Nova's own floor:
see :mod:`tests.benchmarks.bench_heal_real`.  What follows is the lab's.

Each run starts the whole lab (``vmr_lab.demo.Demo``: etcd, the lab cloud
with virtual IPMI BMCs, one real agent per simulated host, two real
coordinators, the demo contract ``host_down -> evacuate``), cuts the power of
``compute-2`` carrying ``--servers`` servers and waits until the recovery is
``done``.  Two hosts (the lab's tenant network has a /24: 2 x 100 servers
fit, 3 x 100 do not), so the survivor takes every evacuated server; each
simulated host gets room for 256 small servers.  The phases come from the
recovery's journal timeline (wall clock):

* detect = power cut -> ``detected`` (the host was declared failed),
* fence  = ``detected`` -> ``fenced`` (IPMI power-off verified + Nova forced
  down),
* act    = ``fenced`` -> ``done`` (plan + every evacuation + start).

``--workers`` sweeps the engine's thread pool (``[coordinator]
engine_workers``); the contract's ``limits.concurrency`` is raised to 100 so
the pool is the bound.  The lab's Nova runs at most ``--conductor`` (default
4, like a small nova-conductor) evacuations at once, each taking 0.5 s.
``--journal-formats`` runs each case once per ``[journal] write_format``,
alternating, so the formats are compared side by side.
"""

import argparse
import functools
import io
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

from tests.benchmarks import stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def run_one(servers_on_victim, workers, conductor, log=sys.stderr,
            journal_format=None):
    from vmr_lab import cloud as cloud_mod
    from vmr_lab import demo as demo_mod

    hosts = 2
    original_cloud = cloud_mod.LabCloud
    cloud_mod.LabCloud = functools.partial(
        original_cloud, host_vcpus=256, host_ram_mb=256 * 2048,
        conductor_workers=conductor)

    class BenchDemo(demo_mod.Demo):
        contract = dict(demo_mod.DEMO_CONTRACT, limits=dict(
            demo_mod.DEMO_CONTRACT['limits'], concurrency=100, timeout=300))
        coordinator_options = 'engine_workers = %d' % workers

    BenchDemo.journal_format = journal_format
    out = io.StringIO()
    demo = BenchDemo(hosts=hosts, servers=hosts * servers_on_victim,
                     out=out)
    result = {'servers': servers_on_victim, 'engine_workers': workers,
              'conductor_workers': conductor,
              'journal_format': journal_format or 1}
    try:
        demo.start()
        victim = demo.lab.hosts['compute-2']
        fault_at = {}
        apply_fault = victim.apply_fault

        def timed_fault(fault):
            fault_at['t'] = time.time()
            return apply_fault(fault)
        victim.apply_fault = timed_fault
        ok = demo.run('power-loss', 'compute-2',
                      timeout=120 + 3 * servers_on_victim)
        records = demo._records()
        rec = records[0] if records else {}
        events = {}
        for ev in rec.get('timeline', []):
            events.setdefault(ev['event'], ev['at'])
        steps = [s for s in rec.get('steps', [])]
        t_fault = fault_at.get('t')
        result.update({
            'healed': bool(ok),
            'steps': len(steps),
            'detect': round(events['detected'] - t_fault, 3),
            'fence': round(events['fenced'] - events['detected'], 3),
            'act': round(events.get('done', events.get('failed', 0)) -
                         events['fenced'], 3),
            'total': round(events.get('done', events.get('failed', 0)) -
                           t_fault, 3),
            'plan': round(events['planned'] - events['fenced'], 3),
        })
    except Exception as exc:  # report, then clean up
        result['error'] = '%s: %s' % (type(exc).__name__, exc)
        result['output'] = out.getvalue()[-3000:]
    finally:
        demo.stop()
        cloud_mod.LabCloud = original_cloud
    print('  %d servers, %d workers: %s' % (
        servers_on_victim, workers, {k: v for k, v in result.items()
                                     if k != 'output'}), file=log)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cloud', choices=('lab', 'real'), default='lab',
                        help='the lab (default) or the real tier (real '
                             'Keystone, Placement, Nova, Glance)')
    parser.add_argument('--servers', default=None,
                        help='servers on the failed host, comma-separated '
                             '(default 20,100 on the lab, 10,20 on real)')
    parser.add_argument('--workers', default='1,4,8,16',
                        help='engine_workers values to sweep (lab only: '
                             'the real cloud runs the shipped default)')
    parser.add_argument('--timing', choices=('shipped', 'demo'),
                        default='shipped',
                        help="real only: VMR's shipped timing defaults "
                             "(default) or the demo's faster ones")
    parser.add_argument('--microversion', default=None,
                        help="real only: the compute microversion of Nova's "
                             "floor (default: the one VMR's evacuate uses)")
    parser.add_argument('--network', choices=('private', 'none'),
                        default='private',
                        help="real only: the servers' network; 'none' "
                             'boots them without a port (a cloud of Nova '
                             'and Placement only, as issue 24 measured)')
    parser.add_argument('--compare', metavar='REV', default=None,
                        help='real only: also run the VMR of git revision '
                             'REV (a worktree of it), in turns with this '
                             'one on the same real tier: a before/after '
                             'measured side by side')
    parser.add_argument('--keep-logs', action='store_true',
                        help='real only: keep each VMR run\'s work directory')
    parser.add_argument('--conductor', type=int, default=4,
                        help="the lab Nova's concurrent evacuations")
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--journal-formats', default='1',
                        help="lab only: [journal] write_format values, "
                             "alternating in each repeat (e.g. 1,2)")
    parser.add_argument('--output', default='heal')
    args = parser.parse_args(argv)
    if args.cloud == 'real':
        return main_real(args, argv)
    args.servers = args.servers or '20,100'
    results = []
    for n in [int(x) for x in args.servers.split(',')]:
        for w in [int(x) for x in args.workers.split(',')]:
            for _ in range(args.repeat):
                for fmt in [int(f) for f in
                            args.journal_formats.split(',')]:
                    results.append(run_one(n, w, args.conductor,
                                           journal_format=fmt))
    print('%8s %8s %6s %8s %8s %8s %8s %8s' % (
        'servers', 'workers', 'format', 'detect', 'fence', 'act', 'total',
        'healed'))
    for r in results:
        if 'error' in r:
            print('%8d %8d %6d  ERROR %s' % (
                r['servers'], r['engine_workers'], r['journal_format'],
                r['error']))
            continue
        print('%8d %8d %6d %8.2f %8.2f %8.2f %8.2f %8s' % (
            r['servers'], r['engine_workers'], r['journal_format'],
            r['detect'], r['fence'], r['act'], r['total'], r['healed']))
    stats.write_results(args.output, {
        'command': 'python -m tests.benchmarks.bench_heal ' + ' '.join(
            argv if argv is not None else sys.argv[1:]),
        'machine': platform.platform(), 'cpus': os.cpu_count(),
        'load_avg_end': os.getloadavg(), 'results': results})
    plot(args.output, results)
    return 0 if all(r.get('healed') for r in results) else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main_real(args, argv):
    from tests.benchmarks import bench_heal_real as real
    sizes = [int(x) for x in (args.servers or '10,20').split(',')]
    output = args.output if args.output != 'heal' else 'heal-real'
    microversion = args.microversion or real.evacuate_microversion()
    command = 'python -m tests.benchmarks.bench_heal ' + ' '.join(
        argv if argv is not None else sys.argv[1:])

    compare = None
    if args.compare:
        compare = (args.compare, _worktree(args.compare))

    def save(results):
        extra = {}
        if compare:
            extra['summary_compare'] = real.summarise(results, sizes,
                                                      compare[0])
            extra['compare'] = compare[0]
        stats.write_results(output, dict(results, **extra, **{
            'cloud': 'real', 'timing': args.timing, 'repeat': args.repeat,
            'network': args.network,
            'floor_microversion': microversion,
            'summary': real.summarise(results, sizes), 'command': command,
            'machine': platform.platform(), 'cpus': os.cpu_count()}))
    # SIGTERM unwinds like Ctrl-C: the real tier's processes are stopped
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        results = real.run(sizes, args.repeat, args.timing, microversion,
                           sys.stderr, keep_logs=args.keep_logs, save=save,
                           network=args.network, compare=compare)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if compare:
            subprocess.run(['git', 'worktree', 'remove', '--force',
                            compare[1]], cwd=ROOT, check=False)
    save(results)
    print(real.table(real.summarise(results, sizes)))
    if compare:
        print('\n%s:' % compare[0])
        print(real.table(real.summarise(results, sizes, compare[0])))
    return 0 if all(r.get('ok') for r in results['vmr']) else 1


def _worktree(rev):
    """A git worktree of ``rev`` in a temporary directory."""
    path = tempfile.mkdtemp(prefix='vmr-bench-%s-' % rev.replace('/', '_'))
    subprocess.run(['git', 'worktree', 'add', '--detach', path, rev],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return path


def plot(name, results):
    plt = stats.pyplot()
    if plt is None:
        return None
    ok = [r for r in results if 'error' not in r]
    if not ok:
        return None
    labels = ['%d srv\n%d wk' % (r['servers'], r['engine_workers'])
              for r in ok]
    fig, ax = plt.subplots(figsize=(max(6, len(ok) * 0.9), 4))
    bottom = [0.0] * len(ok)
    for phase in ('detect', 'fence', 'act'):
        values = [r[phase] for r in ok]
        ax.bar(labels, values, bottom=bottom, label=phase)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel('seconds from power cut')
    ax.legend()
    return stats.save(fig, name)


if __name__ == '__main__':
    sys.exit(main())
