"""Nova's notifications as Ceilometer events, on the topic Aodh listens to.

Aodh's event alarms do not read Nova's notifications: aodh-listener's
endpoint handles priority ``sample`` only (so it consumes the queue
``alarm.all.sample`` and nothing else, while Nova publishes ``info`` and
``error``), and it evaluates Ceilometer *events* -- ``{message_id,
event_type, generated, traits: [[name, type, value]...], raw}`` -- not
Nova's payloads.  In a cloud, ceilometer-agent-notification turns the one
into the other (its ``event_definitions.yaml``) and publishes them with
``notifier://?topic=alarm.all``.

This process does that job for ``compute.instance.*`` only, the way
Ceilometer's default definitions do: the same trait names and types, the
host from the publisher id (``compute.<host>``), the event published as a
``sample`` notification whose payload is a list of events.  It runs with
the real tier's Python (oslo.messaging) and imports nothing of VMR::

    python eventbridge.py --transport-url rabbit://... [--event-topic alarm.all]

One log line per event forwarded.
"""

import argparse
import datetime
import logging
import signal
import sys
import threading

LOG = logging.getLogger('eventbridge')

#: Ceilometer's trait types (ceilometer.event.models.Trait)
STRING, INTEGER, FLOAT, DATETIME = 1, 2, 3, 4
#: Trait name, payload field, type: ceilometer's event_definitions.yaml for
#: ``compute.instance.*`` (the image properties left out).
INSTANCE_TRAITS = (
    ('tenant_id', 'tenant_id', STRING),
    ('user_id', 'user_id', STRING),
    ('instance_id', 'instance_id', STRING),
    ('display_name', 'display_name', STRING),
    ('resource_id', 'instance_id', STRING),
    ('cell_name', 'cell_name', STRING),
    ('memory_mb', 'memory_mb', INTEGER),
    ('disk_gb', 'disk_gb', INTEGER),
    ('root_gb', 'root_gb', INTEGER),
    ('ephemeral_gb', 'ephemeral_gb', INTEGER),
    ('vcpus', 'vcpus', INTEGER),
    ('instance_type_id', 'instance_type_id', STRING),
    ('instance_flavor_id', 'instance_flavor_id', STRING),
    ('instance_type', 'instance_type', STRING),
    ('state', 'state', STRING),
    ('launched_at', 'launched_at', DATETIME),
    ('deleted_at', 'deleted_at', DATETIME),
)
EVENT_PREFIX = 'compute.instance.'


def _value(value, kind):
    if value in (None, ''):
        return None
    try:
        if kind == INTEGER:
            return int(value)
        if kind == FLOAT:
            return float(value)
        if kind == DATETIME:
            # Nova sends str(datetime); Ceilometer sends isoformat, which
            # is what Aodh parses.
            return datetime.datetime.fromisoformat(str(value)).isoformat()
    except (TypeError, ValueError):
        return None
    return str(value)


def to_event(publisher_id, event_type, payload, metadata):
    """The Ceilometer event of one Nova notification (or None)."""
    if not event_type.startswith(EVENT_PREFIX) or not isinstance(payload,
                                                                 dict):
        return None
    traits = []
    for name, field, kind in INSTANCE_TRAITS:
        value = _value(payload.get(field), kind)
        if value is not None:
            traits.append([name, kind, value])
    # publisher_id.`split(., 1, 1)` and `split(., 0, -1)`: compute.<host>
    service, _, host = (publisher_id or '').partition('.')
    if host:
        traits.append(['host', STRING, host])
    if service:
        traits.append(['service', STRING, service])
    return {'message_id': metadata.get('message_id'),
            'event_type': event_type,
            'generated': metadata.get('timestamp'),
            'traits': traits, 'raw': {}}


class Endpoint:
    """Nova's info and error notifications in, Ceilometer events out."""

    def __init__(self, notifier):
        self.notifier = notifier

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        event = to_event(publisher_id, event_type, payload, metadata)
        if event is None:
            return
        # Ceilometer's notifier publisher: sample(), payload a list.
        self.notifier.sample({}, event_type='event', payload=[event])
        traits = {t[0]: t[2] for t in event['traits']}
        LOG.info('forwarded %s of instance %s on %s (message %s)',
                 event_type, traits.get('instance_id'), traits.get('host'),
                 event['message_id'])

    error = info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--transport-url', required=True)
    parser.add_argument('--exchange', default='nova')
    parser.add_argument('--topic', default='notifications',
                        help="Nova's [oslo_messaging_notifications] topics")
    parser.add_argument('--event-topic', default='alarm.all',
                        help="Aodh's [listener] event_alarm_topic")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s %(levelname)s %(name)s '
                               '%(message)s')

    from oslo_config import cfg
    import oslo_messaging

    conf = cfg.ConfigOpts()
    conf([], project='vmr-eventbridge', default_config_files=[])
    transport = oslo_messaging.get_notification_transport(
        conf, url=args.transport_url)
    notifier = oslo_messaging.Notifier(
        transport, driver='messagingv2',
        publisher_id='telemetry.publisher.vmr-eventbridge',
        topics=[args.event_topic])
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=args.topic,
                                          exchange=args.exchange)],
        [Endpoint(notifier)], executor='threading')
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    listener.start()
    LOG.info('reading %s.{info,error} on exchange %s, publishing events '
             'on %s.sample', args.topic, args.exchange, args.event_topic)
    done.wait()
    listener.stop()
    listener.wait()
    return 0


if __name__ == '__main__':
    sys.exit(main())
