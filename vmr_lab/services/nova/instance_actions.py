"""Instance actions: ``servers/{server_id}/os-instance-actions``.

The records themselves are written by :mod:`vmr_lab.services.nova.tasks`.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

from vmr_lab.services.base import Fault
from vmr_lab.services.nova.common import _iso_us


class InstanceActions:
    """Instance actions of a server (a mixin)."""

    def _action_view(self, req, entry, with_events):
        view = {'action': entry['action'],
                'instance_uuid': entry['instance_uuid'],
                'request_id': entry['request_id'],
                'user_id': entry['user_id'],
                'project_id': entry['project_id'],
                'start_time': _iso_us(entry['start_time']),
                'message': entry['message']}
        if self.mv(req, '2.58'):
            view['updated_at'] = _iso_us(entry['updated_at'])
        if with_events:
            view['events'] = [{
                'event': e['event'], 'start_time': _iso_us(e['start_time']),
                'finish_time': _iso_us(e['finish_time']),
                'result': e['result'], 'traceback': None,
                'host': e['host'], 'hostId': e['hostId'],
                'details': e['details']} for e in entry['events']]
        return view

    def list_instance_actions(self, req, ctx, server_id):
        with self.state_lock:
            self._server(ctx, server_id)
            rows = [self._action_view(req, e, False) for e in reversed(
                self.actions.get(server_id, []))]
        return 200, {'instanceActions': rows}

    def show_instance_action(self, req, ctx, server_id, request_id):
        with self.state_lock:
            self._server(ctx, server_id)
            for entry in self.actions.get(server_id, []):
                if entry['request_id'] == request_id:
                    return 200, {'instanceAction': self._action_view(
                        req, entry, True)}
        raise Fault(404, 'Action %s could not be found.' % request_id)
