"""vmr-supervise, the roles' test-mode process supervisor, on its own.

Runs a real child process under it: start, restart on exit, reload, stop,
pid files. Everything it starts is killed by PID in a finalizer.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

SUPERVISE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))), 'ansible', 'roles', 'vmr_service',
    'files', 'vmr-supervise')

CHILD = '''
import signal, sys, time
signal.signal(signal.SIGHUP, lambda *a: print('reloaded', flush=True))
print('child up', flush=True)
while True:
    time.sleep(0.1)
'''


def _run(*args):
    return subprocess.run([sys.executable, SUPERVISE] + list(args),
                          capture_output=True, text=True, timeout=60)


def _read(path):
    with open(path) as f:
        return f.read()


def _pid(path):
    """The pid in ``path``, or None while the supervisor replaces it."""
    try:
        return int(_read(path).strip() or 0) or None
    except (OSError, ValueError):
        return None


def _wait(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out')
        time.sleep(0.05)


@pytest.fixture
def spec():
    workdir = tempfile.mkdtemp(prefix='vmr-supervise-')
    child = os.path.join(workdir, 'child.py')
    with open(child, 'w') as f:
        f.write(CHILD)
    path = os.path.join(workdir, 'svc.json')
    data = {'name': 'svc', 'command': [sys.executable, child],
            'run_dir': os.path.join(workdir, 'run'),
            'log_file': os.path.join(workdir, 'log', 'svc.log'),
            'restart_sec': 0.2, 'stop_timeout': 5}
    with open(path, 'w') as f:
        json.dump(data, f)
    yield path, data
    for name in ('svc.supervisor.pid', 'svc.pid'):
        try:
            pid = int(_read(os.path.join(data['run_dir'], name)))
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


def test_start_restart_reload_stop(spec):
    path, data = spec
    pid_file = os.path.join(data['run_dir'], 'svc.pid')
    sup_file = os.path.join(data['run_dir'], 'svc.supervisor.pid')

    result = _run('start', path)
    assert result.returncode == 0 and 'svc started' in result.stdout, result
    assert 'already running' in _run('start', path).stdout
    assert _run('status', path).returncode == 0

    # Restart=always: the supervisor brings a killed service back
    first = int(_read(pid_file))
    os.kill(first, signal.SIGKILL)
    _wait(lambda: _pid(pid_file) not in (None, first))

    assert _run('reload', path).returncode == 0
    _wait(lambda: 'reloaded' in _read(data['log_file']))

    supervisor = int(_read(sup_file))
    child = int(_read(pid_file))
    result = _run('stop', path)
    assert result.returncode == 0 and 'svc stopped' in result.stdout
    for pid in (supervisor, child):
        _wait(lambda: not os.path.exists('/proc/%d' % pid) or
              _read('/proc/%d/stat' % pid).rsplit(')', 1)[1].split()[0] == 'Z')
    assert not os.path.exists(pid_file) and not os.path.exists(sup_file)
    assert _run('status', path).returncode == 3
    assert 'already stopped' in _run('stop', path).stdout


def test_start_reports_a_service_that_dies(spec):
    path, data = spec
    data['command'] = [sys.executable, '-c', 'import sys; print("bad config"); sys.exit(1)']
    with open(path, 'w') as f:
        json.dump(data, f)
    result = _run('start', path)
    assert result.returncode == 1
    assert 'failed to start' in result.stderr and 'bad config' in result.stderr
    assert _run('stop', path).returncode == 0
