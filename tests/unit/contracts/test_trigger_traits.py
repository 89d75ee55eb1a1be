"""Triggers declare what the engine does with their events (needs_fence,
drains_host, sources, ...), and the engine reads those declarations instead
of comparing trigger names."""

import pytest

from tests.plugin_samples import SAMPLE_TRIGGERS
from tests.plugindist import plugin_dist_fixture
from vmr_coordinator import contracts, plugins
from vmr_coordinator import recovery
from vmr_coordinator.journal import RecoveryState
from vmr_coordinator.triggers.base import (EVENT_SOURCES, Trigger, trigger_class,
                                           triggers_fed_by)

plugin_dist = plugin_dist_fixture()

#: what each shipped trigger declares: behaviour the engine relies on
DECLARED = {
    'host_down': (('host-detection',), True, False),
    'instance_down': (('agent-report', 'nova-poll'), False, False),
    'process_down': (('agent-report',), False, False),
    'alarm': (('webhook',), False, False),
    'maintenance': (('host-maintenance',), False, True),
    'manual': (('api-request',), False, False),
}


def _check_declarations(name, cls):
    assert issubclass(cls, Trigger) and cls.type == name
    assert isinstance(cls.sources, tuple) and cls.sources, \
        '%s declares no sources' % name
    assert set(cls.sources) <= set(EVENT_SOURCES), cls.sources
    assert isinstance(cls.needs_fence, bool) and isinstance(cls.drains_host, bool)
    # a drained host is alive: it is never fenced
    assert not (cls.needs_fence and cls.drains_host), name


@pytest.mark.parametrize('name', plugins.names(plugins.TRIGGERS))
def test_every_registered_trigger_declares_its_traits(name):
    _check_declarations(name, plugins.plugin_class(plugins.TRIGGERS, name))


@pytest.mark.parametrize('name, declared', DECLARED.items())
def test_what_the_shipped_triggers_declare(name, declared):
    cls = trigger_class(name)
    assert (cls.sources, cls.needs_fence, cls.drains_host) == declared


def test_an_unknown_trigger_declares_nothing():
    for garbage in ('volcano', None, ['host_down'], 5):
        cls = trigger_class(garbage)
        assert cls is Trigger
        assert (cls.sources, cls.needs_fence, cls.drains_host) == ((), False, False)


def test_sources_name_the_shipped_triggers():
    assert triggers_fed_by('api-request') == ['manual']
    assert triggers_fed_by('nova-poll') == ['instance_down']
    assert triggers_fed_by('agent-report') == ['instance_down', 'process_down']


def _record(kind, state=RecoveryState.DETECTED, **fields):
    return dict({'state': state, 'trigger': {'type': kind, 'host': 'c1'}}, **fields)


@pytest.mark.parametrize('kind, job', [
    ('host_down', 'fence'), ('maintenance', 'plan'), ('manual', 'plan'),
    ('alarm', 'plan'), ('instance_down', 'plan'), ('process_down', 'plan'),
    ('volcano', 'plan'),
])
def test_a_detected_record_is_fenced_when_its_trigger_needs_it(kind, job):
    assert recovery.next_job(_record(kind), now=100) == job


def test_the_other_states_do_not_depend_on_the_trigger():
    for kind in ('host_down', 'manual'):
        assert recovery.next_job(_record(kind, RecoveryState.FENCING), 100) == 'fence'
        assert recovery.next_job(_record(kind, RecoveryState.FENCED), 100) == 'plan'
        assert recovery.next_job(_record(kind, RecoveryState.ACTING), 100) == 'act'
        blocked = _record(kind, RecoveryState.BLOCKED, fencing={'next_retry_at': 150})
        assert recovery.next_job(blocked, 100) is None
        assert recovery.next_job(blocked, 150) == 'retry fence'
        assert recovery.next_job(_record(kind, RecoveryState.DONE), 100) is None


def test_a_registered_trigger_that_needs_a_fence_is_fenced(plugin_dist):
    plugin_dist({plugins.TRIGGERS: SAMPLE_TRIGGERS})
    for name in SAMPLE_TRIGGERS:
        _check_declarations(name, trigger_class(name))
    assert recovery.next_job(_record('fenced_sample'), now=100) == 'fence'


def test_the_nova_poll_asks_what_the_polled_triggers_declare(plugin_dist):
    plugin_dist({plugins.TRIGGERS: SAMPLE_TRIGGERS})
    contracts = [{'trigger': {'type': 'polled_sample'}},
                 {'trigger': {'type': 'fenced_sample', 'statuses': ['ERROR']}},
                 {'trigger': {'type': 'instance_down', 'statuses': ['error']},
                  'enabled': False}]
    assert recovery.polled_statuses(contracts) == ('PAUSED',)
    contracts.append({'trigger': {'type': 'instance_down'}})
    assert recovery.polled_statuses(contracts) == ('ERROR', 'SHUTOFF', 'PAUSED')


def test_hold_down_follows_the_polled_triggers(plugin_dist):
    plugin_dist({plugins.TRIGGERS: SAMPLE_TRIGGERS})

    def failed(kind, sid):
        return ({'state': RecoveryState.FAILED, 'updated_at': 100,
                 'trigger': {'type': kind, 'server_id': sid}}, 1)
    journal = {'a': failed('polled_sample', 's1'), 'b': failed('fenced_sample', 's2'),
               'c': failed('instance_down', 's3'), 'd': failed('manual', 's4')}
    assert recovery.held_down(journal, now=110, hold=60) == {'s1': 160, 's3': 160}


def test_the_refused_pairs_are_what_the_triggers_declare():
    assert sorted(contracts.REFUSED_PAIRS) == sorted([
        ('host_down', 'live_migrate'), ('host_down', 'rebuild'), ('host_down', 'reboot'),
        ('host_down', 'suspend'), ('host_down', 'resume'),
        ('instance_down', 'evacuate'), ('instance_down', 'live_migrate'),
        ('instance_down', 'suspend'),
        ('maintenance', 'evacuate'), ('maintenance', 'rebuild'), ('maintenance', 'reboot'),
        ('maintenance', 'resume'),
        ('process_down', 'resume')])
    for (kind, action), reason in contracts.REFUSED_PAIRS.items():
        assert trigger_class(kind).refused_actions[action] == reason
        assert contracts.incompatibility({'type': kind}, action) == reason


def test_contract_validation_asks_the_trigger(plugin_dist):
    plugin_dist({plugins.TRIGGERS: SAMPLE_TRIGGERS})
    assert contracts.incompatibility({'type': 'fenced_sample'}, 'live_migrate') == \
        'the sample host is dead'
    assert contracts.incompatibility({'type': 'fenced_sample'}, 'evacuate') is None
    assert contracts.incompatibility({'type': 'volcano'}, 'evacuate') is None


def test_a_retry_is_due_when_the_wall_clock_stepped_back_past_its_back_off():
    from vmr_coordinator.recovery import decide
    # written at 1000 with a 300 s back-off: due at 1300
    assert not decide.due(1300, 1000, 300) and decide.due(1300, 1300, 300)
    # the clock stepped back an hour: no back-off is that long -- due now
    assert decide.due(1300, 1000 - 3600, 300)
    blocked = _record('host_down', RecoveryState.BLOCKED,
                      fencing={'next_retry_at': 1300})
    assert recovery.next_job(blocked, 1100, 300) is None
    assert recovery.next_job(blocked, 1000 - 3600, 300) == 'retry fence'
