"""Volume attachments: ``servers/{server_id}/os-volume_attachments``.

Attach and detach go through Cinder's plain Python hooks; a detach needs
the server's compute up.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import uuid

from vmr_lab.services.base import Fault


class VolumeAttachments:
    """Volume attachments of a server (a mixin)."""

    def _attachment_view(self, req, server_id, volume):
        view = {'id': volume['volume_id'], 'volumeId': volume['volume_id'],
                'serverId': server_id, 'device': volume['device']}
        if self.mv(req, '2.70'):
            view['tag'] = None
        if self.mv(req, '2.79'):
            view['delete_on_termination'] = volume['delete_on_termination']
        if self.mv(req, '2.89'):
            del view['id']
            view['attachment_id'] = volume['attachment_id']
            view['bdm_uuid'] = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                              volume['attachment_id']))
        return view

    def list_volume_attachments(self, req, ctx, server_id):
        with self.state_lock:
            server = self._server(ctx, server_id)
            rows = [self._attachment_view(req, server_id, v)
                    for v in server['volumes']]
        return 200, {'volumeAttachments': rows}

    def show_volume_attachment(self, req, ctx, server_id, volume_id):
        with self.state_lock:
            server = self._server(ctx, server_id)
            for volume in server['volumes']:
                if volume['volume_id'] == volume_id:
                    return 200, {'volumeAttachment': self._attachment_view(
                        req, server_id, volume)}
        raise Fault(404, 'Volume %s is not attached to %s'
                    % (volume_id, server_id))

    def attach_volume(self, req, ctx, server_id):
        self._writer(ctx, 'os_compute_api:os-volumes-attachments:create')
        body = self.json_body(req, 'volumeAttachment')
        volume_id = body.get('volumeId')
        if not volume_id:
            raise Fault(400, "Invalid input for field/attribute "
                             "volumeAttachment. 'volumeId' is a required "
                             "property")
        cinder_volume = None
        if self.lab.cinder is not None:
            cinder_volume = self.lab.cinder.get_volume(volume_id)
            if cinder_volume is None:
                raise Fault(404, 'Volume %s could not be found.' % volume_id)
        with self.state_lock:
            server = self._server(ctx, server_id)
            self._require_vm_state(server, 'attach_volume',
                                   ('active', 'stopped', 'paused',
                                    'suspended', 'resized'))
            # Nova's own check of its block device mappings, before Cinder
            # is asked (nova/compute/api.py, _check_volume_already_attached)
            holders = [sid for sid, other in self.servers.items()
                       if any(v['volume_id'] == volume_id
                              for v in other['volumes'])]
            if holders and not (cinder_volume or {}).get('multiattach'):
                raise Fault(400, 'Invalid volume: volume %s is already '
                                 'attached to instances: %s'
                            % (volume_id, ' '.join(holders)))
            if server_id in holders:
                raise Fault(400, 'Invalid volume: volume %s already attached'
                            % volume_id)
            device = body.get('device') or '/dev/vd%s' % chr(
                ord('b') + len(server['volumes']))
            volume = {'volume_id': volume_id,
                      'attachment_id': str(uuid.uuid4()), 'device': device,
                      'delete_on_termination': bool(
                          body.get('delete_on_termination'))}
            server['volumes'].append(volume)
            self._record_action(req, ctx, server, 'attach_volume')
            view = self._attachment_view(req, server_id, volume)
        try:
            self._cinder('attach', volume_id, server_id, device)
        except Exception:
            with self.state_lock:
                if volume in server['volumes']:
                    server['volumes'].remove(volume)
            raise
        return 200, {'volumeAttachment': view}

    @staticmethod
    def _attachment(server, server_id, volume_id):
        """``server``'s attachment of ``volume_id`` (404 if none)."""
        for attachment in server['volumes']:
            if attachment['volume_id'] == volume_id:
                return attachment
        raise Fault(404, 'Volume %s is not attached to %s'
                    % (volume_id, server_id))

    def detach_volume(self, req, ctx, server_id, volume_id):
        self._writer(ctx, 'os_compute_api:os-volumes-attachments:delete')
        with self.state_lock:
            server = self._server(ctx, server_id)
            attachment = self._attachment(server, server_id, volume_id)
            service = self.compute_service(server['host'])
            if service is not None and not self.service_is_up(service):
                # Nova detaches through the server's host only
                # (check_instance_host(check_is_up=True)); it does not
                # name the host to users.
                raise Fault(409, 'Service is unavailable at this time.')
            server['volumes'].remove(attachment)
            self._record_action(req, ctx, server, 'detach_volume')
        self._cinder('detach', volume_id, server_id)
        return 202, None

    def update_volume_attachment(self, req, ctx, server_id, volume_id):
        """``PUT os-volume_attachments/{volume_id}``: from 2.85 the
        attachment's ``delete_on_termination`` (a database change: Nova
        makes it with the host down).  The lab swaps no volumes."""
        self._writer(ctx, 'os_compute_api:os-volumes-attachments:update')
        body = self.json_body(req, 'volumeAttachment')
        if not self.mv(req, '2.85') or \
                body.get('volumeId', volume_id) != volume_id:
            raise Fault(400, 'the lab does not swap volumes')
        with self.state_lock:
            server = self._server(ctx, server_id)
            attachment = self._attachment(server, server_id, volume_id)
            if 'device' in body and body['device'] != attachment['device']:
                raise Fault(400, 'The device property is not mutable')
            if 'delete_on_termination' in body:
                value = body['delete_on_termination']
                if not isinstance(value, bool):
                    raise Fault(400, "Invalid input for field/attribute "
                                     "delete_on_termination. Value: %s. %r "
                                     "is not of type 'boolean'"
                                % (value, value))
                attachment['delete_on_termination'] = value
        return 202, None
