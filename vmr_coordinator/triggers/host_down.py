"""``host_down``: a compute host failed and was fenced."""

from vmr_coordinator.triggers.base import Trigger


class HostDown(Trigger):
    """A host left the agent group, no other path reaches it, it was fenced.

    Event: ``{'type': 'host_down', 'host': 'compute-3'}``. Affects the servers
    on that host.
    """

    type = 'host_down'
    event_fields = {'host': str}
    sources = ('host-detection',)
    needs_fence = True

    def describe(self, event):
        return f'host {event.get("host")} is down'
