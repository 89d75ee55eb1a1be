"""Cinder's attachments: the attach/detach core Nova and the actions
share, and the attachments API of 3.27+ (a part of the lab's Cinder)."""

import copy
import uuid

from vmr_lab.services.base import Fault
from vmr_lab.services.cinder.common import (
    _now,
)


class Attachments:
    """How :class:`CinderAPI` attaches and detaches (a mixin)."""

    # -- attach / detach core ----------------------------------------------
    def _reserve_check(self, volume):
        attached = volume['attachments']
        if volume['status'] == 'available':
            return
        if volume['status'] in ('in-use', 'reserved') \
                and volume['multiattach']:
            return
        raise Fault(400, 'Invalid volume: Volume %s status must be available '
                         'or downloading to reserve, but the current status '
                         'is %s.%s' % (volume['id'], volume['status'],
                                       ' It is attached to %s.'
                                       % attached[0]['server_id']
                                       if attached else ''))

    def _attach(self, volume, server_id, device, host=None, attachment=None,
                mode='rw'):
        """Record an attachment of ``volume`` to ``server_id``."""
        for att in volume['attachments']:
            if att['server_id'] == server_id:
                raise Fault(400, 'Invalid volume: volume %s is already '
                                 'attached to instance %s.'
                            % (volume['id'], server_id))
        now = _now()
        att_id = attachment['id'] if attachment else str(uuid.uuid4())
        entry = {'id': volume['id'], 'attachment_id': att_id,
                 'volume_id': volume['id'], 'server_id': server_id,
                 'host_name': host, 'device': device, 'attached_at': now}
        volume['attachments'].append(entry)
        volume['status'] = 'in-use'
        volume['updated_at'] = now
        self.pending.pop(volume['id'], None)
        record = attachment or {'id': att_id}
        record.update({'volume_id': volume['id'], 'instance': server_id,
                       'status': 'attached', 'attach_mode': mode,
                       'attached_at': now, 'detached_at': None,
                       'connection_info': {'driver_volume_type': 'iscsi',
                                           'attachment_id': att_id,
                                           'mountpoint': device},
                       'connector': {'host': host}})
        self.attachments[att_id] = record
        return entry

    def _detach(self, volume, attachment_id=None, server_id=None):
        keep = []
        removed = []
        for att in volume['attachments']:
            if (attachment_id and att['attachment_id'] == attachment_id) or (
                    server_id and att['server_id'] == server_id):
                removed.append(att)
            else:
                keep.append(att)
        for att in removed:
            self.attachments.pop(att['attachment_id'], None)
        # Reserved (not yet completed) attachments of the server go too.
        for att_id, record in list(self.attachments.items()):
            if record['volume_id'] == volume['id'] and (
                    att_id == attachment_id or
                    (server_id and record['instance'] == server_id)):
                del self.attachments[att_id]
                removed.append(record)
        volume['attachments'] = keep
        if not keep:
            reserved = [a for a in self.attachments.values()
                        if a['volume_id'] == volume['id']]
            volume['status'] = 'reserved' if reserved else 'available'
        volume['updated_at'] = _now()
        return removed

    # -- attachments API (3.27+) -------------------------------------------
    def _require(self, req, version):
        if self._requested_version(req) < version:
            raise Fault(404, 'The resource could not be found.')

    def _attachment(self, ctx, attachment_id):
        record = self.attachments.get(attachment_id)
        if record is None:
            raise Fault(404, 'Volume attachment could not be found with '
                             'filter: attachment_id = %s.' % attachment_id)
        self._get(ctx, record['volume_id'])
        return record

    def list_attachments(self, req, ctx, project_id):
        """``GET /attachments`` (3.27+)."""
        self._require(req, (3, 27))
        with self.lock:
            records = []
            for record in self.attachments.values():
                try:
                    self._get(ctx, record['volume_id'])
                except Fault:
                    continue
                if all(str(record.get(k)) == v for k, v in req.GET.items()
                       if k in ('volume_id', 'instance', 'status')):
                    records.append(copy.deepcopy(record))
            return 200, {'attachments': records}

    def show_attachment(self, req, ctx, project_id, attachment_id):
        """``GET /attachments/{id}`` (3.27+)."""
        self._require(req, (3, 27))
        with self.lock:
            return 200, {'attachment': copy.deepcopy(
                self._attachment(ctx, attachment_id))}

    def create_attachment(self, req, ctx, project_id):
        """``POST /attachments``: reserve, or attach when a connector is given."""
        self._require(req, (3, 27))
        self._check_writer(ctx, 'attachment_create')
        body = self.json_body(req, 'attachment')
        volume_id = body.get('volume_uuid')
        if not volume_id:
            raise Fault(400, 'Invalid input received: volume_uuid is '
                             'required.')
        with self.lock:
            self._settle()
            volume = self._get(ctx, volume_id)
            self._reserve_check(volume)
            record = {'id': str(uuid.uuid4()), 'volume_id': volume_id,
                      'instance': body.get('instance_uuid'),
                      'status': 'reserved', 'attach_mode': body.get(
                          'mode', 'rw'), 'attached_at': None,
                      'detached_at': None, 'connection_info': {},
                      'connector': body.get('connector')}
            self.attachments[record['id']] = record
            if body.get('connector'):
                self._attach(volume, record['instance'],
                             body['connector'].get('mountpoint'),
                             host=body['connector'].get('host'),
                             attachment=record, mode=record['attach_mode'])
                record['status'] = 'attaching'
                volume['status'] = 'attaching'
            elif not volume['attachments']:
                volume['status'] = 'reserved'
            return 200, {'attachment': copy.deepcopy(record)}

    def update_attachment(self, req, ctx, project_id, attachment_id):
        """``PUT /attachments/{id}``: connect a reserved one."""
        self._require(req, (3, 27))
        body = self.json_body(req, 'attachment')
        with self.lock:
            record = self._attachment(ctx, attachment_id)
            volume = self.volumes[record['volume_id']]
            connector = body.get('connector') or {}
            if record['status'] == 'reserved':
                self._attach(volume, record['instance'],
                             connector.get('mountpoint'),
                             host=connector.get('host'), attachment=record,
                             mode=record['attach_mode'])
                record['status'] = 'attaching'
                volume['status'] = 'attaching'
            return 200, {'attachment': copy.deepcopy(record)}

    def attachment_action(self, req, ctx, project_id, attachment_id):
        """``POST /attachments/{id}/action``: os-complete."""
        self._require(req, (3, 44))
        body = self.json_body(req)
        if 'os-complete' not in body:
            raise Fault(400, 'There is no such action: %s' % ','.join(body))
        with self.lock:
            record = self._attachment(ctx, attachment_id)
            volume = self.volumes[record['volume_id']]
            record['status'] = 'attached'
            if volume['attachments']:
                volume['status'] = 'in-use'
        return 204, None

    def delete_attachment(self, req, ctx, project_id, attachment_id):
        """``DELETE /attachments/{id}``: detach."""
        self._require(req, (3, 27))
        with self.lock:
            record = self._attachment(ctx, attachment_id)
            volume = self.volumes[record['volume_id']]
            self._detach(volume, attachment_id=attachment_id)
            return 200, {'attachments': []}
