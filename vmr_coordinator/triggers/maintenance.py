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
    refused_actions = {
        'evacuate': 'a host in maintenance is alive: Nova refuses to evacuate from it and '
                    'the VMs would run twice; use live_migrate',
        'rebuild': 'rebuild leaves the server on the host being drained; use live_migrate',
        'reboot': 'reboot leaves the server on the host being drained; use live_migrate',
        'resume': 'nothing was suspended when a host enters maintenance; use live_migrate '
                  'or suspend',
    }

    def describe(self, event):
        return f'host {event.get("host")} entered maintenance'
