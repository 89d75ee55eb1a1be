"""``instance_down``: a server went ERROR/SHUTOFF/... without being asked to."""

from vmr_coordinator.triggers.base import Trigger

#: Statuses a contract reacts to when it names none (the schema default too).
DEFAULT_STATUSES = ('ERROR', 'SHUTOFF')


class InstanceDown(Trigger):
    """One server is down on a live host.

    Event: ``{'type': 'instance_down', 'server_id': '...', 'status': 'ERROR'}``
    (``host`` optional). The event's status must be one of the contract's
    ``statuses``. Affects that one server.
    """

    type = 'instance_down'
    event_fields = {'server_id': str, 'status': str}
    sources = ('agent-report', 'nova-poll')

    def polled_statuses(self, trigger_spec):
        return tuple(s.upper() for s in trigger_spec.get('statuses') or DEFAULT_STATUSES)

    def matches(self, trigger_spec, event):
        if not super().matches(trigger_spec, event):
            return False
        statuses = trigger_spec.get('statuses') or DEFAULT_STATUSES
        status = event.get('status')
        return isinstance(status, str) and status.upper() in statuses

    def affects(self, event, server):
        return getattr(server, 'id', None) == event.get('server_id')

    def describe(self, event):
        where = f' on {event["host"]}' if event.get('host') else ''
        return f'server {event.get("server_id")} is {event.get("status")}{where}'
