"""stop-instances runs isolation_command once when the node is isolated,
and vmr-agent refuses to start with an isolation action that would do
nothing, naming the option and the fix in one line."""

import subprocess
import sys

from vmr_agent.isolation import IsolationGuard


def test_stop_instances_runs_the_command_once(tmp_path):
    marker = tmp_path / 'stopped'
    now = [0.0]
    guard = IsolationGuard(
        10.0, 'stop-instances',
        command='%s -c "import sys; open(sys.argv[1], \'a\').write(\'x\')" %s'
        % (sys.executable, marker), clock=lambda: now[0])
    guard.check()
    assert not marker.exists()
    now[0] = 11.0
    assert guard.check() is True
    assert guard.check() is True
    assert marker.read_text() == 'x'   # run once, not every beat


def test_a_failing_command_is_logged_not_raised(tmp_path, caplog):
    now = [0.0]
    guard = IsolationGuard(1.0, 'stop-instances',
                           command=str(tmp_path / 'no-such-command'),
                           clock=lambda: now[0])
    now[0] = 2.0
    assert guard.check() is True
    assert 'isolation_command failed' in caplog.text


def _agent(tmp_path, agent_section):
    conf = tmp_path / 'agent.conf'
    conf.write_text('[DEFAULT]\nhost = compute-1\n[agent]\n' + agent_section)
    return subprocess.run(
        [sys.executable, '-c', 'import sys; from vmr_agent.cmd import main; '
         'sys.exit(main())', '--config-file', str(conf)],
        capture_output=True, text=True, timeout=60)


def test_agent_refuses_stop_instances_without_a_command(tmp_path):
    run = _agent(tmp_path, 'isolation_action = stop-instances\n')
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        'vmr-agent: error: [agent] isolation_action = stop-instances needs '
        '[agent] isolation_command (the command that stops the local '
        'instances, run without a shell); set it, or choose '
        'isolation_action = watchdog-reboot or none']


def test_agent_refuses_watchdog_reboot_without_a_watchdog(tmp_path):
    run = _agent(tmp_path, 'isolation_action = watchdog-reboot\n')
    assert run.returncode == 1
    assert 'watchdog_enabled = true' in run.stderr
    assert len(run.stderr.splitlines()) == 1
