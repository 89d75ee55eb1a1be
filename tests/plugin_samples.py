"""Plugins that exist only for tests, installed with :mod:`tests.plugindist`."""

from vmr_coordinator.actions.base import Action
from vmr_coordinator.triggers.base import Trigger


class SampleAction(Action):
    """An action that changes nothing and says so."""

    name = 'sample'
    needs_fence = False

    def run(self, ctx):
        return 'sampled %s' % ctx.server.id


class FencedSample(Trigger):
    """A trigger whose host must be fenced, fed by a webhook: no trigger VMR
    ships declares both, so a test that sees it fenced knows the engine read
    the declaration, not the name."""

    type = 'fenced_sample'
    event_fields = {'host': str}
    sources = ('webhook',)
    needs_fence = True
    refused_actions = {'live_migrate': 'the sample host is dead'}


class PolledSample(Trigger):
    """A trigger the Nova poll feeds, for PAUSED servers only."""

    type = 'polled_sample'
    event_fields = {'server_id': str}
    sources = ('nova-poll',)

    def polled_statuses(self, trigger_spec):
        return ('PAUSED',)

    def affects(self, event, server):
        return getattr(server, 'id', None) == event.get('server_id')


#: entry points of the samples, for ``plugin_dist``
SAMPLE_TRIGGERS = {'fenced_sample': 'tests.plugin_samples:FencedSample',
                   'polled_sample': 'tests.plugin_samples:PolledSample'}
