"""``keepalived -t`` on rendered configurations, where the interfaces they
name exist (a network namespace of its own, as root)."""

import os
import shutil
import subprocess

import pytest

KEEPALIVED = shutil.which('keepalived') or '/usr/sbin/keepalived'
# Interfaces the rendered test configs name; keepalived -t rejects a config
# (rc 5, "Non-existent interface") whose interface is missing on the machine.
CHECK_INTERFACES = ('eth0', 'eth1')


class KeepalivedCheck:
    """Runs ``keepalived -t -f FILE`` where the configs' interfaces exist.

    As root, one shell lives in an anonymous network namespace (``unshare
    --net``) holding veth links named eth0/eth1 and runs ``keepalived -t`` for
    each path it reads on stdin, so results do not depend on the host's
    interface names, each check costs one exec, and nothing can be left
    behind: the namespace vanishes with the shell, which exits on EOF even if
    the test run is killed. Otherwise it runs on the host when the interfaces
    exist.
    """

    _SERVER = ('ip link add name eth0 type veth peer name peer0 && '
               'ip link add name eth1 type veth peer name peer1 || exit 1; '
               'echo ready; '
               'while read -r f; do "$0" -t -f "$f" 2>"$f.err"; echo "$?"; done')

    def __init__(self, tmpdir: str):
        self.tmpdir = tmpdir
        self.server = None
        self.skip_reason = None
        if not os.path.exists(KEEPALIVED):
            self.skip_reason = 'keepalived is not installed (apt-get install keepalived)'
            return
        if os.geteuid() == 0 and shutil.which('unshare') and shutil.which('ip'):
            server = subprocess.Popen(['unshare', '--net', 'sh', '-c', self._SERVER, KEEPALIVED],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
            if server.stdout.readline().strip() == 'ready':
                self.server = server
                return
            server.wait()
        host = set(os.listdir('/sys/class/net'))
        missing = [i for i in CHECK_INTERFACES if i not in host]
        if missing:
            self.skip_reason = (f'keepalived -t needs interfaces {missing} and no network '
                                f'namespace could be created for them')

    def __call__(self, name: str, text: str) -> None:
        if self.skip_reason:
            pytest.skip(self.skip_reason)
        path = os.path.join(self.tmpdir, name.replace('/', '_'))
        with open(path, 'w') as f:
            f.write(text)
        if self.server is not None:
            self.server.stdin.write(path + '\n')
            self.server.stdin.flush()
            rc = int(self.server.stdout.readline())
            with open(path + '.err') as f:
                stderr = f.read()
        else:
            result = subprocess.run([KEEPALIVED, '-t', '-f', path], capture_output=True,
                                    text=True, timeout=30)
            rc, stderr = result.returncode, result.stderr
        assert rc == 0, f'keepalived -t rejected {name} (rc {rc}):\n{stderr}'

    def close(self) -> None:
        """End the namespace shell (closing stdin is enough; it exits on EOF)."""
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait(timeout=10)
