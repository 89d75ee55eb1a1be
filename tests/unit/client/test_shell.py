"""``vmr``'s exit statuses for help, version and usage errors."""

import pytest

from vmr_client import shell


@pytest.mark.parametrize('argv', [['--help'], ['-h'], ['help'],
                                  ['help', 'status'], ['status', '--help'],
                                  ['--version']])
def test_help_and_version_succeed(argv, capsys):
    assert shell.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(('usage: vmr', 'vmr 0', 'vmr ')), out[:80]


def test_top_level_help_lists_the_commands(capsys):
    assert shell.main(['--help']) == 0
    out = capsys.readouterr().out
    for command in ('host list', 'recovery show', 'fence test', 'status'):
        assert command in out


def test_an_unknown_command_is_an_error_naming_it(capsys):
    assert shell.main(['--no-such-option']) != 0
    captured = capsys.readouterr()
    assert "'--no-such-option' is not a vmr command" in captured.out + \
        captured.err
