"""The ``fence_agent`` fencer: run an installed ClusterLabs fence agent.

Any ``fence_*`` agent (fence_ipmilan, fence_redfish, fence_ilo, PDU
agents, ...) works: VMR runs ``action=off`` then ``action=status`` and
counts the host fenced when status exits 2 ("off").  Options go to the
agent on **stdin** as ``name=value`` lines, never on its command line,
where every local user could read them in ``/proc/*/cmdline``.

fence_ipmilan (and its aliases fence_idrac, fence_ilo3/4/5, fence_imm)
would still put the password on *ipmitool's* command line (``-P``).  For
those agents VMR passes the password in ``IPMI_PASSWORD`` instead and points
the agent's ``ipmitool_path`` at a small wrapper that swaps ``-P ...`` for
``-E`` (ipmitool reads the environment variable); a process environment is
readable only by its owner.

Options: ``agent`` (name, looked up in ``[fencing] fence_agent_path``),
``address`` (-> ``ip``), ``port`` (-> ``ipport``), ``username``,
``password``, ``plug``, and ``options``: a mapping of any further agent
options (``lanplus: 1``, ``power_wait: 0``, ``ssl_insecure: 1``...).
"""

import atexit
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from vmr_coordinator.fencing import base

_AGENT_NAME = re.compile(r'^fence_[A-Za-z0-9_]+$')
_OPTION_NAME = re.compile(r'^[a-z][a-z0-9_]*$')
# Agents that shell out to ipmitool (symlinks to fence_ipmilan).
_IPMITOOL_AGENT = 'fence_ipmilan'

# Exit codes of action=status (fence-agents API).
STATUS_ON = 0
STATUS_FAILED = 1
STATUS_OFF = 2

_SHIM = r'''#!/bin/sh
# Written by VMR: run ipmitool with the password from $IPMI_PASSWORD (-E)
# instead of the "-P PASSWORD" argument fence agents would put in argv.
skip=0
for arg do
  shift
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  if [ "$arg" = "-P" ]; then skip=1; set -- "$@" -E; continue; fi
  set -- "$@" "$arg"
done
exec "${VMR_IPMITOOL:-/usr/bin/ipmitool}" "$@"
'''
_shim_lock = threading.Lock()
_PASSED_ENV = ('PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'HOME')
_shim_path = None


def ipmitool_shim():
    """Path of the ipmitool wrapper (created once, in a private 0700 dir)."""
    global _shim_path
    with _shim_lock:
        if _shim_path is None or not os.path.exists(_shim_path):
            directory = tempfile.mkdtemp(prefix='vmr-fence-')
            path = os.path.join(directory, 'ipmitool')
            with open(path, 'w', encoding='ascii') as handle:
                handle.write(_SHIM)
            os.chmod(path, 0o700)
            atexit.register(shutil.rmtree, directory, True)
            _shim_path = path
        return _shim_path


def agent_environment():
    """The environment agents run with: just enough, none of ours.

    The coordinator's own environment may hold cloud credentials
    (``OS_PASSWORD``...); third-party agents do not need them.
    """
    env = {key: os.environ[key] for key in _PASSED_ENV if key in os.environ}
    env.setdefault('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')
    return env


def _agent_message(stdout, stderr):
    """The agent's own explanation, without Python warning noise."""
    lines = []
    for line in (stdout + '\n' + stderr).splitlines():
        stripped = line.strip()
        if not stripped or 'Warning:' in line or line[:1].isspace():
            continue  # DeprecationWarning and the source line it quotes
        lines.append(stripped)
    for line in reversed(lines):
        if line.startswith(('Failed:', 'ERROR:', 'Error:')):
            return line
    return lines[-1] if lines else 'no output'


class FenceAgentFencer(base.Fencer):
    """Fence with an installed ``fence_*`` agent: off, then status."""

    name = 'fence_agent'
    required_options = ('agent',)
    optional_options = {'address': None, 'port': None, 'username': None,
                        'password': None, 'plug': None, 'options': None}
    # Our option names -> the agents' standard names.
    _RENAMED = {'address': 'ip', 'port': 'ipport', 'username': 'username',
                'password': 'password', 'plug': 'plug'}

    def __init__(self, options, conf):
        super().__init__(options, conf)
        agent = self.options['agent']
        if not isinstance(agent, str) or not _AGENT_NAME.match(agent):
            raise base.FenceConfigError(
                "option 'agent' must be a fence agent name like "
                "'fence_ipmilan' (got %r)" % (agent,))
        extra = self.options['options'] or {}
        if not isinstance(extra, dict):
            raise base.FenceConfigError(
                "option 'options' must be a mapping of agent option -> value")
        self._secrets = base.secret_values(self.options)
        self.path = self._find(agent)
        self.uses_ipmitool = (
            os.path.basename(os.path.realpath(self.path)) == _IPMITOOL_AGENT)
        self._agent_options = self._build_options(extra)

    def _find(self, agent):
        dirs = list(self.settings.fence_agent_path or [])
        for directory in dirs:
            path = os.path.join(directory, agent)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        raise base.FenceConfigError(
            "fence agent '%s' not found in %s (install the fence-agents "
            'package or set [fencing] fence_agent_path)'
            % (agent, ', '.join(dirs) or '(empty path)'))

    def _build_options(self, extra):
        opts = {}
        for ours, theirs in self._RENAMED.items():
            if self.options[ours] not in (None, ''):
                opts[theirs] = self.options[ours]
        for key, value in extra.items():
            if not _OPTION_NAME.match(str(key)) or key == 'action':
                raise base.FenceConfigError(
                    "invalid fence agent option name %r under 'options'"
                    % (key,))
            opts[key] = value
        for key, value in opts.items():
            if isinstance(value, bool):
                opts[key] = '1' if value else '0'
            else:
                opts[key] = str(value)
            if '\n' in opts[key] or '\r' in opts[key]:
                # A newline would smuggle extra options into the agent.
                raise base.FenceConfigError(
                    "fence agent option '%s' must be a single line" % key)
        return opts

    @property
    def target_label(self):
        """``fence_ipmilan 127.0.0.1:6231`` (safe to show)."""
        where = self._agent_options.get('ip', '')
        if where and 'ipport' in self._agent_options:
            where += ':' + self._agent_options['ipport']
        if 'plug' in self._agent_options:
            where += ' plug ' + self._agent_options['plug']
        return ('%s %s' % (self.options['agent'], where)).strip()

    def _exec(self, action, timeout):
        """Run the agent once; ``(rc, message)`` (rc None on timeout)."""
        opts = dict(self._agent_options)
        env = agent_environment()
        if self.uses_ipmitool and 'password' in opts:
            env['IPMI_PASSWORD'] = opts.pop('password')
            env['VMR_IPMITOOL'] = self.settings.ipmitool_path
            opts['ipmitool_path'] = ipmitool_shim()
        opts['action'] = action
        stdin = ''.join('%s=%s\n' % kv for kv in opts.items())
        proc = subprocess.Popen(
            [self.path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env,
            start_new_session=True)  # so a timeout kills ipmitool too
        try:
            stdout, stderr = proc.communicate(stdin, timeout=max(0.01,
                                                                 timeout))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            return None, 'no answer within %.1f s (agent killed)' % timeout
        return proc.returncode, self.scrub(_agent_message(stdout, stderr))

    def _off_then_status(self, timeout, action='off', wanted=STATUS_OFF):
        start = time.monotonic()
        deadline = start + timeout
        label = self.target_label
        rc, message = self._exec(action, deadline - time.monotonic())
        t_action = time.monotonic() - start
        if rc is None:
            return self.result(False, duration=t_action, error='%s: action=%s '
                               '%s' % (label, action, message))
        if rc != 0:
            return self.result(
                False, duration=t_action,
                error='%s: action=%s failed (exit %d): %s (BMC unreachable, '
                      'credentials rejected or wrong options?)'
                      % (label, action, rc, message))
        rc, message = self._exec('status', deadline - time.monotonic())
        elapsed = time.monotonic() - start
        if rc is None:
            return self.result(False, duration=elapsed,
                               error='%s: action=status %s' % (label, message))
        state = {STATUS_ON: base.PowerState.ON,
                 STATUS_OFF: base.PowerState.OFF}.get(rc,
                                                      base.PowerState.UNKNOWN)
        evidence = ('%s: action=%s ok in %.2f s, then action=status: %s '
                    '(exit %d) after %.2f s' % (label, action, t_action,
                                                state.value.upper(), rc,
                                                elapsed))
        if rc == wanted:
            return self.result(True, evidence=evidence, duration=elapsed,
                               power_state=state)
        if rc == STATUS_FAILED:
            error = '%s: action=status failed (exit 1): %s' % (label, message)
        else:
            error = '%s: action=%s ok but status still reports %s' % (
                label, action, state.value)
        return self.result(False, evidence=evidence, duration=elapsed,
                           error=error, power_state=state)

    def status(self, target, timeout=None):
        rc, _ = self._exec('status', timeout or self.settings.default_timeout)
        return {STATUS_ON: base.PowerState.ON,
                STATUS_OFF: base.PowerState.OFF}.get(rc,
                                                     base.PowerState.UNKNOWN)

    def fence(self, target, timeout):
        return self._off_then_status(timeout)

    def unfence(self, target, timeout=None):
        return self._off_then_status(timeout or self.settings.default_timeout,
                                     action='on', wanted=STATUS_ON)
