"""Scale: one etcd, one coordinator, a heartbeat swarm of N hosts.

    python -m tests.benchmarks.bench_scale [--hosts 500,2000,5000]
        [--ttl 3] [--interval 1] [--steady 20] [--kills 3]
        [--transport grpc|gateway]

For each N: a fresh local etcd; ``tests.benchmarks.swarm`` worker processes
registering N hosts (lease keep-alives on a kept gRPC stream per member, as
agents renew, or on etcd's HTTP gateway + tooz-format member keys + host
records, see swarm.py); one real coordinator loop
(:class:`vmr_coordinator.service.Coordinator`, detection only, its group and
probe watches included) in this process.  Measures, for each N:

* ``run_cycle()`` time p50/p99 in steady state (``Healer.cycle_seconds``),
* etcd's CPU (psutil, % of one core) and the coordinator's,
* keepalives/s actually achieved by the swarm (and their round-trip p99),
* detection latency (heartbeat stopped -> ``failed``) of ``--kills`` members,
* a mass failure of 10 % of the hosts at once: time until all of them are
  suspect, whether the disruption brake engaged, how many were declared failed
  anyway (target 0), and the cycle time while it happens.

Every process it starts is stopped on exit, also on failure.
"""

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import threading
import time

import psutil

from tests.benchmarks import stats
from tests.etcd_fixture import EtcdServer

PER_WORKER = 1000


class CoordinatorLoop:
    """Coordinator.run() with every cycle's duration recorded."""

    def __init__(self, endpoint, cluster, ttl, interval, period):
        from oslo_config import cfg

        from vmr_common import conf as conf_mod
        from vmr_coordinator import service
        conf = cfg.ConfigOpts()
        conf_mod.register_all(conf)
        conf([], project='vmr', default_config_files=[])
        for group, name, value in (
                (None, 'host', 'controller-1'),
                ('etcd', 'endpoints', [endpoint]),
                ('etcd', 'cluster', cluster),
                ('etcd', 'timeout', 10),
                ('heartbeat', 'ttl', ttl),
                ('heartbeat', 'interval', interval),
                ('coordinator', 'period', min(0.5, ttl / 6)),
                ('coordinator', 'grace', 0.0),
                ('coordinator', 'leader_ttl', 3.0),
                ('coordinator', 'probe_timeout', 1.0)):
            conf.set_override(name, value, group)
        self.coordinator = service.Coordinator(conf)
        self.cycles = []        # (monotonic end, seconds, sentence)
        # Where a cycle's time goes: the snapshot read and the election
        # step (lease refresh) are timed apart.
        self.parts = {'snapshot': [], 'election': []}
        healer = self.coordinator.healer
        from vmr_coordinator import healer as healer_mod
        healer_mod.snapshot_mod = _Namespace(
            healer_mod.snapshot_mod,
            take=self._timed(healer_mod.snapshot_mod.take, 'snapshot'))
        healer.election.step = self._timed(healer.election.step, 'election')
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _timed(self, func, part):
        """``func``, recording (end, seconds) of every call in
        ``self.parts[part]``."""
        def timed(*args, **kwargs):
            t0 = time.monotonic()
            try:
                return func(*args, **kwargs)
            finally:
                self.parts[part].append((time.monotonic(),
                                         time.monotonic() - t0))
        return timed

    def _run(self):
        from vmr_coordinator import service
        co = self.coordinator
        period = co.conf.coordinator.period
        for watcher in co.watchers:
            watcher.start()
        while not self._stop.is_set():
            started = time.monotonic()
            co._wake.clear()
            sentence = co.healer.run_cycle()
            self.cycles.append((time.monotonic(), co.healer.cycle_seconds,
                                sentence))
            elapsed = time.monotonic() - started
            if co._wake.wait(service.next_cycle_in(period, elapsed,
                                                   co.healer.wake_in)):
                self._stop.wait(0.05)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        from vmr_coordinator import healer as healer_mod
        self._stop.set()
        self.coordinator.stop()
        self._thread.join(30)
        if isinstance(healer_mod.snapshot_mod, _Namespace):
            healer_mod.snapshot_mod = healer_mod.snapshot_mod._module

    def since(self, t0):
        return [c for c in self.cycles if c[0] >= t0]

    def part_since(self, name, t0):
        return [d for t, d in self.parts[name] if t >= t0]


class _Namespace:
    """``module`` with some attributes replaced (bench instrumentation)."""

    def __init__(self, module, **replaced):
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(self._module, name)


class Workers:
    """The swarm worker processes."""

    def __init__(self, endpoint, cluster, hosts, ttl, interval,
                 transport='gateway'):
        self.procs = []
        for first in range(0, hosts, PER_WORKER):
            count = min(PER_WORKER, hosts - first)
            self.procs.append((first, count, subprocess.Popen(
                [sys.executable, '-m', 'tests.benchmarks.swarm', endpoint,
                 cluster, str(ttl), str(interval), str(first), str(count),
                 transport],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                    os.path.abspath(__file__)))))))

    def wait_ready(self):
        for _, _, proc in self.procs:
            line = proc.stdout.readline().strip()
            if line != 'ready':
                raise RuntimeError('swarm worker failed to start: %r' % line)

    def _ask(self, proc, line):
        proc.stdin.write(line + '\n')
        proc.stdin.flush()
        return proc.stdout.readline()

    def stats(self):
        out = [json.loads(self._ask(p, 'stats')) for _, _, p in self.procs]
        return {'keepalives': sum(s['keepalives'] for s in out),
                'errors': sum(s['errors'] for s in out),
                'lost': sum(s['lost'] for s in out),
                'rejoins': sum(s['rejoins'] for s in out),
                'late': sum(s['late'] for s in out),
                'p99': max(s['p99'] for s in out)}

    def kill(self, names):
        from tests.benchmarks.swarm import host_name
        for first, count, proc in self.procs:
            mine = [n for n in names if n in {host_name(i) for i in range(
                first, first + count)}]
            if mine:
                self._ask(proc, 'kill ' + ' '.join(mine))

    def stop(self):
        for _, _, proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for _, _, proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def host_states(store, names):
    from vmr_common.store import Op
    result = store.txn([], [Op.get(store.keys.host(n)) for n in names])
    out = {}
    for kvs in result.ranges():
        for kv in kvs:
            out[kv.key.rsplit('/', 1)[1]] = kv.json().get('state')
    return out


def wait_states(store, names, want, timeout, poll=0.05):
    """Seconds until every host of ``names`` is in a state of ``want``
    (or None on timeout); also the first-seen time of each."""
    t0 = time.monotonic()
    seen = {}
    while time.monotonic() - t0 < timeout:
        states = {}
        for i in range(0, len(names), 100):
            states.update(host_states(store, names[i:i + 100]))
        now = time.monotonic() - t0
        for n, s in states.items():
            if s in want and n not in seen:
                seen[n] = now
        if len(seen) == len(names):
            return now, seen
        time.sleep(poll)
    return None, seen


def run_one(hosts, ttl, interval, steady, kills, failures=True,
            log=sys.stderr, transport='gateway'):
    from vmr_common.store import Store
    from tests.benchmarks.swarm import host_name
    cluster = 'scale%d' % hosts
    etcd = EtcdServer(name='vmr-scale').start()
    workers = loop = None
    result = {'hosts': hosts, 'ttl': ttl, 'interval': interval,
              'transport': transport}
    try:
        etcd_ps = psutil.Process(etcd.proc.pid)
        me = psutil.Process()
        t_setup = time.monotonic()
        workers = Workers(etcd.endpoint, cluster, hosts, ttl, interval,
                          transport)
        workers.wait_ready()
        result['setup_seconds'] = round(time.monotonic() - t_setup, 1)
        store = Store([etcd.endpoint], cluster=cluster, timeout=10)
        # Every member live (none lost its lease while thousands registered)
        # before the coordinator looks.
        group = store.keys.group('vmr-agents')
        t_live = time.monotonic()
        while time.monotonic() - t_live < 60:
            if len(store.get_prefix(group)[0]) == hosts:
                break
            time.sleep(1)
        result['members_at_start'] = len(store.get_prefix(group)[0])
        loop = CoordinatorLoop(etcd.endpoint, cluster, ttl, interval,
                               min(0.5, ttl / 6)).start()
        # Warm up: the leader's first cycles see every host up.
        t_warm = time.monotonic()
        while time.monotonic() - t_warm < 60:
            done = [c for c in loop.cycles if c[2].startswith('no action')]
            if len(done) >= 3:
                break
            time.sleep(0.2)
        print('%d hosts: set up in %.1f s, coordinator says: %s' % (
            hosts, result['setup_seconds'], loop.cycles[-1][2]
            if loop.cycles else '-'), file=log)
        # -- steady state ------------------------------------------------------
        before = workers.stats()
        etcd_ps.cpu_percent()
        me.cpu_percent()
        t0 = time.monotonic()
        time.sleep(steady)
        after = workers.stats()
        elapsed = time.monotonic() - t0
        cycles = [c[1] for c in loop.since(t0)]
        result['steady'] = {
            'seconds': round(elapsed, 1),
            'cycle': stats.summary(cycles),
            'cycles_per_s': round(len(cycles) / elapsed, 2),
            'snapshot_read': stats.summary(loop.part_since('snapshot', t0)),
            'election_step': stats.summary(loop.part_since('election', t0)),
            'etcd_cpu_percent': round(etcd_ps.cpu_percent(), 1),
            'coordinator_cpu_percent': round(me.cpu_percent(), 1),
            # (the CPU % and the cycle count are sampled over the same
            # window: CPU time per cycle, independent of how long the cycle
            # waited for a CPU on a loaded machine)
            'keepalives_per_s': round((after['keepalives'] -
                                       before['keepalives']) / elapsed, 1),
            'keepalive_rtt_p99': round(after['p99'], 4),
            'keepalive_errors': after['errors'] - before['errors'],
            'leases_lost': after['lost'] - before['lost'],
            'swarm_fell_behind': after['late'],
            'sentences': sorted({c[2][:160] for c in loop.since(t0)})[:5],
            'load_avg': os.getloadavg(),
        }
        st = result['steady']
        st['coordinator_cpu_ms_per_cycle'] = round(
            10 * st['coordinator_cpu_percent'] / max(st['cycles_per_s'],
                                                     0.01), 1)
        print('  steady: %s' % json.dumps(result['steady']), file=log)
        result['detection'] = []
        if not failures:
            return result
        # -- a few single kills --------------------------------------------------
        detection = []
        for k in range(kills):
            victim = host_name((k * 997 + 11) % hosts)
            time.sleep(0.5 + 0.3 * k)
            workers.kill([victim])
            took, _ = wait_states(store, [victim], ('failed',),
                                  ttl * 3 + 30, poll=0.02)
            detection.append(None if took is None else round(took, 3))
            print('  kill %s: failed after %s s' % (victim, detection[-1]),
                  file=log)
        result['detection'] = detection
        # -- mass failure of 10 % ------------------------------------------------
        victims = [host_name(i) for i in range(hosts)
                   if i % 10 == 3][:max(1, hosts // 10)]
        t_mass = time.monotonic()
        workers.kill(victims)
        took, seen = wait_states(store, victims, (
            'suspect', 'partitioned', 'failed'), ttl * 3 + 60, poll=0.2)
        firsts = sorted(seen.values())
        time.sleep(ttl + 3)    # let a few more cycles judge them
        states = {}
        for i in range(0, len(victims), 100):
            states.update(host_states(store, victims[i:i + 100]))
        brake = store.get(store.keys.brake)
        mass_cycles = [c[1] for c in loop.since(t_mass)]
        result['mass_failure'] = {
            'victims': len(victims),
            'all_suspect_after': None if took is None else round(took, 2),
            'first_suspect_after': round(firsts[0], 2) if firsts else None,
            'noticed': len(seen),
            'failed_anyway': sum(1 for s in states.values()
                                 if s == 'failed'),
            'brake_engaged': brake is not None,
            'cycle': stats.summary(mass_cycles) if mass_cycles else None,
        }
        print('  mass failure: %s' % json.dumps(result['mass_failure']),
              file=log)
    finally:
        if loop is not None:
            loop.stop()
        if workers is not None:
            workers.stop()
        etcd.cleanup()
    return result


def main(argv=None):
    # The coordinator's alarms name every silent host: keep them out of
    # the benchmark's output.
    logging.basicConfig(level=logging.CRITICAL + 1)
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--hosts', default='500,2000,5000',
                        help='comma-separated swarm sizes')
    parser.add_argument('--ttl', type=float, default=3.0)
    parser.add_argument('--interval', type=float, default=1.0,
                        help='keepalive interval of each member (s)')
    parser.add_argument('--steady', type=float, default=20.0,
                        help='seconds of steady state measured per size')
    parser.add_argument('--kills', type=int, default=3)
    parser.add_argument('--no-failures', action='store_true',
                        help='steady state only: no kills, no mass failure '
                             '(for long TTLs that isolate the coordinator\'s '
                             'own cost from the keepalive load)')
    parser.add_argument('--transport', default='grpc',
                        choices=('grpc', 'gateway'),
                        help='how swarm members renew their leases: a kept '
                             'gRPC stream each (agents\' default) or the '
                             'HTTP/JSON gateway (tooz\'s etcd3gw driver)')
    parser.add_argument('--output', default='scale')
    args = parser.parse_args(argv)
    results = []
    for n in [int(x) for x in args.hosts.split(',')]:
        results.append(run_one(n, args.ttl, args.interval, args.steady,
                               args.kills, not args.no_failures,
                               transport=args.transport))
    rows = {}
    for r in results:
        rows['cycle, %d hosts' % r['hosts']] = r['steady']['cycle']
        found = [d for d in r['detection'] if d is not None]
        if found:
            rows['detection, %d hosts' % r['hosts']] = stats.summary(found)
    print(stats.table(rows))
    print('%-8s %9s %9s %9s %10s %8s %9s %7s' % (
        'hosts', 'etcd cpu', 'coord cpu', 'ka/s', 'mass noted', 'brake',
        'failed', 'cycle99'))
    for r in results:
        m = r.get('mass_failure') or {}
        print('%-8d %8.0f%% %8.0f%% %9.0f %9s s %8s %9s %7.3f' % (
            r['hosts'], r['steady']['etcd_cpu_percent'],
            r['steady']['coordinator_cpu_percent'],
            r['steady']['keepalives_per_s'], m.get('all_suspect_after'),
            m.get('brake_engaged'), m.get('failed_anyway'),
            r['steady']['cycle']['p99']))
    stats.write_results(args.output, {
        'command': 'python -m tests.benchmarks.bench_scale ' + ' '.join(
            argv if argv is not None else sys.argv[1:]),
        'machine': platform.platform(), 'cpus': os.cpu_count(),
        'results': results})
    plot(args.output, results)
    return 0


def plot(name, results):
    plt = stats.pyplot()
    if plt is None:
        return None
    hosts = [r['hosts'] for r in results]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(hosts, [r['steady']['cycle']['p50'] * 1000 for r in results],
             'o-', label='cycle p50')
    ax1.plot(hosts, [r['steady']['cycle']['p99'] * 1000 for r in results],
             'o-', label='cycle p99')
    ax1.axhline(200, color='grey', linestyle=':', label='200 ms target')
    ax1.set_xlabel('hosts')
    ax1.set_ylabel('run_cycle() ms')
    ax1.legend()
    ax2.plot(hosts, [r['steady']['etcd_cpu_percent'] for r in results], 'o-',
             label='etcd CPU %')
    ax2.plot(hosts, [r['steady']['coordinator_cpu_percent']
                     for r in results], 'o-', label='coordinator CPU %')
    ax2.set_xlabel('hosts')
    ax2.set_ylabel('% of one core')
    ax2.legend()
    return stats.save(fig, name)


if __name__ == '__main__':
    sys.exit(main())
