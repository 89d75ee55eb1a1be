"""``maintenance``: an operator put a host into maintenance."""

from vmr_coordinator.triggers.base import Trigger


class Maintenance(Trigger):
    """A host entered maintenance and must be drained; it is alive, no fence.

    Event: ``{'type': 'maintenance', 'host': 'compute-3'}``. Affects the
    servers on that host.
    """

    type = 'maintenance'
    event_fields = {'host': str}
    sources = ('host-maintenance',)
    drains_host = True

    def describe(self, event):
        return f'host {event.get("host")} entered maintenance'
