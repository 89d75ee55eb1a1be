"""What every part of the lab's Nova shares: the power and status values
of a server record, the time formats of the API and the encoding of the
state file.

Used by the parts of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import datetime
import logging
import uuid

#: Nova's logger: the name it had while Nova was a single module.
LOG = logging.getLogger('vmr_lab.services.nova')

# power_state values of Nova's objects.
NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 0, 1, 3, 4, 6, 7

_TASK_STATUS = {
    'rebuilding': 'REBUILD', 'rebuild_spawning': 'REBUILD',
    'migrating': 'MIGRATING', 'resize_prep': 'RESIZE',
    'resize_migrating': 'RESIZE', 'resize_finish': 'RESIZE',
    'rebooting': 'REBOOT', 'rebooting_hard': 'HARD_REBOOT',
}
_VM_STATUS = {
    'active': 'ACTIVE', 'building': 'BUILD', 'stopped': 'SHUTOFF',
    'suspended': 'SUSPENDED', 'error': 'ERROR', 'resized': 'VERIFY_RESIZE',
    'paused': 'PAUSED', 'deleted': 'DELETED',
}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ') if moment else None


def _iso_us(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%f') if moment else None


def status_of(server):
    """The API ``status`` of an internal server record."""
    if server['vm_state'] not in ('building', 'error'):
        by_task = _TASK_STATUS.get(server['task_state'])
        if by_task:
            return by_task
    return _VM_STATUS.get(server['vm_state'], 'UNKNOWN')


def _encode(value):
    """JSON-able copy of ``value``: datetimes become tagged strings."""
    if isinstance(value, datetime.datetime):
        return {'__datetime__': value.isoformat()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    """Inverse of :func:`_encode`."""
    if isinstance(value, dict):
        if set(value) == {'__datetime__'}:
            return datetime.datetime.fromisoformat(value['__datetime__'])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False
