"""Real Aodh fires an event alarm whose action is VMR's webhook.

The session's real tier runs Aodh 23 (aodh-api, -evaluator, -notifier,
-listener) for these tests only (``real_services('aodh')``).  Nothing here
talks to Aodh's listener or notifier directly: the test stops a server
through Nova; Nova publishes ``compute.instance.power_off.end``; the event
bridge turns it into the Ceilometer event aodh-listener evaluates; the
alarm fires and aodh-notifier POSTs to VMR's ``/v1/alarms/aodh`` with HTTP
basic auth taken from the action URL's userinfo.  VMR's coordinators (the
lab's, on the real tier) open the recovery the contract asks for: a hard
reboot, which brings the server back ACTIVE.

A second alarm whose URL carries a wrong password shows the other side:
VMR answers 401, Aodh's notifier logs it and nothing is healed.

A ``trust+http`` action carries no secret at all: Aodh makes a Keystone
trust from the alarm's creator to its service user when the alarm is
created, and its notifier sends a token of that trust in ``X-Auth-Token``;
a keystone-mode VMR API validates it with the same Keystone and checks it
against ``vmr:alarm:aodh``.
"""

import re
import time

import pytest

from tests.support.keystone import keystone_api
from tests.support.scenario import running_lab
from vmr_lab.demo import Demo

# The CI subset runs the trust test (one Aodh test there, ~35 s); the
# whole alarm-to-heal path with coordinators is slow (~70 s).
pytestmark = pytest.mark.real_services('aodh')

ALARM_NAME = 'vm-powered-off'
EVENT_TYPE = 'compute.instance.power_off.end'
CONTRACT = {
    'name': 'aodh-powered-off', 'priority': 50,
    'trigger': {'type': 'alarm', 'source': 'aodh', 'name': ALARM_NAME},
    'selector': {'metadata': {'app': 'shop'}},
    'action': {'type': 'reboot', 'params': {'type': 'hard'}}}


@pytest.fixture
def lab(cloud, tmp_path):
    """VMR (etcd, agents, two coordinators with the API) on the session's
    real tier, with the Aodh contract only."""
    assert cloud.openstack.aodh, 'the session tier was started without Aodh'
    with running_lab(Demo, lab=cloud, real=True,
                     workdir=str(tmp_path / 'demo')) as harness:
        harness.use_contract(CONTRACT)
        yield harness


def webhook_url(lab, password):
    """VMR's Aodh webhook with basic auth in the userinfo, as an operator
    would put it in ``alarm_actions``."""
    return lab.api_url().replace('http://', 'http://aodh:%s@' % password) \
        + '/v1/alarms/aodh'


def event_alarm(server_id, action, name=ALARM_NAME):
    return {'name': name, 'type': 'event', 'severity': 'critical',
            'description': 'the server was powered off',
            'event_rule': {'event_type': EVENT_TYPE, 'query': [
                {'field': 'traits.instance_id', 'op': 'eq',
                 'type': 'string', 'value': server_id}]},
            'alarm_actions': [action], 'repeat_actions': False}


def alarm_records(lab):
    return [r for r in lab._records() if r['trigger']['type'] == 'alarm']


def coordinator_logs(lab):
    return '\n'.join(text for name, text in lab.logs().items()
                     if name.startswith('controller-'))


@pytest.mark.slow
def test_nova_event_fires_aodh_alarm_and_vmr_heals(lab, cloud):
    rs = cloud.openstack
    shop1 = lab.boot('shop-1', 'compute-1', {'app': 'shop'})
    shop2 = lab.boot('shop-2', 'compute-2', {'app': 'shop'})
    good = rs.create_alarm(event_alarm(
        shop1.id, webhook_url(lab, lab.webhook_token)))
    bad = rs.create_alarm(event_alarm(
        shop2.id, webhook_url(lab, 'not-the-webhook-token')))
    try:
        assert good['state'] == 'insufficient data'
        # What Aodh stores is what anyone who may read the alarm gets back:
        # the URL with its password.
        assert good['alarm_actions'] == [webhook_url(lab, lab.webhook_token)]

        t0 = time.monotonic()
        lab.conn.compute.stop_server(shop1)
        lab.conn.compute.stop_server(shop2)

        def finished():
            recs = alarm_records(lab)
            return recs if recs and all(
                r['state'] in ('done', 'failed') for r in recs) else None
        (rec,) = lab.wait(finished, 120, 'the recovery of shop-1')
        healed_in = time.monotonic() - t0
        print('stop -> recovery %s: %.1f s' % (rec['state'], healed_in))

        assert rec['state'] == 'done', rec
        trigger = rec['trigger']
        assert trigger['source'] == 'aodh'
        assert trigger['name'] == ALARM_NAME
        assert trigger['id'] == good['alarm_id']
        assert trigger['server_ids'] == [shop1.id]
        assert trigger['host'] == 'compute-1'
        labels = trigger['labels']
        assert labels['event_type'] == EVENT_TYPE
        assert labels['instance_id'] == shop1.id
        assert labels['state'] == 'stopped'
        assert labels['severity'] == 'critical'
        assert [s['server_id'] for s in rec['steps']] == [shop1.id]
        assert all(s['state'] == 'done' for s in rec['steps'])
        assert lab.conn.compute.get_server(shop1.id).status == 'ACTIVE'

        # Aodh's own view: the alarm fired once, its notifier got 202.
        assert rs.get_alarm(good['alarm_id'])['state'] == 'alarm'
        assert re.search(r'Triggering the alarm %s by event'
                         % good['alarm_id'], rs.log_text('aodh-listener'))
        # the notifier logs the answer after VMR stored the event
        lab.wait(lambda: re.search(
            r'Notifying alarm <%s> gets response: 202' % good['alarm_id'],
            rs.log_text('aodh-notifier')), 30, "Aodh's 202 for shop-1")
        assert re.search(r'forwarded %s of instance %s on compute-1'
                         % (re.escape(EVENT_TYPE), shop1.id),
                         rs.log_text('eventbridge'))

        # The wrong password: a 401 Aodh logs, no recovery, still SHUTOFF.
        lab.wait(lambda: re.search(
            r'Notifying alarm <%s> gets response: 401' % bad['alarm_id'],
            rs.log_text('aodh-notifier')), 60, "Aodh's 401 for shop-2")
        logs = coordinator_logs(lab)
        assert 'refused aodh webhook from 127.0.0.1: wrong HTTP basic ' \
               'auth' in logs
        assert len(alarm_records(lab)) == 1
        assert lab.conn.compute.get_server(shop2.id).status == 'SHUTOFF'
        # VMR never writes the secret, nor what a caller sent.
        assert lab.webhook_token not in logs
        assert 'not-the-webhook-token' not in logs
        # Aodh does: its notifier logs the action URL, userinfo included.
        print('webhook token in the aodh-notifier log: %s'
              % (lab.webhook_token in rs.log_text('aodh-notifier')))
    finally:
        for alarm in (good, bad):
            rs.delete_alarm(alarm['alarm_id'])


@pytest.fixture
def kapi(etcd_server, cloud):
    """VMR's API in keystone mode (keystonemiddleware against the tier's
    Keystone, no token cache), on a cluster of its own: no coordinator
    consumes what it stores."""
    harness = keystone_api(etcd_server, cloud.auth_url,
                           cloud.openstack.admin_password,
                           token_cache_time=-1)
    yield harness
    harness.close()


def test_trust_action_sends_a_keystone_token_vmr_validates(kapi, cloud):
    rs = cloud.openstack
    assert rs.aodh, 'the session tier was started without Aodh'
    server = cloud.boot('trust-1', 'compute-3')
    action = 'trust+%s/v1/alarms/aodh' % kapi.url
    alarm = rs.create_alarm(event_alarm(server.id, action,
                                        name='vm-powered-off-trust'))
    try:
        # Aodh keeps the trust id in the URL's userinfo and shows the URL
        # without it.
        assert alarm['alarm_actions'] == [action]
        cloud.conn.compute.stop_server(server)

        def stored():
            kvs, _ = kapi.store.get_prefix(kapi.store.keys.events)
            return [kv.json() for kv in kvs]
        t0 = time.monotonic()
        (event,) = cloud_wait(stored, 60, 'the trust notification stored')
        print('stop -> stored by the keystone-mode API: %.1f s'
              % (time.monotonic() - t0))
        # keystonemiddleware validated the trust's token: impersonation
        # makes it the alarm creator's (admin in project admin).
        assert event['authenticated_by'] == 'Keystone token of admin@admin'
        (parsed,) = event['events']
        assert parsed['id'] == alarm['alarm_id']
        assert parsed['server_ids'] == [server.id]
        assert parsed['host'] == 'compute-3'
        # the notifier logs the answer after VMR stored the event (seen
        # once: the event stored, the line not yet written)
        cloud_wait(lambda: re.search(
            r'Notifying alarm <%s> gets response: 202' % alarm['alarm_id'],
            rs.log_text('aodh-notifier')), 30, "Aodh's 202 in its log")
    finally:
        rs.delete_alarm(alarm['alarm_id'])


def cloud_wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError('timed out after %.0f s waiting for %s'
                       % (timeout, what))
