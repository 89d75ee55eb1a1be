"""Whole-lab scenarios: start a harness, always stop it.

``running_lab(cls, **options)`` starts a :class:`vmr_lab.demo.Demo` (or a
subclass), yields it, stops every process it started even when the test
fails, prints the harness's story for the test report and removes its
working directory.  The scenario tests and the real tier use it.
"""

import contextlib
import io
import shutil
import tempfile


@contextlib.contextmanager
def running_lab(cls, **options):
    out = io.StringIO()
    owned = 'workdir' not in options
    if owned:
        options['workdir'] = tempfile.mkdtemp(prefix='vmr-scenario-')
    harness = cls(out=out, **options)
    try:
        harness.start()
        yield harness
    finally:
        harness.stop()
        print(out.getvalue())
        if owned:
            shutil.rmtree(options['workdir'], ignore_errors=True)


def fenced_then_done(demo):
    """The one recovery of a demo run: done, fenced by IPMI strictly before
    any step started, every step done; the record."""
    records = demo._records()
    assert len(records) == 1
    rec = records[0]
    assert rec['state'] == 'done'
    assert rec['fencing']['verified'] is True
    assert rec['fencing']['method'] == 'ipmi'
    fenced_at = [e['at'] for e in rec['timeline'] if e['event'] == 'fenced']
    assert fenced_at and all(s['started_at'] >= fenced_at[0]
                             for s in rec['steps'])
    assert rec['steps'] and all(s['state'] == 'done' for s in rec['steps'])
    return rec
