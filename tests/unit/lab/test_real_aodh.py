"""The real tier's Aodh pieces that need no OpenStack: the event bridge's
translation and the configuration it must agree with."""

from vmr_coordinator.triggers import alarm as alarm_mod
from vmr_lab.real import config, eventbridge

SERVER = '5f1c8a46-0d9e-4c57-9a8f-3f8a3c9b6d11'
PAYLOAD = {'tenant_id': 'p1', 'user_id': 'u1', 'instance_id': SERVER,
           'display_name': 'shop-1', 'memory_mb': 512, 'vcpus': '1',
           'state': 'stopped', 'launched_at': '2026-12-06 00:58:01+00:00',
           'deleted_at': '', 'image_meta': {'min_ram': '0'}}
METADATA = {'message_id': 'a3d9e1c2', 'timestamp': '2026-12-06 01:00:00.1'}


def test_a_nova_notification_becomes_a_ceilometer_event():
    event = eventbridge.to_event('compute.compute-1',
                                 'compute.instance.power_off.end', PAYLOAD,
                                 METADATA)
    assert event['message_id'] == 'a3d9e1c2'
    assert event['event_type'] == 'compute.instance.power_off.end'
    assert event['generated'] == '2026-12-06 01:00:00.1'
    assert event['raw'] == {}
    traits = {name: (kind, value) for name, kind, value in event['traits']}
    assert traits['instance_id'] == (1, SERVER)
    assert traits['resource_id'] == (1, SERVER)
    assert traits['tenant_id'] == (1, 'p1')
    assert traits['host'] == (1, 'compute-1')
    assert traits['service'] == (1, 'compute')
    assert traits['memory_mb'] == (2, 512)
    assert traits['vcpus'] == (2, 1)
    assert traits['launched_at'] == (4, '2026-12-06T00:58:01+00:00')
    assert 'deleted_at' not in traits     # empty: no trait, like Ceilometer
    assert 'cell_name' not in traits


def test_only_instance_notifications_are_forwarded():
    assert eventbridge.to_event('scheduler.h', 'scheduler.select_'
                                'destinations.end', {}, METADATA) is None
    assert eventbridge.to_event('compute.h', 'compute.instance.update',
                                'not a dict', METADATA) is None


def test_what_aodh_sends_for_the_event_names_the_server_and_host():
    event = eventbridge.to_event('compute.compute-1',
                                 'compute.instance.power_off.end', PAYLOAD,
                                 METADATA)
    body = {'alarm_id': 'al-1', 'alarm_name': 'vm-powered-off',
            'severity': 'critical', 'previous': 'insufficient data',
            'current': 'alarm', 'reason': 'Event hits the query',
            'reason_data': {'type': 'event', 'event': event}}
    (parsed,) = alarm_mod.parse_aodh(body)
    assert parsed['server_ids'] == [SERVER]
    assert parsed['host'] == 'compute-1'
    assert parsed['labels']['event_type'] == 'compute.instance.power_off.end'


def test_aodh_and_nova_configuration_agree_with_the_bridge():
    conf = config.aodh('mysql+pymysql://x/aodh', 'rabbit://g:g@h:1/',
                       'http://k/v3', 'pw', '/e/aodh/api-paste.ini')
    assert conf['api']['paste_config'] == '/e/aodh/api-paste.ini'
    assert conf['listener']['event_alarm_topic'] == config.AODH_EVENT_TOPIC
    assert conf['DEFAULT']['notifier_topic'] == config.AODH_NOTIFIER_TOPIC
    assert conf['DEFAULT']['event_alarm_cache_ttl'] == 0
    assert conf['service_credentials']['username'] == 'aodh'
    nova = config.nova_notifications()
    assert nova['oslo_messaging_notifications'] == {
        'driver': 'messagingv2', 'topics': config.NOVA_NOTIFICATION_TOPIC}
    assert nova['notifications']['notification_format'] == 'unversioned'


def test_aodh_paste_makes_auth_token_read_our_file():
    text = ('[filter:authtoken]\npaste.filter_factory = keystonemiddleware.'
            'auth_token:filter_factory\noslo_config_project = aodh\n\n'
            '[filter:cors]\noslo_config_project = aodh\n')
    out = config.aodh_paste(text, '/e/aodh/aodh.conf')
    assert out.count('oslo_config_file') == 1
    assert out.startswith('[filter:authtoken]\noslo_config_file = '
                          '/e/aodh/aodh.conf\n')
