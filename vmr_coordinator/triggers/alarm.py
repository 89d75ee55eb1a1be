"""``alarm``: Aodh and Alertmanager alerts, and parsers for their webhook bodies.

The REST endpoints that receive the webhooks belong to the API; this module
turns their bodies into trigger events and matches events against contracts.

Event shape::

    {'type': 'alarm', 'source': 'aodh' | 'alertmanager', 'name': 'HostDown',
     'labels': {'severity': 'critical', ...}, 'server_ids': [...], 'host': 'compute-3',
     'severity': ..., 'reason': ..., 'id': <alarm id or fingerprint>, 'starts_at': ...}
"""

import json
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase

from vmr_coordinator.triggers.base import Trigger, TriggerEventError

SOURCES = ('aodh', 'alertmanager')

#: Alert labels / Aodh traits naming a server, tried in this order.
SERVER_LABELS = ('server_id', 'instance_id', 'instance_uuid', 'uuid', 'resource_id')
#: Alert labels / Aodh traits naming a host, tried in this order.
HOST_LABELS = ('nova_host', 'host', 'hostname', 'nodename', 'node', 'instance')

_UUID = re.compile(r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                   r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
# Prometheus' `instance` label is usually host:port; IPv6 comes as [addr]:port.
_PORT_SUFFIX = re.compile(r':\d+$')


class AlarmPayloadError(TriggerEventError):
    """A webhook body is not a valid Aodh or Alertmanager notification."""


class Alarm(Trigger):
    """An alarm fired in Aodh or Alertmanager.

    A contract's ``name`` is a case-sensitive shell glob on the alarm name,
    ``labels`` a subset the alert must carry with equal values, ``source``
    (absent = both) restricts the origin. The event affects the servers it
    names in ``server_ids``; failing that, the servers on its ``host``;
    failing both, every candidate the caller passes (the selector narrows).
    """

    type = 'alarm'
    event_fields = {'source': str, 'name': str}
    sources = ('webhook',)

    def validate_event(self, event):
        super().validate_event(event)
        if event['source'] not in SOURCES:
            raise TriggerEventError(f'alarm event source must be one of {", ".join(SOURCES)},'
                                    f' got {event["source"]!r}')
        if not isinstance(event.get('labels', {}), Mapping):
            raise TriggerEventError('alarm event field "labels" must be a mapping')
        if not isinstance(event.get('server_ids', []), (list, tuple)):
            raise TriggerEventError('alarm event field "server_ids" must be a list')

    def matches(self, trigger_spec, event):
        if not super().matches(trigger_spec, event):
            return False
        source = trigger_spec.get('source')
        if source is not None and source != event.get('source'):
            return False
        name = event.get('name')
        pattern = trigger_spec.get('name', '*')
        if not isinstance(name, str) or not isinstance(pattern, str):
            return False
        if not fnmatchcase(name, pattern):
            return False
        labels = event.get('labels') or {}
        if not isinstance(labels, Mapping):
            return False
        wanted = trigger_spec.get('labels') or {}
        return all(labels.get(key) == value for key, value in wanted.items())

    def affects(self, event, server):
        server_ids = event.get('server_ids') or ()
        if server_ids:
            return getattr(server, 'id', None) in server_ids
        if event.get('host'):
            return super().affects(event, server)
        return True

    def describe(self, event):
        severity = f', severity {event["severity"]}' if event.get('severity') else ''
        if event.get('server_ids'):
            count = len(event['server_ids'])
            target = f' on {count} server{"s" if count != 1 else ""}'
        elif event.get('host'):
            target = f' on host {event["host"]}'
        else:
            target = ''
        return f'{event.get("source")} alarm {event.get("name")!r} fired{target}{severity}'

    def expand(self, queued):
        """A stored webhook body (the API queues it as it came) as its alerts;
        raises :class:`AlarmPayloadError` when it is not a notification."""
        if 'body' not in queued:
            return [queued]
        if queued.get('source') == 'aodh':
            return parse_aodh(queued['body'])
        return parse_alertmanager(queued['body'])

    def incident(self, event):
        return incident_key(event)


def incident_key(event) -> tuple | None:
    """What identifies one alert incident across re-sends, or None.

    Alertmanager notifies a firing alert again every ``repeat_interval`` and
    whenever its group changes (another alert joins or resolves), always
    with the same fingerprint (its label set) and ``startsAt``; an alert
    that resolves and fires again gets a new ``startsAt``. Aodh notifies
    once per state change, so its events have no key (each counts).
    """
    if not isinstance(event, Mapping) or event.get('type') != 'alarm' \
            or event.get('source') != 'alertmanager':
        return None
    fingerprint, starts_at = event.get('id'), event.get('starts_at')
    if not isinstance(fingerprint, str) or not fingerprint \
            or not isinstance(starts_at, str) or not starts_at:
        return None
    return ('alertmanager', fingerprint, starts_at)


def _load_body(body, what):
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise AlarmPayloadError(f'{what} body is not UTF-8: {exc}')
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise AlarmPayloadError(f'{what} body is not JSON: {exc}')
    if not isinstance(body, Mapping):
        raise AlarmPayloadError(f'{what} body must be a JSON object, '
                                f'got {type(body).__name__}')
    return body


def _host_from(value: str) -> str:
    host = _PORT_SUFFIX.sub('', value)
    return host.strip('[]')


def _targets(labels: Mapping) -> tuple[list[str], str | None]:
    """Server ids and host named by alert labels (or Aodh traits)."""
    server_ids = []
    for key in SERVER_LABELS:
        value = labels.get(key)
        if isinstance(value, str) and _UUID.match(value) and value not in server_ids:
            server_ids.append(value)
    host = None
    for key in HOST_LABELS:
        value = labels.get(key)
        if not isinstance(value, str) or not value:
            continue
        if _UUID.match(value):
            # libvirt exporters put the domain UUID in `instance`.
            if value not in server_ids:
                server_ids.append(value)
            continue
        host = _host_from(value)
        break
    return server_ids, host


def _aodh_traits(reason_data) -> dict[str, str]:
    """Event alarm traits as a flat {name: str(value)} dict.

    Aodh sends the Panko/Ceilometer event in ``reason_data.event`` with traits as
    ``[name, dtype, value]`` triples (some serialisers use dicts).
    """
    if not isinstance(reason_data, Mapping):
        return {}
    event = reason_data.get('event')
    if not isinstance(event, Mapping):
        return {}
    traits = {}
    for trait in event.get('traits') or ():
        if isinstance(trait, (list, tuple)) and len(trait) == 3:
            name, _dtype, value = trait
        elif isinstance(trait, Mapping):
            name, value = trait.get('name'), trait.get('value')
        else:
            continue
        if isinstance(name, str) and value is not None:
            traits[name] = str(value)
    if isinstance(event.get('event_type'), str):
        traits.setdefault('event_type', event['event_type'])
    return traits


def parse_aodh(body) -> list[dict]:
    """Turn an Aodh alarm notification (REST notifier body) into events.

    ``body`` is the dict, or its JSON text/bytes: ``{"alarm_id", "alarm_name",
    "current", "previous", "reason", "reason_data", "severity"}``. Returns one
    event when the alarm entered state ``alarm``, none for ``ok`` or
    ``insufficient data`` (a cleared alarm heals nothing). Raises
    :class:`AlarmPayloadError` for a body that is not an Aodh notification.
    """
    body = _load_body(body, 'Aodh notification')
    for key in ('alarm_id', 'alarm_name', 'current'):
        if not isinstance(body.get(key), str) or not body.get(key):
            raise AlarmPayloadError(
                f'Aodh notification needs a non-empty string {key!r}, got {body.get(key)!r}')
    if body['current'] != 'alarm':
        return []
    labels = _aodh_traits(body.get('reason_data'))
    severity = body.get('severity')
    if isinstance(severity, str) and severity:
        labels.setdefault('severity', severity)
    server_ids, host = _targets(labels)
    event = {
        'type': 'alarm', 'source': 'aodh', 'name': body['alarm_name'],
        'id': body['alarm_id'], 'labels': labels, 'server_ids': server_ids,
        'severity': severity if isinstance(severity, str) else None,
        'previous': body.get('previous'),
        'reason': body.get('reason') if isinstance(body.get('reason'), str) else '',
    }
    if host:
        event['host'] = host
    return [event]


def parse_alertmanager(body) -> list[dict]:
    """Turn an Alertmanager webhook (payload version 4) into events.

    Returns one event per alert whose status is ``firing``; resolved alerts
    produce nothing. Raises :class:`AlarmPayloadError` for a body that is not
    an Alertmanager v4 webhook.
    """
    body = _load_body(body, 'Alertmanager webhook')
    version = body.get('version')
    if version is not None and str(version) != '4':
        raise AlarmPayloadError(
            f'Alertmanager webhook version {version!r} is not supported (expected "4")')
    alerts = body.get('alerts')
    if not isinstance(alerts, list):
        raise AlarmPayloadError('Alertmanager webhook needs a list "alerts", '
                                f'got {type(alerts).__name__}')
    group_status = body.get('status')
    events = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, Mapping):
            raise AlarmPayloadError(f'Alertmanager webhook alerts[{index}] is not an object')
        labels = alert.get('labels')
        if not isinstance(labels, Mapping):
            raise AlarmPayloadError(f'Alertmanager webhook alerts[{index}] has no labels')
        status = alert.get('status', group_status)
        if status != 'firing':
            continue
        name = labels.get('alertname')
        if not isinstance(name, str) or not name:
            raise AlarmPayloadError(
                f'Alertmanager webhook alerts[{index}] has no "alertname" label')
        labels = {str(k): str(v) for k, v in labels.items() if v is not None}
        server_ids, host = _targets(labels)
        annotations = alert.get('annotations')
        annotations = annotations if isinstance(annotations, Mapping) else {}
        event = {
            'type': 'alarm', 'source': 'alertmanager', 'name': name,
            'id': alert.get('fingerprint'), 'labels': labels, 'server_ids': server_ids,
            'severity': labels.get('severity'),
            'reason': str(annotations.get('summary') or annotations.get('description') or ''),
            'starts_at': alert.get('startsAt'),
            'receiver': body.get('receiver'),
        }
        if host:
            event['host'] = host
        events.append(event)
    return events
