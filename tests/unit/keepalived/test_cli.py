"""The render CLI: argparse options, YAML input, one-line errors, exit codes."""

import io
import os

import pytest
import yaml

from vmr_keepalived import cli


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def test_example_input_renders(tmp_path):
    rc, example, _ = run(['guest-pair', '--example'])
    assert rc == 0
    path = tmp_path / 'pair.yaml'
    path.write_text(example)
    rc, out, err = run(['guest-pair', '--input', str(path)])
    assert (rc, err) == (0, '')
    for member in ('web-1', 'web-2'):
        for name in ('keepalived.conf', 'notify.sh', 'user-data'):
            assert f'### {member}/{name}\n' in out


def test_options_only_and_file_print_raw_config(tmp_path):
    secret = tmp_path / 'auth'
    secret.write_text('pw123\n')
    rc, out, err = run(['guest-pair', '--name', 'db', '--member', 'db-a=10.1.0.1',
                        '--member', 'db-b=10.1.0.2', '--vip', '10.1.0.100/24',
                        '--virtual-router-id', '7', '--service', 'postgres', '--preempt',
                        '--auth-pass-file', str(secret), '--only', 'db-b',
                        '--file', 'keepalived.conf'])
    assert (rc, err) == (0, '')
    assert out.startswith('# VMR guest pair db: member db-b (standby)')
    assert 'script "/usr/bin/pidof postgres"' in out
    assert 'nopreempt' not in out and 'auth_pass pw123' in out


def test_command_line_overrides_input(tmp_path):
    path = tmp_path / 'ctl.yaml'
    path.write_text(yaml.safe_dump({
        'controllers': [{'name': 'c1', 'address': '192.0.2.1'},
                        {'name': 'c2', 'address': '192.0.2.2'}],
        'vip': '192.0.2.100/24', 'virtual_router_id': 9}))
    rc, out, _ = run(['controller-vip', '--input', str(path), '--api-port', '9999',
                      '--virtual-router-id', '10', '--file', 'keepalived.conf'])
    assert rc == 0
    assert 'http://127.0.0.1:9999/readyz' in out and 'virtual_router_id 10' in out
    assert out.count('### c') == 2  # two controllers: headers kept


def test_output_dir_writes_private_files(tmp_path):
    rc, _, _ = run(['controller-vip', '--controller', 'c1=192.0.2.1', '--controller',
                    'c2=192.0.2.2', '--vip', '192.0.2.100/24', '--virtual-router-id', '3',
                    '--output-dir', str(tmp_path / 'out')])
    assert rc == 0
    path = tmp_path / 'out' / 'c2' / 'keepalived.conf'
    assert path.exists() and (os.stat(path).st_mode & 0o777) == 0o600


@pytest.mark.parametrize('argv,message', [
    (['controller-vip', '--controller', 'c1=192.0.2.1', '--vip', '192.0.2.100/24',
      '--virtual-router-id', '3'], 'controller_vip.controllers: must list 2 or 3'),
    (['guest-pair', '--name', 'p', '--member', 'a=10.0.0.1', '--member', 'b=10.0.0.2',
      '--vip', '10.0.0.9/24', '--virtual-router-id', '300'],
     'virtual_router_id: must be 1-255, got 300'),
    (['guest-pair', '--input', '/nonexistent/pair.yaml'], '--input: cannot read'),
    (['guest-pair', '--name', 'p', '--member', 'a=10.0.0.1', '--member', 'b=10.0.0.2',
      '--vip', '10.0.0.9/24', '--virtual-router-id', '3', '--only', 'c'],
     "--only: no member 'c' (have a, b)"),
])
def test_errors_are_one_line(argv, message):
    rc, out, err = run(argv)
    assert rc == 2 and out == ''
    assert err.startswith('error: ') and message in err and err.count('\n') == 1


def test_bad_yaml(tmp_path):
    path = tmp_path / 'bad.yaml'
    path.write_text('name: [unclosed\n')
    rc, _, err = run(['guest-pair', '--input', str(path)])
    assert rc == 2 and 'is not valid YAML' in err


def test_member_syntax_is_checked_by_argparse(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(['guest-pair', '--member', 'no-equals-sign'])
    assert info.value.code == 2
    assert 'expected NAME=ADDRESS' in capsys.readouterr().err


def test_help_mentions_both_variants(capsys):
    with pytest.raises(SystemExit):
        cli.main(['--help'])
    out = capsys.readouterr().out
    assert 'guest-pair' in out and 'controller-vip' in out
