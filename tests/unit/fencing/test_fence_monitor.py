"""The fence path monitor's pure parts: which hosts, when, what is recorded,
and how the metric reads the records."""

from vmr_coordinator import metrics
from vmr_coordinator.api.resources.cluster import fence_paths_view
from vmr_coordinator.fencing import monitor
from vmr_coordinator.snapshot import HostRecord, Snapshot


def snapshot(states):
    hosts = {name: HostRecord(name, {'state': state}, 1)
             for name, state in states.items()}
    return Snapshot(1, hosts, {}, {}, {}, {}, None, None, None, [])


def rung(driver, ok, error=None, index=1, kind='ladder'):
    return {'kind': kind, 'index': index, 'driver': driver, 'ok': ok,
            'power_state': 'on' if ok else None, 'error': error,
            'seconds': 0.1}


def test_hosts_being_fenced_or_about_to_be_are_never_checked():
    snap = snapshot({'c-3': 'up', 'c-1': 'maintenance', 'c-2': 'failed',
                     'c-4': 'fencing', 'c-5': 'blocked', 'c-6': 'fenced',
                     'c-7': 'suspect', 'c-8': 'partitioned'})
    assert monitor.due_hosts(snap) == ['c-1', 'c-3', 'c-6']


def test_checks_are_spread_over_the_interval():
    assert monitor.spread([], 300) == []
    assert monitor.spread(['a', 'b', 'c', 'd'], 300) == [
        (0.0, 'a'), (75.0, 'b'), (150.0, 'c'), (225.0, 'd')]


def test_ok_only_when_every_rung_answered():
    good = monitor.result_record('c-1', 'rack', [rung('ipmi', True)], 5.0,
                                 'ctl-1')
    assert good['ok'] is True and good['error'] is None
    assert good['checked_by'] == 'ctl-1' and good['profile'] == 'rack'
    half = monitor.result_record('c-1', 'rack', [
        rung('ipmi', False, 'BMC unreachable'),
        rung('fence_agent', True, index=2),
        rung('nova_force_down', False, 'no cloud', kind='post')], 5.0, 'x')
    assert half['ok'] is False
    assert monitor.failure_summary(half) == (
        'ipmi: BMC unreachable; nova_force_down: no cloud')
    none = monitor.result_record('c-1', None, [], 5.0, 'x',
                                 error='no fence profile for host c-1')
    assert none['ok'] is False
    assert monitor.failure_summary(none) == 'no fence profile for host c-1'


def test_metric_per_host_and_driver():
    checks = {
        'c-1': monitor.result_record('c-1', 'p', [
            rung('ipmi', True), rung('ipmi', False, 'x', index=2),
            rung('redfish', True, index=3)], 1.0, 'x'),
        'c-2': monitor.result_record('c-2', None, [], 1.0, 'x', error='e'),
    }
    assert metrics.fence_path_ok(checks) == {
        ('c-1', 'ipmi'): False, ('c-1', 'redfish'): True,
        ('c-2', 'none'): False}


def test_status_view_names_the_failed_hosts():
    checks = {
        'c-1': monitor.result_record('c-1', 'p', [rung('ipmi', True)], 7.0,
                                     'x'),
        'c-2': monitor.result_record('c-2', 'p', [rung('ipmi', False, 'dead')],
                                     5.0, 'x'),
    }
    assert fence_paths_view(checks) == {
        'checked': 2, 'oldest_check': 5.0,
        'failed': [{'host': 'c-2', 'checked_at': 5.0, 'why': 'ipmi: dead'}]}
    assert fence_paths_view({}) == {'checked': 0, 'failed': [],
                                    'oldest_check': None}
