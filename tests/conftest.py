"""Fixtures shared by the functional tests and the real tier.

``etcd_server`` is one real etcd for the whole session; tests isolate by
cluster name.  Helpers (not fixtures) shared by several suites are in
:mod:`tests.support`.
"""

import pytest


@pytest.fixture(scope='session')
def etcd_server():
    """One etcd for the whole session; tests isolate by cluster name."""
    from tests.etcd_fixture import EtcdServer
    server = EtcdServer(name='vmr-session')
    try:
        server.start()
    except RuntimeError as exc:
        server.cleanup()
        pytest.fail(str(exc))
    yield server
    server.cleanup()


#: seconds the run waits, once every test is done, for threads that are
#: still working (an executor's last job) before it names them and exits
LINGER = 30.0


#: seconds into a CI run after which every thread's stack is printed once:
#: CI stops the run at 90 minutes, and a run still going at 75 is stuck
#: somewhere this shows
CI_STACKS_AFTER = 75 * 60


def pytest_configure(config):
    import faulthandler
    import os
    import signal
    import sys
    if os.environ.get('CI'):
        faulthandler.dump_traceback_later(CI_STACKS_AFTER, exit=False,
                                          file=sys.__stderr__)
    # A run stopped with SIGTERM (``timeout``, CI's limit) tears down like
    # one interrupted by ^C: every fixture's clean-up runs (the real tier,
    # etcd, agents, BMCs), the failures so far are printed, and nothing is
    # left running.  By default SIGTERM ends Python on the spot.
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum, frame):
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # a second one ends it
    raise KeyboardInterrupt('SIGTERM: tearing down')


def pytest_sessionfinish(session, exitstatus):
    session.config._vmr_exitstatus = int(exitstatus)


def pytest_unconfigure(config):
    """Never hang after the last test.  Python joins every non-daemon
    thread (each ThreadPoolExecutor's workers) at exit: one stuck in a
    blocking call left by a failed test would hold the run until CI's
    limit, with every result already printed.  Wait a little, then name
    the stragglers with their stacks and exit with the session's status."""
    import os
    import sys
    import threading
    import time
    import traceback
    deadline = time.monotonic() + LINGER

    def stragglers():
        return [t for t in threading.enumerate()
                if t is not threading.main_thread() and not t.daemon
                and t.is_alive()]
    left = stragglers()
    while left and time.monotonic() < deadline:
        left[0].join(max(0.0, deadline - time.monotonic()))
        left = stragglers()
    if not left:
        return
    frames = sys._current_frames()
    out = ['%d thread(s) still running %.0f s after the last test; exiting '
           'without them (a test left them behind: fix it):' % (
               len(left), LINGER)]
    for thread in left:
        out.append('--- %s' % thread.name)
        out.extend(line.rstrip() for line in traceback.format_stack(
            frames.get(thread.ident)) if frames.get(thread.ident))
    sys.stderr.write('\n'.join(out) + '\n')
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(getattr(config, '_vmr_exitstatus', 1))
