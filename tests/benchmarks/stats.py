"""Small statistics helpers shared by the benchmarks."""

import json
import os
import statistics

#: where results and plots go
OUTDIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'doc', 'benchmarks')


def percentile(values, pct):
    """Nearest-rank percentile of ``values`` (pct in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float('nan')
    rank = max(1, int(round(pct / 100.0 * len(ordered) + 0.4999)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values):
    return {'n': len(values),
            'p50': round(percentile(values, 50), 3),
            'p95': round(percentile(values, 95), 3),
            'p99': round(percentile(values, 99), 3),
            'max': round(max(values), 3) if values else None,
            'mean': round(statistics.fmean(values), 3) if values else None}


def table(rows):
    """A plain text table of ``{name: summary}``."""
    lines = ['%-32s %5s %8s %8s %8s %8s' % ('measure', 'n', 'p50', 'p95',
                                           'p99', 'max')]
    for name, s in rows.items():
        lines.append('%-32s %5d %8.3f %8.3f %8.3f %8.3f' % (
            name, s['n'], s['p50'], s['p95'], s['p99'], s['max']))
    return '\n'.join(lines)


def write_results(name, data, outdir=None):
    outdir = outdir or OUTDIR
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name + '.json')
    with open(path, 'w') as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    return path


def pyplot():
    """``matplotlib.pyplot`` drawing to files, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save(fig, name, outdir=None):
    """Write ``fig`` as ``<name>.png`` next to the results; its path."""
    import matplotlib.pyplot as plt
    path = os.path.join(outdir or OUTDIR, name + '.png')
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot(name, series, xlabel, outdir=None):
    """A PNG histogram per series, if matplotlib is installed."""
    plt = pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in series.items():
        ax.hist(values, bins=20, alpha=0.6, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel('count')
    ax.legend()
    return save(fig, name, outdir)
