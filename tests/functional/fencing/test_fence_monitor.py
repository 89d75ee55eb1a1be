"""The leader's fence path monitor against the lab's virtual IPMI BMCs and a
real etcd: a dead BMC reads as not ok, a live one as ok, nothing is
switched, hosts being fenced are left alone, a deposed leader records
nothing and never more than ``concurrency`` checks run at once."""

import logging
import os
import threading

import pytest
import yaml
from oslo_config import cfg

from tests.procs import wait_for
from vmr_common import conf as vmr_conf
from vmr_coordinator import election as election_mod
from vmr_coordinator import metrics
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.api.resources.cluster import fence_paths_view
from vmr_coordinator.fencing import check
from vmr_coordinator.fencing import monitor as monitor_mod
from vmr_coordinator.fencing.profiles import FenceProfiles

GROUP = 'vmr-agents'


@pytest.fixture
def full_conf():
    conf = cfg.ConfigOpts()
    vmr_conf.register_all(conf)
    conf([], project='vmr', default_config_files=[])
    conf.set_override('host', 'controller-test')
    conf.set_override('poll_interval', 0.05, 'fencing')
    return conf


@pytest.fixture
def leader(store):
    election = election_mod.Election(store, 'controller-test', ttl=60,
                                     margin=1)
    assert election.step()
    yield election
    election.resign()


def write_profiles(path, bmcs, timeout=1):
    """One ipmi rung per host, behind its own BMC."""
    hosts = {host: {'address': bmc.address, 'port': bmc.port,
                    'password': bmc.password}
             for host, bmc in bmcs.items()}
    path.write_text(yaml.safe_dump({'profiles': {'rack': {
        'hosts': hosts,
        'ladder': [{'driver': 'ipmi', 'username': next(
            iter(bmcs.values())).username, 'timeout': timeout}]}}}))
    os.chmod(path, 0o600)
    return str(path)


def make_monitor(full_conf, store, leader, path, interval=0.5,
                 concurrency=2, check_ladder=check.check_ladder):
    return monitor_mod.FencePathMonitor(
        full_conf, store, leader,
        snapshot=lambda: snapshot_mod.take(store, GROUP),
        profiles=lambda: FenceProfiles.load(path), interval=interval,
        concurrency=concurrency, check_ladder=check_ladder)


def add_host(store, host, state='up'):
    store.put(store.keys.host(host), {'host': host, 'state': state,
                                      'agent': {}})


def test_a_dead_bmc_is_not_ok_a_live_one_is(full_conf, store, leader,
                                            make_bmc, tmp_path, caplog):
    live, dead, fencing = make_bmc(), make_bmc(), make_bmc()
    dead.handle.unreachable(True)
    path = write_profiles(tmp_path / 'profiles.yaml', {
        'compute-1': live, 'compute-2': dead, 'compute-3': fencing})
    for host in ('compute-1', 'compute-2'):
        add_host(store, host)
    add_host(store, 'compute-3', state='fencing')
    # a result left from a host that is gone since
    store.put(store.keys.fence_check('compute-9'), {'host': 'compute-9',
                                                    'ok': True})
    monitor = make_monitor(full_conf, store, leader, path)

    with caplog.at_level(logging.INFO, logger=monitor_mod.__name__):
        assert monitor.run_round(wait=True) == 2
    checks = monitor_mod.read_results(store)
    assert sorted(checks) == ['compute-1', 'compute-2']   # not the fenced
    assert checks['compute-1']['ok'] is True
    assert checks['compute-1']['rungs'][0]['power_state'] == 'on'
    assert checks['compute-1']['checked_by'] == 'controller-test'
    assert checks['compute-2']['ok'] is False
    assert checks['compute-2']['rungs'][0]['error'] == (
        'BMC 127.0.0.1:%d unreachable after 1.0 s (no answer to login)'
        % dead.port)
    # the metric and the status view say the same
    assert metrics.fence_path_ok(checks) == {('compute-1', 'ipmi'): True,
                                             ('compute-2', 'ipmi'): False}
    gauges = {(s.name, tuple(s.labels.values())): s.value
              for s in metrics.fence_path_metric(checks).samples}
    assert gauges[('vmr_fence_path_ok', ('compute-1', 'ipmi'))] == 1
    assert gauges[('vmr_fence_path_ok', ('compute-2', 'ipmi'))] == 0
    view = fence_paths_view(checks)
    assert view['checked'] == 2
    assert [f['host'] for f in view['failed']] == ['compute-2']
    assert 'unreachable' in view['failed'][0]['why']
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and 'fence path of compute-2 FAILED' in \
        errors[0].getMessage()
    # status only: nothing was switched, passwords never recorded
    assert live.host.requests == dead.host.requests == []
    assert fencing.host.requests == []
    text = repr(checks)
    assert live.password not in text and dead.password not in text

    # the BMC is back: a later round says so (pyghmi may still hold the
    # first round's abandoned login for a few seconds)
    dead.handle.unreachable(False)
    caplog.clear()

    def round_says_ok():
        monitor.run_round(wait=True)
        return monitor_mod.read_results(store)[
            'compute-2']['ok']
    with caplog.at_level(logging.INFO, logger=monitor_mod.__name__):
        wait_for(round_says_ok, 30, interval=0.5,
                 message='the revived BMC checked ok')
    assert any('fence path of compute-2 works again' in r.getMessage()
               for r in caplog.records)


def test_a_missing_profiles_file_is_one_error_not_one_per_host(
        full_conf, store, leader, tmp_path, caplog):
    for i in range(5):
        add_host(store, 'compute-%d' % i)
    missing = tmp_path / 'absent.yaml'
    monitor = make_monitor(full_conf, store, leader, str(missing))

    with caplog.at_level(logging.INFO, logger=monitor_mod.__name__):
        assert monitor.run_round(wait=True) == 5
        assert monitor.run_round(wait=True) == 5
    checks = monitor_mod.read_results(store)
    assert len(checks) == 5 and not any(c['ok'] for c in checks.values())
    assert all('cannot be read' in c['error'] for c in checks.values())
    errors = [r.getMessage() for r in caplog.records
              if r.levelno == logging.ERROR]
    assert len(errors) == 1, errors      # the cause, once over two rounds
    assert str(missing) in errors[0] and 'no host can be fenced' in errors[0]

    # the file appears (for other hosts): its return is said once
    missing.write_text(yaml.safe_dump({'profiles': {'rack': {
        'hosts': {'other': {'address': '127.0.0.1', 'port': 1,
                            'password': 'x'}},
        'ladder': [{'driver': 'ipmi', 'username': 'admin'}]}}}))
    os.chmod(missing, 0o600)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=monitor_mod.__name__):
        monitor.run_round(wait=True)
    assert any('fence profiles load again' in r.getMessage()
               for r in caplog.records)


def test_a_deposed_leader_records_nothing(full_conf, store, leader,
                                          make_bmc, tmp_path):
    path = write_profiles(tmp_path / 'profiles.yaml',
                          {'compute-1': make_bmc()})
    add_host(store, 'compute-1')
    monitor = make_monitor(full_conf, store, leader, path)
    guard = leader.guard
    leader.resign()
    assert monitor.run_round(wait=True) == 0
    # a check already under way when leadership was lost cannot write
    from vmr_common import exceptions
    profiles = FenceProfiles.load(path)
    with pytest.raises(exceptions.LeadershipLost):
        monitor.check_host('compute-1', guard, profiles)
    assert store.get(store.keys.fence_check('compute-1')) is None


def test_never_more_than_concurrency_checks_at_once(full_conf, store, leader,
                                                    make_bmc, tmp_path):
    bmcs = {'compute-%d' % i: make_bmc() for i in range(1, 6)}
    for bmc in bmcs.values():
        bmc.handle.unreachable(True)     # each check holds its slot ~1 s
    path = write_profiles(tmp_path / 'profiles.yaml', bmcs)
    for host in bmcs:
        add_host(store, host)
    lock = threading.Lock()
    running, peak = [0], [0]

    def counting(*args, **kwargs):
        # the real status-only check, counted
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return check.check_ladder(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    # the interval would start all five within 0.1 s: the slots decide
    monitor = make_monitor(full_conf, store, leader, path, interval=0.1,
                           concurrency=2, check_ladder=counting)
    assert monitor.run_round(wait=True) == 5
    assert peak[0] == 2
    checks = monitor_mod.read_results(store)
    assert sorted(checks) == sorted(bmcs)
    assert not any(record['ok'] for record in checks.values())


def test_the_thread_checks_while_leader(full_conf, store, leader, make_bmc,
                                        tmp_path):
    path = write_profiles(tmp_path / 'profiles.yaml',
                          {'compute-1': make_bmc()})
    add_host(store, 'compute-1')
    monitor = make_monitor(full_conf, store, leader, path, interval=0.5)
    monitor.start()
    try:
        wait_for(lambda: monitor.rounds >= 2, 20,
                 message='two rounds of checks')
        assert monitor_mod.read_results(store)[
            'compute-1']['ok']
    finally:
        monitor.stop()
