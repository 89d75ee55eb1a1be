"""Run by tests/real/test_notifications.py with the real tier's Python
(where oslo.messaging is): VMR's Publisher sends through oslo.messaging to
the RabbitMQ at argv[1]; a real oslo.messaging notification listener on the
same bus receives.  Prints one JSON document: what the listener got, and
what a publisher pointed at a dead bus did."""

import json
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging

from vmr_common.conf import notifications as notifications_conf
from vmr_coordinator import notifications

TOPIC = 'vmr-roundtrip'


class Received:
    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def _got(self, priority, publisher_id, event_type, payload):
        with self.cond:
            self.events.append({'priority': priority,
                                'publisher_id': publisher_id,
                                'event_type': event_type,
                                'payload': payload})
            self.cond.notify_all()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._got('INFO', publisher_id, event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._got('ERROR', publisher_id, event_type, payload)


def vmr_conf(url):
    conf = cfg.ConfigOpts()
    notifications_conf.register_opts(conf)
    conf(args=[], default_config_files=[], default_config_dirs=[])
    conf.set_override('enabled', True, 'notifications')
    conf.set_override('transport_url', url, 'notifications')
    conf.set_override('topics', [TOPIC], 'notifications')
    return conf


def journal_sequence():
    """A host_down recovery as the leader's cycles see it."""
    # the shape of vmr_coordinator.journal.new_record's (which needs etcd's
    # client, not in this virtualenv)
    rec = {'id': 'compute-2-abcd-1', 'format': 1, 'host': 'compute-2',
           'boot_id': 'boot-1', 'trigger': {
               'type': 'host_down', 'host': 'compute-2',
               'reason': 'no heartbeat, unreachable'},
           'state': 'acting', 'created_at': 100.0}
    rec['steps'] = [
        {'state': 'running', 'server_id': 's-1', 'server_name': 'web-1',
         'contract': 'web', 'action': 'evacuate'},
        {'state': 'running', 'server_id': 's-2', 'server_name': 'web-2',
         'contract': 'web', 'action': 'evacuate'}]
    yield {rec['id']: json.loads(json.dumps(rec))}
    rec['steps'][1].update(state='failed', error='Nova: HTTP 500')
    rec['steps'][0]['state'] = 'done'
    yield {rec['id']: json.loads(json.dumps(rec))}
    rec['state'] = 'failed'
    yield {rec['id']: json.loads(json.dumps(rec))}


def main(url, dead_url):
    private = cfg.ConfigOpts()
    private(args=[], default_config_files=[], default_config_dirs=[])
    transport = oslo_messaging.get_notification_transport(private, url=url)
    received = Received()
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=TOPIC)], [received],
        executor='threading')
    listener.start()
    publisher = notifications.Publisher.from_conf(vmr_conf(url),
                                                  'controller-1')
    seen = {}
    for i, records in enumerate(journal_sequence()):
        events, seen = notifications.journal_events(seen, records,
                                                    110.0 + i)
        for event_type, payload in events:
            publisher.publish(event_type, payload)
    flushed = publisher.flush(30)
    with received.cond:
        received.cond.wait_for(lambda: len(received.events) >= 4, 30)
    publisher.close()
    listener.stop()
    listener.wait()
    transport.cleanup()

    dead = notifications.Publisher.from_conf(vmr_conf(dead_url),
                                             'controller-1')
    t0 = time.monotonic()
    dead.publish(notifications.RECOVERY_START, {'recovery_id': 'r-dead'})
    queued_in = time.monotonic() - t0
    dead.flush(60)
    t0 = time.monotonic()
    dead.close()
    print(json.dumps({'received': received.events, 'flushed': flushed,
                      'dead': {'sent': dead.sent,
                               'fault': dead.fault.active,
                               'publish_s': queued_in,
                               'close_s': time.monotonic() - t0}}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
