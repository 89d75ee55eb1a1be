"""Short variants of the benchmarks, so they cannot rot between full runs
(``tox -e bench`` and doc/benchmarks.rst run them at full size).

Each runs as its own process, as an operator runs it, into a temp dir; the
assertions are about correctness (nothing lost, nothing fenced, every row
measured), never about speed: performance numbers live in the benchmarks.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _run(module, args, timeout):
    proc = subprocess.run([sys.executable, '-m', module] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    return proc


def test_keepalive_benchmark_every_transport(tmp_path):
    out = str(tmp_path / 'keepalive')
    _run('tests.benchmarks.bench_keepalive',
         ['--rates', '200', '--seconds', '2', '--output', out], 180)
    with open(out + '.json') as fh:
        rows = json.load(fh)['rows']
    assert sorted(r['transport'] for r in rows) == [
        'gateway', 'grpc', 'grpc-call', 'grpc-shared']
    for row in rows:
        assert row['gone'] == 0 and row['errors'] == 0, row
        assert row['answered_per_s'] >= 150, row
        assert row['etcd_cpu_pct'] > 0, row


@pytest.mark.timeout(400)
def test_scale_benchmark_with_grpc_heartbeats(tmp_path):
    out = str(tmp_path / 'scale')
    _run('tests.benchmarks.bench_scale',
         ['--hosts', '200', '--steady', '3', '--kills', '1',
          '--output', out], 360)
    with open(out + '.json') as fh:
        (result,) = json.load(fh)['results']
    assert result['transport'] == 'grpc'
    steady = result['steady']
    assert steady['leases_lost'] == 0 and steady['keepalive_errors'] == 0
    assert steady['keepalives_per_s'] >= 150
    assert result['detection'] and None not in result['detection']
    mass = result['mass_failure']
    assert mass['noticed'] == mass['victims'] == 20
    assert mass['brake_engaged'] and mass['failed_anyway'] == 0
