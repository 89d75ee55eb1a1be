"""Trigger plugins: loading, event checks, matching, scope and wording."""

import pytest

from tests.unit.contracts.samples import server
from vmr_coordinator.triggers.alarm import Alarm
from vmr_coordinator.triggers.base import (Trigger, TriggerEventError, TriggerNotFound,
                                           installed_triggers, load_trigger)
from vmr_coordinator.triggers.host_down import HostDown
from vmr_coordinator.triggers.instance_down import InstanceDown
from vmr_coordinator.triggers.maintenance import Maintenance
from vmr_coordinator.triggers.manual import Manual
from vmr_coordinator.triggers.process_down import ProcessDown

ALL = {'host_down': HostDown, 'instance_down': InstanceDown, 'process_down': ProcessDown,
       'alarm': Alarm, 'maintenance': Maintenance, 'manual': Manual}


@pytest.mark.parametrize('name, cls', ALL.items())
def test_every_trigger_loads_through_its_entry_point(name, cls):
    trigger = load_trigger(name)
    assert isinstance(trigger, cls) and isinstance(trigger, Trigger)
    assert trigger.type == name


def test_installed_triggers():
    assert set(installed_triggers()) >= set(ALL)


@pytest.mark.parametrize('name', ['host-down', '', 'fence'])
def test_unknown_trigger_names_the_namespace_and_the_choices(name):
    with pytest.raises(TriggerNotFound) as info:
        load_trigger(name)
    message = str(info.value)
    assert 'vmr.triggers' in message and 'host_down' in message and repr(name) in message


@pytest.mark.parametrize('name', [None, 5, ['host_down']])
def test_non_string_trigger_names(name):
    with pytest.raises(TriggerNotFound):
        load_trigger(name)


@pytest.mark.parametrize('event, words', [
    ({'type': 'host_down'}, "needs field 'host'"),
    ({'type': 'host_down', 'host': ''}, "needs field 'host'"),
    ({'type': 'host_down', 'host': 3}, 'a string'),
    ({'type': 'maintenance'}, "needs field 'host'"),
    ({'type': 'process_down', 'host': 'c1'}, "needs field 'process'"),
    ({'type': 'instance_down', 'server_id': 's'}, "needs field 'status'"),
    ({'type': 'alarm', 'source': 'aodh'}, "needs field 'name'"),
    ({'type': 'alarm', 'source': 'nagios', 'name': 'x'}, 'aodh, alertmanager'),
    ({'type': 'alarm', 'source': 'aodh', 'name': 'x', 'labels': []}, '"labels"'),
    ({'type': 'alarm', 'source': 'aodh', 'name': 'x', 'server_ids': 's'}, '"server_ids"'),
    ({'type': 'manual'}, 'names nothing'),
    ({'type': 'manual', 'servers': 'web-1'}, 'list of server ids'),
    ({'type': 'manual', 'servers': [], 'host': 4}, 'host name'),
])
def test_malformed_events_are_refused(event, words):
    with pytest.raises(TriggerEventError) as info:
        load_trigger(event['type']).validate_event(event)
    assert words in str(info.value)


def test_event_of_another_type_is_refused():
    with pytest.raises(TriggerEventError):
        HostDown().validate_event({'type': 'maintenance', 'host': 'c1'})
    with pytest.raises(TriggerEventError):
        HostDown().validate_event(['host_down'])


def test_host_down():
    trigger, event = HostDown(), {'type': 'host_down', 'host': 'compute-3'}
    assert trigger.matches({'type': 'host_down'}, event)
    assert not trigger.matches({'type': 'maintenance'}, event)
    assert not trigger.matches({'type': 'host_down'}, {'type': 'maintenance', 'host': 'c'})
    assert trigger.affects(event, server('a', host='compute-3'))
    assert not trigger.affects(event, server('a', host='compute-4'))
    assert not trigger.affects(event, server('a', host=None))
    assert trigger.describe(event) == 'host compute-3 is down'


def test_maintenance():
    trigger, event = Maintenance(), {'type': 'maintenance', 'host': 'c1'}
    assert trigger.matches({'type': 'maintenance'}, event)
    assert trigger.affects(event, server('a', host='c1'))
    assert trigger.describe(event) == 'host c1 entered maintenance'


def test_process_down_filters_on_the_process():
    trigger = ProcessDown()
    event = {'type': 'process_down', 'host': 'c1', 'process': 'nova-compute'}
    assert trigger.matches({'type': 'process_down'}, event)
    assert trigger.matches({'type': 'process_down', 'process': 'nova-compute'}, event)
    assert not trigger.matches({'type': 'process_down', 'process': 'libvirtd'}, event)
    assert trigger.affects(event, server('a', host='c1'))
    assert trigger.describe(event) == 'nova-compute is down on c1'


def test_instance_down_filters_on_the_status():
    trigger = InstanceDown()
    event = {'type': 'instance_down', 'server_id': 'id-a', 'status': 'SHUTOFF', 'host': 'c1'}
    assert trigger.matches({'type': 'instance_down'}, event)  # default ERROR, SHUTOFF
    assert trigger.matches({'type': 'instance_down', 'statuses': ['SHUTOFF']}, event)
    assert not trigger.matches({'type': 'instance_down', 'statuses': ['ERROR']}, event)
    assert trigger.matches({'type': 'instance_down', 'statuses': ['SHUTOFF']},
                           {**event, 'status': 'shutoff'})
    assert trigger.affects(event, server('a'))
    assert not trigger.affects(event, server('b', host='c1'))
    assert trigger.describe(event) == 'server id-a is SHUTOFF on c1'


def test_alarm_matching_by_source_name_glob_and_labels():
    trigger = Alarm()
    event = {'type': 'alarm', 'source': 'alertmanager', 'name': 'NodeDiskFailing',
             'labels': {'severity': 'critical', 'team': 'cloud'}}
    assert trigger.matches({'type': 'alarm', 'name': 'NodeDiskFailing'}, event)
    assert trigger.matches({'type': 'alarm', 'name': 'Node*'}, event)
    assert trigger.matches({'type': 'alarm', 'name': 'Node?isk[EF]ailing'}, event)
    assert not trigger.matches({'type': 'alarm', 'name': 'node*'}, event)  # case-sensitive
    assert not trigger.matches({'type': 'alarm', 'name': 'NodeDisk'}, event)
    assert trigger.matches({'type': 'alarm', 'name': '*', 'source': 'alertmanager'}, event)
    assert not trigger.matches({'type': 'alarm', 'name': '*', 'source': 'aodh'}, event)
    assert trigger.matches({'type': 'alarm', 'name': '*', 'labels': {'team': 'cloud'}}, event)
    assert trigger.matches({'type': 'alarm', 'name': '*',
                            'labels': {'team': 'cloud', 'severity': 'critical'}}, event)
    assert not trigger.matches({'type': 'alarm', 'name': '*',
                                'labels': {'severity': 'warning'}}, event)
    assert not trigger.matches({'type': 'alarm', 'name': '*', 'labels': {'dc': 'x'}}, event)


def test_alarm_scope_servers_then_host_then_everything():
    trigger = Alarm()
    base = {'type': 'alarm', 'source': 'aodh', 'name': 'x'}
    by_id = {**base, 'server_ids': ['id-a'], 'host': 'c1'}
    assert trigger.affects(by_id, server('a', host='c9'))
    assert not trigger.affects(by_id, server('b', host='c1'))
    by_host = {**base, 'host': 'c1'}
    assert trigger.affects(by_host, server('b', host='c1'))
    assert not trigger.affects(by_host, server('b', host='c2'))
    assert trigger.affects(base, server('z', host='anywhere'))


def test_alarm_description():
    trigger = Alarm()
    event = {'type': 'alarm', 'source': 'aodh', 'name': 'cpu', 'severity': 'critical',
             'server_ids': ['a', 'b']}
    assert trigger.describe(event) == "aodh alarm 'cpu' fired on 2 servers, severity critical"
    assert trigger.describe({'type': 'alarm', 'source': 'alertmanager', 'name': 'N',
                             'host': 'c1'}) == "alertmanager alarm 'N' fired on host c1"


def test_manual_by_servers_and_host():
    trigger = Manual()
    event = {'type': 'manual', 'servers': ['web-1', 'id-db'], 'requested_by': 'alice'}
    trigger.validate_event(event)
    assert trigger.matches({'type': 'manual'}, event)
    assert trigger.affects(event, server('web-1', host='c7'))
    assert trigger.affects(event, server('db'))
    assert not trigger.affects(event, server('web-2'))
    assert trigger.describe(event) == 'manual recovery of 2 servers by alice'
    by_host = {'type': 'manual', 'host': 'c1'}
    trigger.validate_event(by_host)
    assert trigger.affects(by_host, server('x', host='c1'))
    assert trigger.describe(by_host) == 'manual recovery of host c1'


@pytest.mark.parametrize('cls', ALL.values())
def test_matches_never_raises_on_garbage(cls):
    trigger = cls()
    for spec, event in [(None, None), ({}, {}), ({'type': cls.type}, {'type': cls.type}),
                        ({'type': cls.type, 'name': 5}, {'type': cls.type, 'name': None,
                                                         'labels': 'x'})]:
        assert trigger.matches(spec, event) in (True, False)
