"""``vmr-lab cloud`` as a separate process, driven like a scenario test."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import openstack.config
import openstack.connection
import pytest

from tests.support.lab import REAL_CLOUD
from vmr_lab.client import LabClient
from vmr_lab.cmd import build_parser

pytestmark = pytest.mark.skipif(REAL_CLOUD is not None,
                                reason='VMR_TEST_CLOUD is set: starts a lab')


def _command():
    exe = shutil.which('vmr-lab')
    return [exe] if exe else [sys.executable, '-m', 'vmr_lab.cmd']


@pytest.fixture
def lab_process(tmp_path):
    """``vmr-lab cloud`` running; terminated (and reaped) after the test."""
    ready = tmp_path / 'ready.json'
    clouds = tmp_path / 'clouds.yaml'
    proc = subprocess.Popen(
        _command() + ['cloud', '--hosts', '4', '--servers', '8',
                      '--clouds-yaml', str(clouds),
                      '--state-dir', str(tmp_path / 'state'),
                      '--ready-file', str(ready),
                      '--service-down-time', '3',
                      '--delay', 'boot=0.05'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None:
                pytest.fail('vmr-lab cloud exited early:\n' +
                            proc.stdout.read())
            if time.monotonic() > deadline:
                pytest.fail('vmr-lab cloud wrote no ready file in 30 s')
            time.sleep(0.05)
        yield proc, json.loads(ready.read_text()), str(clouds)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()


def test_cloud_subprocess_serves_sdk_and_control_api(lab_process, tmp_path):
    proc, ready, clouds = lab_process
    assert oct(os.stat(clouds).st_mode & 0o777) == '0o600'
    config = openstack.config.OpenStackConfig(config_files=[clouds])
    with openstack.connection.Connection(
            config=config.get_one('vmr-lab')) as conn:
        servers = list(conn.compute.servers(all_projects=True))
        assert len(servers) == 8
        assert {s.status for s in servers} == {'ACTIVE'}
        hosts = {s.host for s in conn.compute.services(
            binary='nova-compute')}
        assert hosts == {'compute-1', 'compute-2', 'compute-3', 'compute-4'}

    client = LabClient(ready['control_url'])
    assert set(client.hosts()) == hosts
    assert ready['hosts']['compute-1']['boot_id_path'].startswith(
        str(tmp_path / 'state'))
    client.fault('compute-4', 'power_loss')
    assert client.host('compute-4')['running_servers'] == []
    assert client.violations() == []
    assert len(client.end_scenario()) == 2      # compute-4's servers

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert not (tmp_path / 'ready.json').exists()


def test_help_is_complete():
    parser = build_parser()
    text = parser._subparsers._group_actions[0].choices['cloud'].format_help()
    for option in ('--hosts', '--servers', '--clouds-yaml', '--state-dir',
                   '--control-port', '--bmc-base-port', '--ready-file',
                   'power_loss', 'SIGTERM'):
        assert option in text
