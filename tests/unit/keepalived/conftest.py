"""Fixtures for the keepalived unit tests: golden files and ``keepalived -t``.

Golden files live in ``golden/``. After an intended template change,
regenerate them and review the diff::

    VMR_REGEN_GOLDEN=1 pytest tests/unit/keepalived
    git diff tests/unit/keepalived/golden
"""

import contextlib
import os
import secrets
import shutil
import subprocess

import pytest

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'golden')
REGEN = os.environ.get('VMR_REGEN_GOLDEN') == '1'
KEEPALIVED = shutil.which('keepalived') or '/usr/sbin/keepalived'
# Interfaces the rendered test configs name; keepalived -t rejects a config
# (rc 5, "Non-existent interface") whose interface is missing on the machine.
CHECK_INTERFACES = ('eth0', 'eth1')


def assert_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``golden/<name>`` (or rewrite it under VMR_REGEN_GOLDEN=1)."""
    path = os.path.join(GOLDEN_DIR, name)
    if REGEN:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        return
    if not os.path.exists(path):
        pytest.fail(f'golden file {name} missing: run VMR_REGEN_GOLDEN=1 pytest '
                    f'tests/unit/keepalived and review the new file')
    with open(path) as f:
        expected = f.read()
    # Plain == so pytest prints a readable diff on mismatch.
    assert text == expected, f'{name} differs from its golden file (VMR_REGEN_GOLDEN=1 ' \
                             f'regenerates it after an intended change)'


class KeepalivedCheck:
    """Runs ``keepalived -t -f FILE`` where the configs' interfaces exist.

    As root it uses a private network namespace holding veth links named
    eth0/eth1, so the result does not depend on the host's interface names;
    otherwise it runs on the host when the interfaces happen to exist.
    """

    def __init__(self, tmpdir: str):
        self.tmpdir = tmpdir
        self.netns = None
        self.skip_reason = None
        if not os.path.exists(KEEPALIVED):
            self.skip_reason = 'keepalived is not installed (apt-get install keepalived)'
            return
        if os.geteuid() == 0 and shutil.which('ip'):
            name = f'vmrt-{secrets.token_hex(3)}-check'
            if subprocess.run(['ip', 'netns', 'add', name], capture_output=True).returncode == 0:
                self.netns = name
                for a, b in (('eth0', 'peer0'), ('eth1', 'peer1')):
                    subprocess.run(['ip', '-n', name, 'link', 'add', 'name', a, 'type', 'veth',
                                    'peer', 'name', b], check=True, capture_output=True)
                return
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
        cmd = [KEEPALIVED, '-t', '-f', path]
        if self.netns:
            cmd = ['ip', 'netns', 'exec', self.netns, *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, (
            f'keepalived -t rejected {name} (rc {result.returncode}):\n{result.stderr}')

    def close(self) -> None:
        if self.netns:
            with contextlib.suppress(Exception):
                subprocess.run(['ip', 'netns', 'del', self.netns], capture_output=True)


@pytest.fixture(scope='session')
def keepalived_check(tmp_path_factory):
    """Callable ``check(name, text)`` asserting that keepalived -t accepts ``text``."""
    check = KeepalivedCheck(str(tmp_path_factory.mktemp('keepalived-t')))
    yield check
    check.close()


@pytest.fixture
def golden():
    """Callable ``golden(name, text)``: compare with (or regenerate) a golden file."""
    return assert_golden
