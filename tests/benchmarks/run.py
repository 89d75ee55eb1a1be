"""Run every benchmark (``tox -e bench``), quick settings by default.

    python -m tests.benchmarks.run            # every benchmark, quick
    python -m tests.benchmarks.run scale      # one of them
    python -m tests.benchmarks.run --full     # the settings of doc/benchmarks.rst

Each benchmark also runs alone (``python -m tests.benchmarks.bench_<name>
--help``); the fencing and keepalived ones live in their own modules.
"""

import sys

from tests.benchmarks import bench_detection
from tests.benchmarks import bench_false_positives
from tests.benchmarks import bench_heal
from tests.benchmarks import bench_history
from tests.benchmarks import bench_journal
from tests.benchmarks import bench_keepalive
from tests.benchmarks import bench_reachability
from tests.benchmarks import bench_scale

QUICK = {
    'detection': (bench_detection, ['--ttls', '2,3', '--kills', '5',
                                    '--failovers', '5',
                                    '--output', 'detection-quick']),
    'heal': (bench_heal, ['--servers', '20', '--workers', '8',
                          '--output', 'heal-quick']),
    'false_positives': (bench_false_positives, [
        '--minutes', '2', '--output', 'false_positives-quick']),
    'scale': (bench_scale, ['--hosts', '500', '--steady', '10',
                            '--output', 'scale-quick']),
    'journal': (bench_journal, ['--workers', '1,8', '--output',
                                'journal-quick']),
    'history': (bench_history, ['--closed', '0,1000', '--kept', '0,100',
                                '--snapshots', '10',
                                '--output', 'history-quick']),
    'reachability': (bench_reachability, ['--hosts', '500', '--seconds',
                                          '5', '--output',
                                          'reachability-quick']),
    'keepalive': (bench_keepalive, ['--rates', '1000', '--seconds', '5',
                                    '--output', 'keepalive-quick']),
}
FULL = {
    'detection': (bench_detection, ['--ttls', '2,3,5,10', '--kills', '30',
                                    '--failovers', '20']),
    'heal': (bench_heal, ['--servers', '20,100', '--workers', '1,4,8,16']),
    'false_positives': (bench_false_positives, ['--minutes', '30']),
    'scale': (bench_scale, ['--hosts', '500,2000,5000', '--output',
                            'scale-grpc']),
    'scale_gateway': (bench_scale, ['--hosts', '500,5000', '--transport',
                                    'gateway', '--output', 'scale-gateway']),
    'keepalive': (bench_keepalive, ['--rates', '1000,2000,5000']),
    'journal': (bench_journal, ['--workers', '1,4,8,16']),
    'history': (bench_history, []),
    'reachability': (bench_reachability, ['--hosts', '500,2000,5000']),
    'scale_coordinator': (bench_scale, [
        '--hosts', '2000,5000', '--ttl', '30', '--interval', '10',
        '--no-failures', '--output', 'scale-coordinator']),
    'heal_conductor16': (bench_heal, [
        '--servers', '100', '--workers', '16', '--conductor', '16',
        '--output', 'heal-conductor16']),
    'false_positives_long_pauses': (bench_false_positives, [
        '--minutes', '5', '--pause-factor', '1.2', '--grace', '5',
        '--output', 'false_positives-long-pauses']),
}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    table = FULL if '--full' in argv else QUICK
    names = [a for a in argv if not a.startswith('--')] or list(table)
    rc = 0
    for name in names:
        module, args = table[name]
        print('== %s: python -m %s %s' % (name, module.__name__,
                                          ' '.join(args)), flush=True)
        rc |= module.main(args) or 0
    return rc


if __name__ == '__main__':
    sys.exit(main())
