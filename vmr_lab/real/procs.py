"""Child processes of the real tier: one process group and one log each.

Every service runs in its own session, so stopping it (or killing it to
model a dead hypervisor) reaches all its workers through the group, and
nothing outside what we started is ever signalled.
"""

import os
import signal
import subprocess
import time


class ReadinessTimeout(RuntimeError):
    """A process did not become ready in time (the message names its log)."""


def wait_for(what, check, timeout, interval=0.1, proc=None):
    """Call ``check()`` until it returns a true value; return that value.

    Stops early with an error if ``proc`` (a :class:`Proc`) exits meanwhile.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        if proc is not None and not proc.alive():
            raise ReadinessTimeout('%s: process %s exited with %s; see %s'
                                   % (what, proc.name, proc.returncode(),
                                      proc.log_path))
        if time.monotonic() > deadline:
            where = ' (see %s)' % proc.log_path if proc is not None else ''
            raise ReadinessTimeout('%s: not ready after %.0f s%s; last: %r'
                                   % (what, timeout, where, last))
        time.sleep(interval)


class Proc:
    """One long-running child in its own process group, logging to a file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.popen = None
        self.started_at = None

    @property
    def pid(self):
        return self.popen.pid if self.popen is not None else None

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        with open(self.log_path, 'ab') as log:
            log.write(('--- %s: %s\n' % (time.strftime('%H:%M:%S'),
                                         ' '.join(self.argv))).encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
                start_new_session=True)
        self.started_at = time.monotonic()
        return self

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def returncode(self):
        return None if self.popen is None else self.popen.poll()

    def signal(self, sig):
        """Send ``sig`` to the whole process group (no-op once it is gone)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        """SIGKILL the group and reap the leader."""
        if self.popen is None:
            return
        self.signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout=10.0):
        """SIGTERM the group, SIGKILL it if still there after ``timeout``."""
        if self.popen is None:
            return
        # A stopped (SIGSTOPped) group would never see the SIGTERM.
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # Workers may outlive their leader: finish the group off either way.
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass


def run(argv, log_path, env=None, timeout=600, cwd=None):
    """Run a one-shot command, appending its output to ``log_path``.

    Raises RuntimeError naming the command and the log on failure.
    """
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, 'ab') as log:
        log.write(('--- %s: %s\n' % (time.strftime('%H:%M:%S'),
                                     ' '.join(argv))).encode())
        log.flush()
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env,
                             timeout=timeout, cwd=cwd,
                             start_new_session=True)
    if res.returncode != 0:
        raise RuntimeError('%s failed with exit code %d; see %s'
                           % (' '.join(argv[:3]), res.returncode, log_path))
