"""What an agent does when it cannot reach etcd for too long.

An isolated node is about to be declared failed and its VMs restarted
elsewhere; ``isolation_action`` makes sure it stops running them first
(DESIGN §3), the way vSphere HA's isolation response does.
"""

import logging
import shlex
import subprocess

LOG = logging.getLogger(__name__)


class IsolationGuard:
    """Tracks the last successful etcd contact and applies the action once."""

    def __init__(self, timeout, action='none', command=None, watchdog=None,
                 clock=None):
        import time
        # vmr-agent refuses these at start-up with the option's name
        # (vmr_common.conf.checks.agent_problems); here they are bugs.
        if action == 'stop-instances' and not (command or '').strip():
            raise ValueError('isolation_action stop-instances needs an '
                             'isolation_command')
        if action == 'watchdog-reboot' and watchdog is None:
            raise ValueError('isolation_action watchdog-reboot needs a '
                             'watchdog')
        self.timeout = timeout
        self.action = action
        self.command = command
        self.watchdog = watchdog
        self.clock = clock or time.monotonic
        self.last_contact = self.clock()
        self.isolated = False

    def contact(self):
        """etcd answered: not isolated (any more)."""
        if self.isolated:
            LOG.warning('isolation ended: etcd reachable again')
        self.isolated = False
        self.last_contact = self.clock()

    def check(self):
        """Call every beat; returns True while isolated."""
        silent = self.clock() - self.last_contact
        if silent < self.timeout or self.isolated:
            return self.isolated
        self.isolated = True
        LOG.critical('ISOLATED: no contact with etcd for %.1f s (> [agent] '
                     'isolation_timeout %.1f s); applying isolation_action=%s',
                     silent, self.timeout, self.action)
        if self.action == 'stop-instances' and self.command:
            try:
                subprocess.run(shlex.split(self.command), timeout=60,
                               check=False)
            except (OSError, subprocess.SubprocessError) as exc:
                LOG.error('isolation_command failed: %s', exc)
        elif self.action == 'watchdog-reboot' and self.watchdog is not None:
            LOG.critical('no longer feeding the watchdog: this node will '
                         'reset itself')
        return True

    @property
    def may_feed_watchdog(self):
        return not (self.isolated and self.action == 'watchdog-reboot')
