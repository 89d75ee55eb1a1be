"""``process_down``: a watched process died on a live host."""

from vmr_coordinator.triggers.base import Trigger


class ProcessDown(Trigger):
    """The agent reports that a named process (e.g. nova-compute) died.

    Event: ``{'type': 'process_down', 'host': 'compute-3', 'process':
    'nova-compute'}``. A contract's ``process`` (absent = any) must equal the
    event's. Affects the servers on that host.
    """

    type = 'process_down'
    event_fields = {'host': str, 'process': str}
    sources = ('agent-report',)

    def matches(self, trigger_spec, event):
        if not super().matches(trigger_spec, event):
            return False
        wanted = trigger_spec.get('process')
        return wanted is None or wanted == event.get('process')

    def describe(self, event):
        return f'{event.get("process")} is down on {event.get("host")}'
