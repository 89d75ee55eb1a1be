"""The agent's watchdog: an isolated node fences itself.

The agent arms the watchdog when it joins and feeds it only while it holds
its etcd lease.  If the node loses etcd (or the agent wedges), feeding
stops, and within ``timeout`` seconds the watchdog resets the node.  The
coordinator's ``watchdog`` fencer relies on exactly that: once the node's
lease has been gone for longer than ``timeout`` + margin, the node has
reset and runs no VMs.  :meth:`Watchdog.describe` goes into the host record
so the coordinator knows whether it may rely on it.

Two modes:

* ``device``: ``/dev/watchdog`` (a hardware watchdog or the ``softdog``
  kernel module).  Feeding writes a byte; a clean :meth:`Watchdog.disarm`
  writes the magic ``'V'`` so the kernel stops the timer.  The kernel fires
  even when the agent process or userspace is stuck: the strong mode.
* ``software``: a thread runs ``fallback_action`` (a callable, or a command
  as a list of strings such as ``['systemctl', 'reboot', '--force',
  '--force']``) when not fed within ``timeout``.  It cannot fire if the
  whole process hangs: prefer the device.

Usage by the agent::

    dog = Watchdog(30, device='/dev/watchdog', fallback_action=reboot)
    dog.arm()
    ...  # every heartbeat that still holds the lease:
    dog.feed()
    ...  # clean shutdown (maintenance, agent stop):
    dog.disarm()
"""

import fcntl
import logging
import os
import struct
import subprocess
import threading
import time

LOG = logging.getLogger(__name__)

# linux/watchdog.h: _IOWR('W', 6, int)
WDIOC_SETTIMEOUT = 0xC0045706
MAGIC_CLOSE = b'V'


class WatchdogError(Exception):
    """The watchdog cannot be armed as configured (message names the fix)."""


class Watchdog:
    """Arm, feed and disarm a watchdog; see the module docstring."""

    def __init__(self, timeout, device=None, fallback_action=None,
                 clock=time.monotonic):
        if timeout is None or float(timeout) <= 0:
            raise WatchdogError('watchdog timeout must be a positive number '
                                'of seconds')
        self.timeout = float(timeout)
        self.device = device
        self.fallback_action = fallback_action
        self.mode = None
        self.fired = False
        self._clock = clock
        self._fd = None
        self._last_feed = None
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()

    @property
    def armed(self):
        """True while the watchdog would reset the node if not fed."""
        return self.mode is not None and not self.fired

    def arm(self):
        """Open the device, or start the software fallback; idempotent."""
        with self._lock:
            if self.mode is not None:
                return self
            if self.device and os.path.exists(self.device):
                self._arm_device()
            elif self.fallback_action is not None:
                self._arm_software()
            else:
                raise WatchdogError(
                    'no watchdog available: device %s is absent (load the '
                    'softdog module: modprobe softdog) and no fallback '
                    'action is configured' % (self.device or '(none)'))
        LOG.info('watchdog armed: %s, timeout %g s', self.mode, self.timeout)
        return self

    def _arm_device(self):
        try:
            fd = os.open(self.device, os.O_WRONLY)
        except OSError as exc:
            raise WatchdogError('cannot open watchdog %s: %s'
                                % (self.device, exc.strerror or exc))
        try:
            fcntl.ioctl(fd, WDIOC_SETTIMEOUT,
                        struct.pack('i', max(1, int(self.timeout))))
        except OSError as exc:
            # The device keeps its own timeout: report it, keep the device.
            LOG.warning('watchdog %s: cannot set timeout %g s (%s); using '
                        'the device default', self.device, self.timeout,
                        exc.strerror or exc)
        self._fd = fd
        self.mode = 'device'
        self._last_feed = self._clock()
        os.write(fd, b'\0')

    def _arm_software(self):
        self._last_feed = self._clock()
        self._stop.clear()
        self.mode = 'software'
        self.fired = False
        self._thread = threading.Thread(target=self._watch,
                                        name='vmr-watchdog', daemon=True)
        self._thread.start()

    def _watch(self):
        # Check often enough that firing is late by at most a tenth of the
        # timeout (and never more than a second).
        step = min(1.0, self.timeout / 10.0)
        while not self._stop.wait(step):
            if self._clock() - self._last_feed > self.timeout:
                self.fired = True
                LOG.critical('watchdog not fed for %g s: running the '
                             'fallback action', self.timeout)
                self._fire()
                return

    def _fire(self):
        action = self.fallback_action
        try:
            if callable(action):
                action()
            else:
                subprocess.run(list(action), check=False, timeout=60)
        except Exception:
            LOG.exception('watchdog fallback action failed')

    def feed(self):
        """Push the deadline back by ``timeout``; call only with the lease held."""
        if self.mode is None:
            raise WatchdogError('feed() before arm()')
        self._last_feed = self._clock()
        if self.mode == 'device':
            os.write(self._fd, b'\0')

    def disarm(self):
        """Stop the watchdog cleanly (magic close for the device)."""
        with self._lock:
            if self.mode == 'device' and self._fd is not None:
                try:
                    os.write(self._fd, MAGIC_CLOSE)
                finally:
                    os.close(self._fd)
                    self._fd = None
            elif self.mode == 'software':
                self._stop.set()
                if self._thread is not None:
                    self._thread.join(timeout=5)
                    self._thread = None
            if self.mode is not None:
                LOG.info('watchdog disarmed (%s)', self.mode)
            self.mode = None

    def describe(self):
        """Capabilities for the host record (what the coordinator trusts)."""
        return {'armed': self.armed, 'timeout': self.timeout,
                'mode': self.mode, 'device': self.device
                if self.mode == 'device' else None}
