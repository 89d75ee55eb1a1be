"""Plugins that exist only for tests, installed with :mod:`tests.plugindist`."""

from vmr_coordinator.actions.base import Action


class SampleAction(Action):
    """An action that changes nothing and says so."""

    name = 'sample'
    needs_fence = False

    def run(self, ctx):
        return 'sampled %s' % ctx.server.id
