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
    refused_actions = {
        'evacuate': 'the server\'s host is alive and Nova refuses to evacuate from a live '
                    'compute service; use rebuild, reboot or boot_from_snapshot',
        'live_migrate': 'a server that is down cannot be live-migrated; use rebuild, '
                        'reboot or boot_from_snapshot',
        'suspend': 'a server that is down cannot be suspended; use rebuild or reboot',
    }
    conditional_note = '``resume`` is allowed with ``statuses: [SUSPENDED]``.'

    def incompatibility(self, trigger_spec, action):
        if action == 'resume' and \
                set(trigger_spec.get('statuses') or DEFAULT_STATUSES) - {'SUSPENDED'}:
            return ('resume only wakes SUSPENDED servers; set trigger.statuses: '
                    '[SUSPENDED] or use reboot')
        return super().incompatibility(trigger_spec, action)

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
