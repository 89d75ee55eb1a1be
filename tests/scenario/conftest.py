"""Shared fixture of the whole-lab scenarios: start a harness, always stop.

``running_lab(cls, **options)`` starts a :class:`vmr_lab.demo.Demo` (or a
subclass), yields it, stops every process it started even when the test
fails, prints the harness's story for the test report and removes its
working directory.
"""

import contextlib
import io
import shutil
import tempfile

import pytest


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


@pytest.fixture
def demo():
    from vmr_lab.demo import Demo
    with running_lab(Demo, hosts=3, servers=6) as harness:
        yield harness
