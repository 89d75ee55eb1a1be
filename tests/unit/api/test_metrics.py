"""Cluster gauges from a snapshot, and the local coordinator's view."""

from types import SimpleNamespace

import pytest

from vmr_coordinator import metrics
from vmr_coordinator.snapshot import HostRecord, Snapshot


def families(snap):
    out = {}
    for family in metrics.snapshot_metrics(snap):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = \
                sample.value
    return out


def test_snapshot_gauges():
    hosts = {'a': HostRecord('a', {'state': 'up'}, 1),
             'b': HostRecord('b', {'state': 'failed'}, 2),
             'c': HostRecord('c', {'state': 'weird'}, 3)}
    journal = {'r1': ({'state': 'done'}, 4), 'r2': ({}, 5)}
    snap = Snapshot(9, hosts, {'a': object()}, journal, {}, {}, None,
                    {'zones': {}}, None, [])
    s = families(snap)
    assert s[('vmr_hosts', (('state', 'up'),))] == 1
    assert s[('vmr_hosts', (('state', 'fenced'),))] == 0
    # An unknown state is still counted, not dropped.
    assert s[('vmr_hosts', (('state', 'weird'),))] == 1
    assert s[('vmr_recoveries', (('state', 'done'),))] == 1
    assert s[('vmr_recoveries', (('state', 'detected'),))] == 1
    assert s[('vmr_brake_engaged', ())] == 1
    assert s[('vmr_paused', ())] == 0
    assert s[('vmr_agents_live', ())] == 1


def test_coordinator_view():
    assert metrics.coordinator_view(None)['is_leader'] is False
    election = SimpleNamespace(is_leader=lambda: True, token=17)
    coordinator = SimpleNamespace(
        member='ctl-1', last_sentence='no action',
        healer=SimpleNamespace(election=election, cycle_seconds=0.01,
                               cycles=5))
    view = metrics.coordinator_view(coordinator)
    assert view == {'member': 'ctl-1', 'is_leader': True, 'token': 17,
                    'sentence': 'no action', 'cycle_seconds': 0.01,
                    'cycles': 5}

    def broken():
        raise RuntimeError('half started')
    election.is_leader = broken
    assert metrics.coordinator_view(coordinator)['is_leader'] is False


def test_observe_by_kind():
    before = metrics.FENCE.collect()[0]
    count = next(s.value for s in before.samples
                 if s.name == 'vmr_fence_seconds_count')
    metrics.observe('fence', 2.0)
    after = metrics.FENCE.collect()[0]
    assert next(s.value for s in after.samples
                if s.name == 'vmr_fence_seconds_count') == count + 1
    with pytest.raises(ValueError, match='detection'):
        metrics.observe('fencing', 1.0)


def test_steps_blocked_since_and_journal_size():
    journal = {
        'r1': ({'state': 'acting', 'host': 'c1', 'steps': [
            {'state': 'done'}, {'state': 'failed'}, {'state': 'running'}]},
            4),
        'r2': ({'state': 'blocked', 'host': 'c2', 'updated_at': 50.0,
                'timeline': [{'at': 10.0, 'event': 'blocked'},
                             {'at': 20.0, 'event': 'fencing'},
                             {'at': 30.0, 'event': 'blocked'},
                             {'at': 40.0, 'event': 'retry'}]}, 5),
        'r3': ({'state': 'blocked', 'host': 'c3', 'updated_at': 70.0}, 6),
        'r4': ({'state': 'done', 'steps': [{'state': 'failed'}, 'junk']}, 7),
    }
    snap = Snapshot(9, {}, {}, journal, {}, {}, None, None, None, [])
    s = families(snap)
    assert s[('vmr_steps', (('state', 'failed'),))] == 2
    assert s[('vmr_steps', (('state', 'done'),))] == 1
    assert s[('vmr_steps', (('state', 'pending'),))] == 0
    # the latest "blocked" event, else the last update
    assert s[('vmr_recovery_blocked_since_timestamp_seconds',
              (('host', 'c2'), ('recovery', 'r2')))] == 30.0
    assert s[('vmr_recovery_blocked_since_timestamp_seconds',
              (('host', 'c3'), ('recovery', 'r3')))] == 70.0
    assert not [k for k in s if k[0].startswith('vmr_recovery_blocked')
                and ('recovery', 'r1') in k[1]]
    assert s[('vmr_journal_records', ())] == 4


def test_fence_failures_count_by_driver():
    def value(driver):
        return next((s.value for s in metrics.FENCE_FAILURES.collect()[0]
                     .samples if s.name == 'vmr_fence_failures_total' and
                     s.labels == {'driver': driver}), 0.0)
    before = value('ipmi')
    metrics.observe('fence_failure', 1, driver='ipmi')
    metrics.observe('fence_failure', 2, driver='ipmi')
    assert value('ipmi') == before + 3


def test_doc_metrics_is_current():
    import os
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'doc',
                        'metrics.rst')
    with open(path, encoding='utf-8') as handle:
        assert handle.read() == metrics.reference_rst(), (
            'doc/metrics.rst is stale: run python -m vmr_coordinator.metrics '
            '> doc/metrics.rst')


def test_every_served_series_is_described():
    names = {name for name, _kind, _labels, _doc in metrics.describe()}
    journal = {'r': ({'state': 'blocked', 'steps': [{'state': 'done'}]}, 1)}
    snap = Snapshot(9, {}, {}, journal, {}, {}, None, None, None, [])
    for family in metrics.snapshot_metrics(snap):
        assert family.name in names
    assert all(doc for _n, _k, _l, doc in metrics.describe())


def test_a_record_without_a_state_is_counted_not_a_crash():
    journal = {'r1': ({'state': None, 'steps': [{'state': None},
                                                {'state': 'done'}]}, 4)}
    snap = Snapshot(9, {}, {}, journal, {}, {}, None, None, None, [])
    s = families(snap)
    assert s[('vmr_steps', (('state', 'None'),))] == 1
    assert s[('vmr_steps', (('state', 'done'),))] == 1
    assert s[('vmr_recoveries', (('state', 'None'),))] == 1
