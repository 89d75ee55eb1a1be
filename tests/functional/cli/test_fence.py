"""``vmr fence test HOST`` through the real API against virtual IPMI BMCs.

The BMCs are the lab's (pyghmi's BMC server on 127.0.0.1); the power state
of each simulated host records every change a BMC was asked for, so the
tests prove a status-only test switches nothing.
"""

import json
import os
import uuid

import pytest
import yaml

from vmr_lab.bmc import BmcServer, PowerState
from vmr_lab.ports import free_udp_port

USER = 'fence-admin'


@pytest.fixture(scope='module')
def bmc_server():
    server = BmcServer(address='127.0.0.1').start()
    yield server
    server.stop()


@pytest.fixture
def lab_host(bmc_server, api, tmp_path):
    """compute-1 behind a BMC; a profiles file whose first rung has a wrong
    password and whose second is right."""
    power = PowerState()
    name = 'bmc-%s' % uuid.uuid4().hex[:8]
    password = 'pw-%s' % uuid.uuid4().hex[:8]
    handle = bmc_server.add(name, free_udp_port(), USER, password,
                            power.get_power, power.set_power)

    def write(ladder_passwords):
        data = {'profiles': {'rack': {
            'hosts': {'compute-1': {'address': '127.0.0.1',
                                    'port': handle.port}},
            'ladder': [{'driver': 'ipmi', 'username': USER, 'password': pw,
                        'timeout': 3} for pw in ladder_passwords]}}}
        path = tmp_path / 'fence-profiles.yaml'
        path.write_text(yaml.safe_dump(data))
        os.chmod(path, 0o600)
        api.conf.set_override('profiles_file', str(path), 'fencing')
        api.conf.set_override('poll_interval', 0.05, 'fencing')

    write(['wrong-password', password])
    power.write = write
    power.password = password
    yield power
    bmc_server.remove(name)
    api.conf.clear_override('profiles_file', 'fencing')
    api.conf.clear_override('poll_interval', 'fencing')


def test_status_only_through_every_rung(vmr, lab_host):
    out, _err = vmr('fence', 'test', 'compute-1', '-f', 'value')
    rows = [line.split(' ', 3) for line in out.strip().splitlines()]
    # rung, driver, result, seconds (-f value: space separated)
    assert [r[0:2] for r in rows] == [['rung', '1'], ['rung', '2']]
    first, second = out.strip().splitlines()
    assert first.startswith('rung 1 ipmi FAILED: BMC 127.0.0.1:')
    assert "rejected the credentials of user 'fence-admin'" in first
    assert 'wrong-password' not in out
    assert second.startswith('rung 2 ipmi ok: power on ')
    assert lab_host.requests == [], 'a status test switched power'


def test_table_and_a_broken_path_exit_1(vmr, lab_host):
    out, _err = vmr('fence', 'test', 'compute-1')
    assert 'fence path of compute-1 (profile rack, tested by ' \
           'controller-test): ok' in out
    lab_host.write(['wrong-password'])
    out, _err = vmr('fence', 'test', 'compute-1', expect=1)
    assert 'fence path of compute-1 (profile rack, tested by ' \
           'controller-test): BROKEN, no rung answered' in out
    out, err = vmr('fence', 'test', 'compute-9', expect=1)
    assert 'no fence profile for host' in err
    assert lab_host.requests == []


def test_power_cycle_needs_yes_and_maintenance(vmr, api, lab_host):
    _out, err = vmr('fence', 'test', 'compute-1', '--power-cycle', expect=1)
    assert 'refusing to power cycle compute-1 without --yes' in err
    api.add_host('compute-1')
    _out, err = vmr('fence', 'test', 'compute-1', '--power-cycle', '--yes',
                    expect=1)
    assert 'host compute-1 is not in maintenance' in err
    assert lab_host.requests == []
    api.add_host('compute-1', maintenance=True)
    out, _err = vmr('fence', 'test', 'compute-1', '--power-cycle', '--yes')
    assert 'power cycle via ipmi in ' in out
    assert lab_host.requests == ['off', 'on']
    assert lab_host.power == 'on'


def test_status_names_a_host_whose_fence_path_failed(vmr, api, lab_host):
    """The leader's fence path monitor records its checks in etcd; `vmr
    status` (any coordinator's API) names the hosts that failed."""
    from vmr_coordinator import election as election_mod
    from vmr_coordinator import snapshot as snapshot_mod
    from vmr_coordinator.fencing import monitor as monitor_mod
    from vmr_coordinator.fencing.profiles import FenceProfiles
    out, _ = vmr('status', '-f', 'value', '-c', 'fence_paths')
    assert out.strip() == 'not checked yet'
    api.add_host('compute-1')
    lab_host.write(['wrong-password'])
    election = election_mod.Election(api.store, 'controller-test', ttl=60,
                                     margin=1)
    assert election.step()
    try:
        checker = monitor_mod.FencePathMonitor(
            api.conf, api.store, election,
            snapshot=lambda: snapshot_mod.take(api.store,
                                               api.conf.heartbeat.group),
            profiles=lambda: FenceProfiles.load(
                api.conf.fencing.profiles_file),
            interval=0.1, concurrency=1)
        assert checker.run_round(wait=True) == 1
        out, _ = vmr('status', '-f', 'value', '-c', 'fence_paths')
        assert out.strip().startswith(
            '1 hosts checked; FAILED: compute-1 (ipmi: BMC 127.0.0.1:')
        assert "rejected the credentials of user 'fence-admin'" in out
        assert 'wrong-password' not in out
        # vmr host show names the profile and the failed check, in a
        # table no wider than a terminal can hold
        out, _ = vmr('host', 'show', 'compute-1', '-f', 'value', '-c',
                     'fence_profile', '-c', 'fence_path')
        assert out.splitlines()[0] == 'rack: ipmi'
        assert out.splitlines()[1].startswith('FAILED: ipmi: BMC 127.0.0.1:')
        assert 'checked by controller-test' in out
        out, _ = vmr('host', 'show', 'compute-1')
        assert max(len(line) for line in out.splitlines()) < 200, out
        out, _ = vmr('host', 'show', 'compute-1', '-f', 'json')
        shown = json.loads(out)
        assert shown['fence_profile'] == {'profile': 'rack',
                                          'ladder': ['ipmi'], 'post': [],
                                          'error': None}
        assert shown['fence_path']['ok'] is False
        assert 'wrong-password' not in out
        metrics = api.get('/metrics').text
        assert 'vmr_fence_path_ok{driver="ipmi",host="compute-1"} 0.0' \
            in metrics
        lab_host.write([lab_host.password])
        checker.run_round(wait=True)
        out, _ = vmr('status', '-f', 'value', '-c', 'fence_paths')
        assert out.strip() == '1 hosts checked, all ok'
        assert lab_host.requests == []
    finally:
        election.resign()
