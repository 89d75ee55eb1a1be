"""Print the reStructuredText tables of doc/benchmarks.rst from the JSON results.

    python -m tests.benchmarks.report

Reads ``doc/benchmarks/{detection,heal,false_positives,scale,reachability}*.json`` (those
that exist) so the numbers in the document are the ones the commands wrote.
"""

import glob
import json
import os
import sys

from tests.benchmarks import stats


def load(name):
    path = os.path.join(stats.OUTDIR, name + '.json')
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def grid(header, rows):
    """A simple RST table."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = ' '.join('=' * w for w in widths)
    out = [line, ' '.join(str(h).ljust(w) for h, w in zip(header, widths)),
           line]
    for row in rows:
        out.append(' '.join(str(c).ljust(w) for c, w in zip(row, widths)))
    out.append(line)
    return '\n'.join(out)


def f(x, digits=2):
    return '-' if x is None else ('%.*f' % (digits, x))


def detection(data):
    rows = []
    for ttl, d in sorted(data['ttls'].items(), key=lambda kv: float(kv[0])):
        s = d['summary']
        rows.append(['%s s' % ttl, s['n'], f(s['p50']), f(s['p95']),
                     f(s['p99']), f(s['max']), f(d['budget'], 1),
                     f(float(ttl) + 1, 1)])
    print(grid(['TTL', 'kills', 'p50 s', 'p95 s', 'p99 s', 'max s',
                'budget s', 'TTL+1 s'], rows))
    if 'failover' in data:
        s = data['failover']['summary']
        print()
        print(grid(['leader TTL', 'kills', 'p50 s', 'p95 s', 'p99 s',
                    'max s'], [['%g s' % data['failover']['leader_ttl'],
                                s['n'], f(s['p50']), f(s['p95']),
                                f(s['p99']), f(s['max'])]]))


def heal(data):
    if data.get('cloud') == 'real':
        return heal_real(data)
    rows = []
    for r in data['results']:
        if 'error' in r:
            rows.append([r['servers'], r['engine_workers'], 'error', '', '',
                         '', r['error'][:40]])
            continue
        rows.append([r['servers'], r['engine_workers'], f(r['detect']),
                     f(r['fence']), f(r['act']), f(r['total']),
                     'yes' if r['healed'] else 'NO'])
    print(grid(['servers', 'engine workers', 'detect s', 'fence s', 'act s',
                'total s', 'healed'], rows))


def heal_real(data):
    """Per size: p50 / p99 of each phase after the power cut, Nova's floor,
    the ratio and VMR's overhead over the floor; with ``--compare``, the
    other revision's table too."""
    from tests.benchmarks import bench_heal_real
    if 'summary' not in data:
        # parsed by hand from a stopped run's log: its table is in the doc
        print('(no summary: %s)' % data.get('note', 'see doc/benchmarks.rst'))
        return
    sizes = sorted(int(n) for n in data['summary'])
    summary = bench_heal_real.summarise(data, sizes)
    if data.get('compare'):
        print('this revision:\n')
    _heal_real_table(summary)
    if data.get('compare'):
        print('\n%s, in turns with it on the same real tier:\n'
              % data['compare'])
        _heal_real_table(bench_heal_real.summarise(data, sizes,
                                                   data['compare']))
    loads = [x for r in data['vmr'] + data['floor']
             for x in (r['load_before'][0], r.get('load_after', [0])[0])
             if x]
    print('\n(p50 / p99 seconds after the power cut, floor: after the '
          'force-down request; 1-min load average %.1f-%.1f)'
          % (min(loads), max(loads)))
    setup = sum(row['setup_failed'] for row in summary.values())
    if setup:
        print('(%d runs failed before the power cut, in their set-up, and '
              'are not counted: %s)' % (setup, '; '.join(sorted({
                  r['error'][:120] for r in data['vmr'] + data['floor']
                  if bench_heal_real._setup_failed(r)}))))


def _heal_real_table(summary):
    rows = []
    for n, row in sorted(summary.items(), key=lambda kv: int(kv[0])):
        def cell(name, row=row):
            s = row.get(name)
            return '%s / %s' % (f(s['p50']), f(s['p99'])) if s else '-'
        rows.append([n, '%d/%d' % (row['healed'], row['runs'])] +
                    [cell(p) for p in ('failed', 'record', 'fenced',
                                       'planned', 'first_active',
                                       'all_active', 'after_fence',
                                       'floor')] +
                    [f(row.get('ratio_p50')), f(row.get('overhead_p50'))])
    print(grid(['servers', 'healed', 'failed', 'record', 'fenced', 'planned',
                'first ACTIVE', 'all ACTIVE', 'after fence', 'Nova floor',
                'ratio', 'overhead s'], rows))


def false_positives(data):
    print(grid(['minutes', 'agents', 'pauses', 'false suspects',
                'false fences', 'recoveries', 'load avg'],
               [[f(data['seconds'] / 60, 1), data['agents'],
                 data['pauses'], data['false_suspects'],
                 data['false_fences'], data['recovery_records'],
                 '%.1f' % data['load_avg'][1]]]))


def scale(data):
    rows = []
    for r in data['results']:
        st = r['steady']
        m = r.get('mass_failure') or {}
        det = [d for d in r.get('detection', []) if d is not None]
        rows.append([r['hosts'], r.get('transport', 'gateway'),
                     '%g/%g' % (r['ttl'], r['interval']),
                     f(st['cycle']['p50'], 3), f(st['cycle']['p99'], 3),
                     f((st.get('snapshot_read') or {}).get('p99'), 3),
                     f((st.get('election_step') or {}).get('p99'), 3),
                     '%.0f' % st['etcd_cpu_percent'],
                     '%.0f' % st['coordinator_cpu_percent'],
                     st.get('coordinator_cpu_ms_per_cycle', '-'),
                     '%.0f' % st['keepalives_per_s'],
                     st['leases_lost'],
                     ', '.join(f(d) for d in det) or '-',
                     f(m.get('all_suspect_after')),
                     m.get('brake_engaged', '-'),
                     m.get('failed_anyway', '-')])
    print(grid(['hosts', 'keep-alive', 'TTL/interval', 'cycle p50 s',
                'cycle p99 s',
                'snapshot p99 s', 'election p99 s',
                'etcd CPU %', 'coord CPU %', 'CPU ms/cycle', 'keepalives/s', 'leases lost',
                'detection s', '10 % noticed s', 'brake', 'fenced'], rows))


def journal(data):
    print(grid(['engine workers', 'updates', 'seconds', 'CAS conflicts',
                'gave up', 'record KB'],
               [[r['workers'], r['updates'], f(r['seconds']), r['conflicts'],
                 r['gave_up'], r['record_kb']] for r in data['results']]))


def history(data):
    print(grid(['closed recoveries', 'kept in', 'journal records',
                'snapshot p50 ms', 'p99 ms', 'CPU p50 ms', 'CPU p99 ms',
                'p50 / empty'],
               [[r['closed'], r['closed_in'], r['journal_records'],
                 f(r['snapshot_ms']['p50']), f(r['snapshot_ms']['p99']),
                 f(r['cpu_ms']['p50']), f(r['cpu_ms']['p99']),
                 f(r.get('ratio_p50'))] for r in data['results']]))


def reachability(data):
    print(grid(['hosts', 'interval s', 'watch CPU %', 'rounds/s',
                'verdicts', 'false unreachable', 'undecided',
                'dead seen', 'dead after p50 s'],
               [[r['hosts'], f(r['interval']), f(r['watch_cpu_percent'], 1),
                 f(r['rounds_per_s']), r['verdict_checks'],
                 r['false_unreachable'], r['undecided'],
                 '%d/%d' % (r['dead_detected'], r['dead']),
                 f(stats.percentile(r['dead_after'], 50))]
                for r in data['runs']]))


def keepalive(data):
    print(grid(['transport', 'renewals/s', 'answered/s', 'etcd CPU %',
                'etcd us/renewal', 'client CPU %', 'gone', 'errors',
                'round trip p50 ms', 'p99 ms'],
               [[r['transport'], r['rate'], r['answered_per_s'],
                 f(r['etcd_cpu_pct'], 1), f(r['etcd_us_per_keepalive'], 0),
                 f(r['client_cpu_pct'], 0), r['gone'], r['errors'],
                 f(1000 * r['rtt_p50'], 1), f(1000 * r['rtt_p99'], 1)]
                for r in data['rows']]))


def main(argv=None):
    for prefix, fn in (('detection', detection), ('heal', heal),
                       ('false_positives', false_positives),
                       ('journal', journal), ('history', history),
                       ('scale', scale),
                       ('reachability', reachability),
                       ('keepalive', keepalive)):
        for path in sorted(glob.glob(os.path.join(stats.OUTDIR,
                                                  prefix + '*.json'))):
            name = os.path.basename(path)[:-5]
            if name.endswith('-quick'):
                continue
            data = load(name)
            print('\n.. %s (%s)\n' % (name, data.get('command', '')))
            fn(data)
    return 0


if __name__ == '__main__':
    sys.exit(main())
