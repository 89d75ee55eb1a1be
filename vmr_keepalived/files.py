"""Files around a rendering: secrets read from files, ``keepalived -t`` on
what was rendered, and the rendered files written out (mode 0600).

Used by ``vmr keepalived render`` and ``vmr keepalived setup-pair``.
"""

import os
import shutil
import subprocess
import tempfile

from vmr_keepalived import templater
from vmr_keepalived.model import KeepalivedConfigError


def read_secret(path: str, what: str) -> str:
    """The stripped content of the file ``path`` (a password or token given
    by ``what``, e.g. ``--auth-pass-file``); a :class:`KeepalivedConfigError`
    naming ``what`` when it cannot be read."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as exc:
        raise KeepalivedConfigError(what, f'cannot read {path}: {exc.strerror}')


def check_rendered(rendered: dict[str, dict[str, str]]) -> list[str]:
    """Run ``keepalived -t`` on each member's keepalived.conf of
    ``{member: {file: content}}``; one line per failure (empty: all good)."""
    keepalived = shutil.which('keepalived') or '/usr/sbin/keepalived'
    if not os.path.exists(keepalived):
        return ['--check: keepalived is not installed']
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in rendered.items():
            path = os.path.join(tmp, f'{name}.conf')
            with open(path, 'w') as f:
                f.write(files[templater.CONF_FILE])
            result = subprocess.run([keepalived, '-t', '-f', path],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                detail = ' '.join(result.stderr.split())[:300]
                failures.append(f'{name}: keepalived -t rc {result.returncode}: {detail}')
    return failures


def write_rendered(rendered: dict[str, dict[str, str]], directory: str) -> None:
    """Write ``{member: {file: content}}`` below ``directory/<member>/``."""
    for name, files in rendered.items():
        member_dir = os.path.join(directory, name)
        os.makedirs(member_dir, exist_ok=True)
        for filename, content in files.items():
            path = os.path.join(member_dir, filename)
            # 0600: user data may embed the webhook token and auth_pass.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(content)
