"""``process_down``: a watched process died on a live host."""

from vmr_coordinator.triggers.base import IN_PLACE_ACTIONS, Trigger

#: Processes without which Nova cannot act on the servers of a host.
COMPUTE_PROCESSES = frozenset({'nova-compute', 'libvirtd', 'virtqemud'})


class ProcessDown(Trigger):
    """The agent reports that a named process (e.g. nova-compute) died.

    Event: ``{'type': 'process_down', 'host': 'compute-3', 'process':
    'nova-compute'}``. A contract's ``process`` (absent = any) must equal the
    event's. Affects the servers on that host.
    """

    type = 'process_down'
    event_fields = {'host': str, 'process': str}
    sources = ('agent-report',)
    refused_actions = {
        'resume': 'nothing was suspended when a process dies; use evacuate or '
                  'boot_from_snapshot',
    }
    conditional_note = (
        'allowed when ``trigger.process`` names a process Nova does not need '
        f'(anything but {", ".join(sorted(COMPUTE_PROCESSES))}).')

    def incompatibility(self, trigger_spec, action):
        reason = super().incompatibility(trigger_spec, action)
        if reason is None and action in ('live_migrate',) + IN_PLACE_ACTIONS:
            process = trigger_spec.get('process')
            if process is None or process in COMPUTE_PROCESSES:
                which = process or 'any process (including nova-compute)'
                return (f'{action} needs the compute service, and this trigger fires '
                        f'when {which} is down; use evacuate or boot_from_snapshot, or '
                        f'set trigger.process to a process Nova does not need')
        return reason

    def matches(self, trigger_spec, event):
        if not super().matches(trigger_spec, event):
            return False
        wanted = trigger_spec.get('process')
        return wanted is None or wanted == event.get('process')

    def describe(self, event):
        return f'{event.get("process")} is down on {event.get("host")}'
