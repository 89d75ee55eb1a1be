"""Power loss -> servers ACTIVE elsewhere on real Nova, beside Nova's floor.

``python -m tests.benchmarks.bench_heal --cloud real`` runs this.  One real
tier (:class:`vmr_lab.real.cloud.RealCloud`: Keystone, Placement, Nova 34
with the fake virt driver, Glance, three nova-compute hosts) is started once
and restored between runs.  For each size and repeat, two runs on it:

* **VMR**: N servers booted on ``compute-2``; the whole of VMR
  (:class:`vmr_lab.demo.Demo` on the borrowed cloud: etcd, one agent per
  host, two coordinators, the demo contract ``host_down -> evacuate`` with
  ``start_if_shutoff``) with VMR's *shipped* timing defaults unless
  ``--timing demo``; the power of ``compute-2`` is cut (SIGKILL of its
  nova-compute and agent, the BMC then says ``off``).  Seconds after the
  cut: ``failed`` (the leader declares the host failed: ``failed_at`` of
  ``hosts/compute-2``), ``record`` (the recovery record exists),
  ``fenced``, ``planned`` (journal timeline), ``first ACTIVE`` and ``all
  ACTIVE`` (every server ACTIVE on another host, polled from Nova every
  0.5 s; on a loaded machine one poll can take longer).
* **Nova's floor**: N servers booted on ``compute-2``; its nova-compute is
  SIGKILLed (power off), the service forced down through the API, then all
  N evacuated at once at the microversion VMR's evacuate action uses (and
  started, where that microversion leaves them SHUTOFF).  Seconds from the
  force-down request to every server ACTIVE elsewhere: what Nova alone
  needs, with no detection and no fence.  VMR's ``after_fence`` (its
  fence to all ACTIVE) is the part of its run comparable with it.

Before the runs, one evacuation of Nova's own (2 servers, not counted)
warms the tier up: the first one after a start was twice as slow.
``--network none`` boots the servers without a port (a cloud of Nova and
Placement only, as issue 24 measured); ``--compare REV`` runs the VMR of
git revision REV as well, in turns with this one, on the same tier.
"""

import concurrent.futures
import io
import os
import tempfile
import threading
import time

from tests.benchmarks import stats

VICTIM = 'compute-2'
POLL = 0.5
PHASES = ('failed', 'record', 'fenced', 'planned', 'first_active',
          'all_active', 'after_fence')


def load():
    """``uptime``'s three load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


class ActiveWatch(threading.Thread):
    """Polls Nova every POLL s: when did each server first run ACTIVE on
    another host than ``victim``?  ``on_poll(servers)`` sees every poll."""

    def __init__(self, conn, ids, victim, on_poll=None):
        super().__init__(daemon=True, name='bench-active-watch')
        self.conn = conn
        self.ids = set(ids)
        self.victim = victim
        self.on_poll = on_poll
        self.active_at = {}
        self.errors = 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            t0 = time.time()
            try:
                servers = [s for s in self.conn.compute.servers(
                    details=True, all_projects=True) if s.id in self.ids]
            except Exception:  # a busy nova-api: next poll
                self.errors += 1
                servers = []
            seen = (t0 + time.time()) / 2
            for server in servers:
                if server.status == 'ACTIVE' and not server.task_state and \
                        server.compute_host not in (None, self.victim):
                    self.active_at.setdefault(server.id, seen)
            if self.on_poll is not None:
                self.on_poll(servers)
            if len(self.active_at) == len(self.ids):
                return
            self._stop_event.wait(max(0.0, POLL - (time.time() - t0)))

    def stop(self):
        self._stop_event.set()
        self.join(10)


#: ``--network``: the servers' network (``none``: no port, as on a cloud
#: of Nova and Placement only)
NETWORKS = ('private', 'none')


def boot_on_victim(cloud, n, tag, network='private'):
    names = [('bench-%s-%d' % (tag, i + 1), VICTIM) for i in range(n)]
    return [s.id for s in cloud.boot_many(
        names, wait=60 + 6 * n,
        network=None if network == 'none' else network)]


def evacuate_microversion():
    """The compute microversion VMR's evacuate sends for the demo contract
    (``start_if_shutoff``) with the shipped ``[cloud]
    compute_microversion``: 2.94 below a pin of 2.95+."""
    from vmr_common.conf import cloud as cloud_opts
    from vmr_coordinator.actions import evacuate
    pinned = next(o.default for o in cloud_opts.OPTS
                  if o.name == 'compute_microversion')
    version = tuple(int(x) for x in pinned.split('.'))
    if version >= evacuate.EVACUATE_STOPS:
        version = evacuate.EVACUATE_KEEPS_STATE
    return '%d.%d' % version


def run_floor(cloud, n, microversion, timeout, network='private'):
    """Nova alone: force down, evacuate all N in parallel, start the
    SHUTOFF ones; seconds from force-down to all ACTIVE."""
    cloud.restore()
    ids = boot_on_victim(cloud, n, 'floor', network)
    result = {'servers': n, 'microversion': microversion,
              'network': network, 'load_before': load()}
    conn = cloud.connect(compute_api_version=microversion)
    watch_conn = cloud.connect(compute_api_version='2.96')
    pool = concurrent.futures.ThreadPoolExecutor(max(1, n))
    started = set()
    lock = threading.Lock()

    def start_shutoff(servers):
        for server in servers:
            if server.status == 'SHUTOFF' and not server.task_state and \
                    server.compute_host not in (None, VICTIM):
                with lock:
                    if server.id in started:
                        continue
                    started.add(server.id)
                pool.submit(conn.compute.start_server, server.id)
    try:
        service = next(s for s in conn.compute.services(
            binary='nova-compute') if s.host == VICTIM)
        cloud.hosts[VICTIM].set_power('off')     # SIGKILL of nova-compute
        t0 = time.time()
        conn.compute.update_service_forced_down(service, forced=True)
        t_forced = time.time()
        watch = ActiveWatch(watch_conn, ids, VICTIM, on_poll=start_shutoff)
        watch.start()
        evacuations = [pool.submit(conn.compute.evacuate_server, sid)
                       for sid in ids]
        for job in evacuations:
            job.result()
        t_accepted = time.time()
        watch.join(timeout)
        watch.stop()
        result.update({
            'force_down': round(t_forced - t0, 3),
            'accepted': round(t_accepted - t0, 3),
            'started': len(started),
            'all_active': (round(max(watch.active_at.values()) - t0, 3)
                           if len(watch.active_at) == n else None),
            'first_active': (round(min(watch.active_at.values()) - t0, 3)
                             if watch.active_at else None),
            'active': len(watch.active_at),
            'ok': len(watch.active_at) == n})
    except Exception as exc:  # report it as a failed run
        result.update(ok=False, error='%s: %s' % (type(exc).__name__, exc))
    finally:
        pool.shutdown(wait=True)
        conn.close()
        watch_conn.close()
    result['load_after'] = load()
    return result


def demo_class(source=None):
    """The Demo whose agents and coordinators run the code of ``source`` (a
    checkout; None: this one)."""
    from vmr_lab import demo as demo_mod
    if source is None:
        return demo_mod.Demo

    class Other(demo_mod.Demo):
        def _spawn_options(self, kind, name):
            return self.from_tree(source)
    return Other


def run_vmr(cloud, n, timing, timeout, keep_logs=None, network='private',
            variant=('this', None)):
    """The whole of VMR on the borrowed cloud: power loss of the victim.
    ``variant`` is (name, checkout) of the VMR that runs."""
    cloud.restore()
    ids = boot_on_victim(cloud, n, 'vmr', network)
    out = io.StringIO()
    workdir = tempfile.mkdtemp(prefix='vmr-bench-real-')
    demo = demo_class(variant[1])(lab=cloud, real=True, timing=timing,
                                  out=out, workdir=workdir)
    result = {'servers': n, 'timing': timing, 'network': network,
              'variant': variant[0], 'load_before': load()}
    watch_conn = cloud.connect(compute_api_version='2.96')
    watch = None
    try:
        demo.start()
        watch = ActiveWatch(watch_conn, ids, VICTIM)
        victim = cloud.hosts[VICTIM]
        cut = {}
        apply_fault = victim.apply_fault

        def timed_fault(fault, **options):
            cut['t'] = time.time()
            if not watch.is_alive():
                watch.start()
            return apply_fault(fault, **options)
        victim.apply_fault = timed_fault
        try:
            healed = demo.run('power-loss', VICTIM, timeout=timeout)
        finally:
            del victim.apply_fault
        # the last servers may turn ACTIVE a poll after the journal's done
        watch.join(5)
        t_cut = cut['t']
        host = demo.store.get(demo.store.keys.host(VICTIM))
        failed_at = (host.json() if host else {}).get('failed_at')
        records = demo._records()
        rec = records[0] if records else {}
        events = {}
        for ev in rec.get('timeline', []):
            events.setdefault(ev['event'], ev['at'])

        def after(t):
            return None if t is None else round(t - t_cut, 3)
        fenced_at = events.get('fenced')
        fencing = rec.get('fencing') or {}
        active = watch.active_at
        result.update({
            'healed': bool(healed),
            'state': rec.get('state'),
            'steps': len(rec.get('steps', [])),
            'failed': after(failed_at),
            'record': after(events.get('detected')),
            'fenced': after(events.get('fenced')),
            'planned': after(events.get('planned')),
            'done': after(events.get('done')),
            'first_active': after(min(active.values()) if active else None),
            'all_active': after(max(active.values())
                                if len(active) == n else None),
            # what VMR's evacuations took once it had fenced: the part
            # comparable with Nova's floor, which starts at its force-down
            'after_fence': (round(max(active.values()) - fenced_at, 3)
                            if len(active) == n and fenced_at else None),
            'active': len(active),
            # where the fence's time went: the power-off rung(s) and the
            # post steps (Nova's force-down), each as the journal has it
            'fence_rungs': [a.get('duration') for a in
                            fencing.get('attempts') or ()],
            'fence_post': [p.get('duration') for p in
                           fencing.get('post') or ()],
            'ok': bool(healed) and len(active) == n})
        if not result['ok']:
            result['output'] = out.getvalue()[-4000:]
    except Exception as exc:  # report it as a failed run
        result.update(ok=False, error='%s: %s' % (type(exc).__name__, exc),
                      output=out.getvalue()[-4000:])
    finally:
        if watch is not None and watch.is_alive():
            watch.stop()
        watch_conn.close()
        demo.stop()
        if keep_logs:
            result['logs'] = workdir
        else:
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)
    result['load_after'] = load()
    return result


#: servers of the warm-up evacuation, not counted: the first evacuation
#: after the real tier starts was twice as slow as the next ones (27-31 s
#: against 11-19 s for Nova alone, 2026-12-07)
WARMUP_SERVERS = 2


def host_room(largest):
    """``VMR_REAL_*`` settings giving each fake hypervisor room for the
    largest run's servers (m1.tiny: 1 vCPU at Nova's 4.0 allocation ratio,
    512 MB at 1.0, 512 MB reserved): the default host holds 64."""
    need = largest + WARMUP_SERVERS + 8
    if need <= 64:
        return {}
    return {'VMR_REAL_VCPUS': str(-(-need // 4)),
            'VMR_REAL_MEMORY_MB': str(512 * (need + 1))}


def run(sizes, repeat, timing, microversion, log, workdir=None,
        keep_logs=False, save=None, network='private', compare=None):
    """Start one real tier, warm it up with one evacuation of Nova's own,
    then run every (size, repeat) on it: Nova's floor, then VMR (and, with
    ``compare`` = (name, checkout), that VMR too, the two in turns);
    return the results.  ``save(results)`` is called after every run, so
    an interrupted benchmark keeps what it measured."""
    variants = [('this', None)] + ([compare] if compare else [])
    from vmr_lab.real.cloud import RealCloud
    # read by each nova-compute (vmrfake) at its start
    os.environ.update(host_room(max(sizes)))
    cloud = RealCloud(hosts=3, workdir=workdir)
    t0 = time.monotonic()
    results = {'vmr': [], 'floor': [], 'load_start': load()}
    try:
        cloud.start()
        # Nova's default quota (10 instances) would refuse the 20-server
        # runs and the floor's servers beside them
        conn = cloud.conn
        conn.set_compute_quotas(conn.current_project_id, instances=-1,
                                cores=-1, ram=-1)
        results['cloud_start_s'] = round(time.monotonic() - t0, 1)
        print('real tier up in %.0f s (load %s)' % (
            results['cloud_start_s'], load()), file=log)
        results['warmup'] = _guarded(run_floor, cloud, WARMUP_SERVERS,
                                     microversion, 300, network)
        print('  warm-up (not counted): %s' % _short(results['warmup']),
              file=log)
        # sizes interleaved: a benchmark cut short still has every size
        for i in range(repeat):
            for n in sizes:
                timeout = 300 + 5 * n
                floor = _guarded(run_floor, cloud, n, microversion, timeout,
                                 network)
                results['floor'].append(floor)
                print('  floor %d servers #%d: %s' % (n, i + 1, _short(
                    floor)), file=log)
                # side by side: each goes first in every other repeat
                for variant in variants[::-1 if i % 2 else 1]:
                    vmr = _guarded(run_vmr, cloud, n, timing, timeout,
                                   keep_logs, network, variant)
                    results['vmr'].append(vmr)
                    print('  VMR %s %d servers #%d: %s' % (
                        variant[0], n, i + 1, _short(vmr)), file=log)
                log.flush()
                if save is not None:
                    save(results)
    finally:
        cloud.stop()
    results['load_end'] = load()
    return results


def _guarded(func, cloud, n, *args):
    """``func``'s result; a run that could not even be set up (restore,
    boots) is a failed run in the table, not the end of the benchmark."""
    try:
        return func(cloud, n, *args)
    except Exception as exc:
        return {'servers': n, 'ok': False, 'load_before': load(),
                'error': 'set-up: %s: %s' % (type(exc).__name__, exc)}


def _short(result):
    return {k: v for k, v in result.items() if k != 'output'}


def summarise(results, sizes, variant='this'):
    """Per size: p50 / p99 of every phase over the runs of ``variant``
    that healed, the floor's, the failures, the ratio and the overhead."""
    out = {}
    for n in sizes:
        # a run whose servers could not even be booted measured nothing
        # of VMR nor of Nova's evacuations: counted apart
        vmr = [r for r in results['vmr'] if r['servers'] == n
               and r.get('variant', 'this') == variant
               and not _setup_failed(r)]
        floor = [r for r in results['floor'] if r['servers'] == n
                 and not _setup_failed(r)]
        ok = [r for r in vmr if r.get('ok')]
        floor_ok = [r for r in floor if r.get('ok')]
        row = {'runs': len(vmr), 'healed': len(ok),
               'floor_runs': len(floor), 'floor_ok': len(floor_ok),
               'setup_failed': sum(
                   1 for r in results['vmr'] + results['floor']
                   if r['servers'] == n and _setup_failed(r))}
        for phase in PHASES:
            values = [r[phase] for r in ok if r.get(phase) is not None]
            row[phase] = stats.summary(values) if values else None
        values = [r['all_active'] for r in floor_ok]
        row['floor'] = stats.summary(values) if values else None
        if row['all_active'] and row['floor']:
            row['ratio_p50'] = round(row['all_active']['p50'] /
                                     row['floor']['p50'], 2)
            row['overhead_p50'] = round(row['all_active']['p50'] -
                                        row['floor']['p50'], 2)
        if row['after_fence'] and row['floor']:
            # VMR's evacuations once fenced against Nova's alone
            row['fenced_ratio_p50'] = round(row['after_fence']['p50'] /
                                            row['floor']['p50'], 2)
        out[str(n)] = row
    return out


def _setup_failed(result):
    return str(result.get('error', '')).startswith('set-up:')


def table(summary):
    """The text table printed at the end of a run."""
    header = ('servers', 'healed') + PHASES + (
        'floor', 'ratio', 'overhead', 'fenced ratio')
    lines = [' '.join('%-13s' % h for h in header)]
    for n, row in summary.items():
        cells = [n, '%d/%d' % (row['healed'], row['runs'])]
        for phase in PHASES + ('floor',):
            s = row.get(phase)
            cells.append('%.2f/%.2f' % (s['p50'], s['p99']) if s else '-')
        cells.append(str(row.get('ratio_p50', '-')))
        cells.append(str(row.get('overhead_p50', '-')))
        cells.append(str(row.get('fenced_ratio_p50', '-')))
        lines.append(' '.join('%-13s' % c for c in cells))
    lines.append('(p50/p99 seconds after the power cut; after_fence: from '
                 "VMR's fence; floor: from the force-down request; fenced "
                 'ratio: after_fence / floor)')
    return '\n'.join(lines)
