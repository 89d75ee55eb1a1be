"""Fixtures of the keepalived tests."""

import pytest


@pytest.fixture
def vmr_cli(monkeypatch, capsys):
    """``vmr`` in-process with the keepalived commands plugged in.

    The ``vmr.cli`` entry points may not be installed in this checkout, so
    the commands are added the way the entry points add them.
    """
    from vmr_client import shell
    from vmr_client.commands import keepalived as keepalived_cmds
    for name, cls in keepalived_cmds.COMMANDS.items():
        monkeypatch.setitem(shell.COMMANDS, name, cls)

    def run(*argv):
        capsys.readouterr()
        rc = shell.main(list(argv))
        out, err = capsys.readouterr()
        return rc, out, err
    return run
