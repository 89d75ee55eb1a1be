"""Cinder's constants and input rules: the microversion range, the
statuses a volume may be deleted in, the checks of a volume body (a part
of the lab's Cinder)."""

import time
import uuid

from vmr_lab.services.base import Fault


MIN_VERSION = (3, 0)
MAX_VERSION = (3, 71)
DEFAULT_TYPE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, 'vmr-lab/volume-type'))
DELETABLE = ('available', 'error', 'error_restoring', 'error_extending',
             'error_managing')


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%S.000000', time.gmtime())


def _check_volume_body(body):
    """Type checks of a volume create/update body (Cinder's JSON schema)."""
    for key in ('name', 'description', 'availability_zone', 'imageRef',
                'image_id', 'snapshot_id', 'source_volid', 'volume_type',
                'consistencygroup_id', 'group_id', 'backup_id'):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise Fault(400, "Invalid input for field/attribute %s. Value: "
                             "%s. %r is not of type 'string', 'null'"
                        % (key, value, value))
    if 'multiattach' in body and not isinstance(body['multiattach'], bool):
        raise Fault(400, "Invalid input for field/attribute multiattach. "
                         "Value: %s. %r is not of type 'boolean'"
                    % (body['multiattach'], body['multiattach']))
    if 'metadata' in body:
        metadata = body['metadata']
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 255
                and len(v) <= 255 for k, v in metadata.items()):
            raise Fault(400, "Invalid input for field/attribute metadata. "
                             "Value: %s. metadata keys and values must be "
                             "strings of at most 255 characters" % metadata)


def _version_str(version):
    return '%d.%d' % version


def _parse_version(text):
    text = text.strip().lower()
    if text == 'latest':
        return MAX_VERSION
    try:
        major, minor = text.split('.')
        return int(major), int(minor)
    except ValueError:
        raise Fault(400, 'API Version String %s is of invalid format. Must be '
                         'of format MajorNum.MinorNum.' % text)
