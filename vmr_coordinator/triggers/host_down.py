"""``host_down``: a compute host failed and was fenced."""

from vmr_coordinator.triggers.base import IN_PLACE_ACTIONS, Trigger


class HostDown(Trigger):
    """A host left the agent group, no other path reaches it, it was fenced.

    Event: ``{'type': 'host_down', 'host': 'compute-3'}``. Affects the servers
    on that host.
    """

    type = 'host_down'
    event_fields = {'host': str}
    sources = ('host-detection',)
    needs_fence = True
    refused_actions = {
        'live_migrate': 'the source host is dead, nothing can be live-migrated off it; '
                        'use evacuate or boot_from_snapshot',
        **{action: f'{action} needs the server\'s own host, which is dead; '
                   'use evacuate or boot_from_snapshot'
           for action in IN_PLACE_ACTIONS},
    }

    def describe(self, event):
        return f'host {event.get("host")} is down'
