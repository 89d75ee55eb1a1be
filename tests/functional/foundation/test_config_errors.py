"""Bad configuration and unreachable etcd: one clear line, no traceback."""

import subprocess
import sys
import time

from tests.procs import ServiceProcess


def run(module, conf_path, timeout=20):
    return subprocess.run(
        [sys.executable, '-c', 'import sys, %s as m; sys.exit(m.main())'
         % module, '--config-file', conf_path],
        capture_output=True, text=True, timeout=timeout)


def test_timing_violation_exits_1_with_one_line(tmp_path):
    proc = ServiceProcess('agent', 'bad', ['http://127.0.0.1:9'], 'x',
                          str(tmp_path), timing={'interval': 2.0})
    result = run('vmr_agent.cmd', proc.conf_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert '[heartbeat] interval' in lines[0]
    assert 'ttl / 2' in lines[0]
    assert 'Traceback' not in result.stderr


def test_coordinator_leader_invariant(tmp_path):
    proc = ServiceProcess('coordinator', 'bad', ['http://127.0.0.1:9'], 'x',
                          str(tmp_path), timing={'period': 1.4})
    result = run('vmr_coordinator.cmd', proc.conf_path)
    assert result.returncode == 1
    assert '[coordinator] period' in result.stderr
    assert 'Traceback' not in result.stderr


def test_bad_value_and_missing_file(tmp_path):
    conf = tmp_path / 'x.conf'
    conf.write_text('[heartbeat]\nttl = fast\n')
    result = run('vmr_agent.cmd', str(conf))
    assert result.returncode == 1
    assert 'ttl' in result.stderr and 'Traceback' not in result.stderr
    result = run('vmr_agent.cmd', str(tmp_path / 'missing.conf'))
    assert result.returncode == 1
    assert 'missing.conf' in result.stderr
    assert 'Traceback' not in result.stderr


def test_bad_endpoint_url(tmp_path):
    conf = tmp_path / 'x.conf'
    conf.write_text('[etcd]\nendpoints = ftp://nowhere\n')
    result = run('vmr_coordinator.cmd', str(conf))
    assert result.returncode == 1
    assert 'ftp://nowhere' in result.stderr
    assert 'Traceback' not in result.stderr


def test_unreachable_etcd_retries_without_traceback(tmp_path):
    proc = ServiceProcess('agent', 'lonely', ['http://127.0.0.1:9'], 'x',
                          str(tmp_path))
    proc.start()
    try:
        time.sleep(4)
        assert proc.proc.poll() is None, 'the agent gave up'
    finally:
        proc.stop()
    log = proc.log()
    assert 'etcd unavailable' in log
    assert 'Traceback' not in log
