"""Real Aodh and Alertmanager webhook bodies become trigger events."""

import json

import pytest

from vmr_coordinator.triggers.alarm import (
    Alarm,
    AlarmPayloadError,
    incident_key,
    parse_aodh,
    parse_alertmanager,
)
from vmr_coordinator.triggers.base import TriggerEventError
from vmr_coordinator.triggers.manual import Manual

SERVER = '7f3a1c2e-9b4d-4e5f-8a6b-1c2d3e4f5a6b'

# Shape of aodh/notifier/rest.py's body for an event alarm (reason_data carries
# the Ceilometer event with traits as [name, dtype, value]).
AODH_EVENT_ALARM = {
    'alarm_id': 'b1a2c3d4-0000-4000-8000-000000000001',
    'alarm_name': 'instance-error-web',
    'severity': 'critical',
    'previous': 'insufficient data',
    'current': 'alarm',
    'reason': 'Event <id=1,event_type=compute.instance.update> hits the query',
    'reason_data': {
        'type': 'event',
        'event': {
            'message_id': 'a0c7e5b2-1111-4111-8111-111111111111',
            'event_type': 'compute.instance.update',
            'generated': '2026-11-27T10:02:38.305378',
            'traits': [['instance_id', 1, SERVER], ['host', 1, 'compute-3'],
                       ['state', 1, 'error'], ['project_id', 1, 'p1'],
                       ['memory_mb', 2, 2048]],
            'raw': {},
        },
    },
}

# A threshold alarm carries no resource in its body.
AODH_THRESHOLD_ALARM = {
    'alarm_id': 'b1a2c3d4-0000-4000-8000-000000000002', 'alarm_name': 'cpu-high',
    'severity': 'low', 'previous': 'ok', 'current': 'alarm',
    'reason': 'Transition to alarm due to 3 samples outside threshold, most recent: 95.0',
    'reason_data': {'type': 'threshold', 'disposition': 'outside', 'count': 3,
                    'most_recent': 95.0},
}

ALERTMANAGER = {
    'version': '4',
    'groupKey': '{}:{alertname="NodeDown"}',
    'truncatedAlerts': 0,
    'status': 'firing',
    'receiver': 'vmr',
    'groupLabels': {'alertname': 'NodeDown'},
    'commonLabels': {'alertname': 'NodeDown', 'severity': 'critical'},
    'commonAnnotations': {},
    'externalURL': 'http://alertmanager:9093',
    'alerts': [
        {'status': 'firing',
         'labels': {'alertname': 'NodeDown', 'severity': 'critical',
                    'instance': 'compute-3.example.com:9100', 'job': 'node'},
         'annotations': {'summary': 'compute-3 is down'},
         'startsAt': '2026-11-27T10:00:00Z', 'endsAt': '0001-01-01T00:00:00Z',
         'generatorURL': 'http://prometheus/graph', 'fingerprint': 'a1b2c3d4e5f60718'},
        {'status': 'resolved',
         'labels': {'alertname': 'NodeDown', 'severity': 'critical', 'instance': 'c4:9100'},
         'annotations': {}, 'startsAt': '2026-11-27T09:00:00Z',
         'endsAt': '2026-11-27T09:30:00Z', 'generatorURL': '', 'fingerprint': 'ffff'},
        {'status': 'firing',
         'labels': {'alertname': 'InstanceUnhealthy', 'server_id': SERVER,
                    'host': 'compute-5'},
         'annotations': {'description': 'guest agent silent'},
         'startsAt': '2026-11-27T10:01:00Z', 'endsAt': '0001-01-01T00:00:00Z',
         'generatorURL': '', 'fingerprint': '0102030405060708'},
    ],
}


def test_aodh_event_alarm():
    [event] = parse_aodh(AODH_EVENT_ALARM)
    assert event['type'] == 'alarm' and event['source'] == 'aodh'
    assert event['name'] == 'instance-error-web'
    assert event['id'] == AODH_EVENT_ALARM['alarm_id']
    assert event['server_ids'] == [SERVER]
    assert event['host'] == 'compute-3'
    assert event['labels']['state'] == 'error'
    assert event['labels']['memory_mb'] == '2048'
    assert event['labels']['severity'] == 'critical'
    assert event['labels']['event_type'] == 'compute.instance.update'
    assert event['severity'] == 'critical'
    assert event['reason'].startswith('Event <id=1')


def test_aodh_threshold_alarm_names_no_target():
    [event] = parse_aodh(json.dumps(AODH_THRESHOLD_ALARM))
    assert event['server_ids'] == [] and 'host' not in event
    assert event['labels'] == {'severity': 'low'}


def test_aodh_traits_as_dicts():
    body = dict(AODH_EVENT_ALARM, reason_data={'type': 'event', 'event': {
        'traits': [{'name': 'instance_id', 'dtype': 1, 'value': SERVER}]}})
    assert parse_aodh(body)[0]['server_ids'] == [SERVER]


@pytest.mark.parametrize('state', ['ok', 'insufficient data'])
def test_aodh_cleared_alarms_produce_no_event(state):
    assert parse_aodh(dict(AODH_EVENT_ALARM, current=state)) == []


@pytest.mark.parametrize('body, words', [
    ('not json', 'not JSON'),
    (b'\xff', 'not UTF-8'),
    ([], 'JSON object'),
    ({'alarm_name': 'x', 'current': 'alarm'}, "'alarm_id'"),
    ({'alarm_id': 'i', 'current': 'alarm'}, "'alarm_name'"),
    ({'alarm_id': 'i', 'alarm_name': 'x', 'current': 5}, "'current'"),
])
def test_aodh_malformed(body, words):
    with pytest.raises(AlarmPayloadError) as info:
        parse_aodh(body)
    assert words in str(info.value)


def test_alertmanager_one_event_per_firing_alert():
    events = parse_alertmanager(json.dumps(ALERTMANAGER).encode())
    assert [e['name'] for e in events] == ['NodeDown', 'InstanceUnhealthy']
    node, instance = events
    assert node['host'] == 'compute-3.example.com' and node['server_ids'] == []
    assert node['labels']['job'] == 'node'
    assert node['severity'] == 'critical'
    assert node['id'] == 'a1b2c3d4e5f60718'
    assert node['reason'] == 'compute-3 is down'
    assert node['starts_at'] == '2026-11-27T10:00:00Z'
    assert node['receiver'] == 'vmr'
    assert instance['server_ids'] == [SERVER] and instance['host'] == 'compute-5'
    assert instance['reason'] == 'guest agent silent'


def test_alertmanager_resolved_group_produces_nothing():
    body = dict(ALERTMANAGER, status='resolved',
                alerts=[dict(a, status='resolved') for a in ALERTMANAGER['alerts']])
    assert parse_alertmanager(body) == []


def test_alertmanager_alert_status_falls_back_to_the_group_status():
    alert = {k: v for k, v in ALERTMANAGER['alerts'][0].items() if k != 'status'}
    assert len(parse_alertmanager(dict(ALERTMANAGER, alerts=[alert]))) == 1


@pytest.mark.parametrize('instance, host, servers', [
    ('compute-3:9100', 'compute-3', []),
    ('10.0.0.5:9100', '10.0.0.5', []),
    ('[fd00::5]:9100', 'fd00::5', []),
    ('compute-3', 'compute-3', []),
    (SERVER, None, [SERVER]),
])
def test_alertmanager_instance_label(instance, host, servers):
    alert = {'status': 'firing', 'labels': {'alertname': 'X', 'instance': instance}}
    [event] = parse_alertmanager({'version': '4', 'status': 'firing', 'alerts': [alert]})
    assert event.get('host') == host and event['server_ids'] == servers


@pytest.mark.parametrize('body, words', [
    ({'version': '3', 'alerts': []}, 'version'),
    ({'version': '4'}, '"alerts"'),
    ({'version': '4', 'alerts': [5]}, 'alerts[0] is not an object'),
    ({'version': '4', 'alerts': [{'status': 'firing'}]}, 'no labels'),
    ({'version': '4', 'alerts': [{'status': 'firing', 'labels': {}}]}, 'alertname'),
    ('[]', 'JSON object'),
])
def test_alertmanager_malformed(body, words):
    with pytest.raises(AlarmPayloadError) as info:
        parse_alertmanager(body)
    assert words in str(info.value)


def test_alertmanager_nova_host_label_wins_over_the_exporter_instance():
    alert = {'status': 'firing', 'labels': {
        'alertname': 'X', 'instance': 'compute-3.example.com:9100',
        'nova_host': 'compute-3'}}
    [event] = parse_alertmanager({'version': '4', 'status': 'firing', 'alerts': [alert]})
    assert event['host'] == 'compute-3'


def test_a_re_sent_alert_is_the_same_incident_a_new_firing_is_not():
    first = parse_alertmanager(ALERTMANAGER)
    # What Alertmanager sends when another alert joins the group: the old
    # ones again, unchanged, plus the new one.
    joined = dict(ALERTMANAGER, alerts=ALERTMANAGER['alerts'] + [
        {'status': 'firing', 'labels': {'alertname': 'NodeDown', 'instance': 'c6:9100'},
         'annotations': {}, 'startsAt': '2026-11-27T10:05:00Z',
         'endsAt': '0001-01-01T00:00:00Z', 'generatorURL': '', 'fingerprint': '0606'}])
    again = parse_alertmanager(joined)
    assert [incident_key(e) for e in again[:2]] == [incident_key(e) for e in first]
    assert incident_key(again[2]) not in {incident_key(e) for e in first}
    refired = dict(first[0], starts_at='2026-11-27T11:00:00Z')
    assert incident_key(refired) != incident_key(first[0])
    assert incident_key(first[0]) == ('alertmanager', 'a1b2c3d4e5f60718',
                                      '2026-11-27T10:00:00Z')


def test_aodh_events_and_alerts_without_fingerprint_have_no_incident_key():
    [aodh] = parse_aodh(AODH_EVENT_ALARM)
    assert incident_key(aodh) is None
    alert = {'status': 'firing', 'labels': {'alertname': 'X', 'host': 'c1'}}
    [event] = parse_alertmanager({'version': '4', 'status': 'firing', 'alerts': [alert]})
    assert incident_key(event) is None
    assert incident_key({'type': 'host_down', 'host': 'c1'}) is None


def test_the_alarm_trigger_expands_a_queued_webhook_body():
    """What the engine asks any trigger of a queued event: expand() and
    incident(); the alarm trigger parses the body the API stored as it came."""
    trigger = Alarm()
    queued = {'type': 'alarm', 'source': 'alertmanager', 'body': ALERTMANAGER}
    events = trigger.expand(queued)
    assert events == parse_alertmanager(ALERTMANAGER)
    assert [trigger.incident(e) for e in events] == [incident_key(e) for e in events]
    assert trigger.expand({'type': 'alarm', 'source': 'aodh',
                           'body': AODH_EVENT_ALARM}) == parse_aodh(AODH_EVENT_ALARM)
    parsed = events[0]
    assert trigger.expand(parsed) == [parsed]     # already an event
    with pytest.raises(TriggerEventError):
        trigger.expand({'type': 'alarm', 'source': 'aodh', 'body': 'not json'})
    # other triggers: the queued event is the event, and each counts alone
    manual = {'type': 'manual', 'servers': ['s1']}
    assert Manual().expand(manual) == [manual] and Manual().incident(manual) is None
