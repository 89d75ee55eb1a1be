"""The one plugin loader (vmr_coordinator.plugins): listing, loading, the
error for an unknown name, and the three wrappers that use it."""

import configparser
import pathlib

import pytest
from oslo_config import cfg

from tests.plugin_samples import SampleAction
from tests.plugindist import plugin_dist_fixture
from vmr_common.conf import fencing as fencing_conf
from vmr_coordinator import plugins
from vmr_coordinator.actions import base as actions
from vmr_coordinator.fencing import base as fencing
from vmr_coordinator.triggers import base as triggers

plugin_dist = plugin_dist_fixture()
SETUP_CFG = pathlib.Path(__file__).parents[3] / 'setup.cfg'


def _declared():
    """``{namespace: {name: 'module:Class'}}`` as setup.cfg declares them."""
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    out = {}
    for namespace in plugins.KINDS:
        lines = parser['options.entry_points'][namespace].strip().splitlines()
        out[namespace] = dict(tuple(p.strip() for p in line.split('=', 1))
                              for line in lines)
    return out


@pytest.mark.parametrize('namespace', sorted(plugins.KINDS))
def test_every_declared_plugin_is_listed_and_loads(namespace):
    declared = _declared()[namespace]
    assert set(plugins.names(namespace)) >= set(declared)
    for name, target in declared.items():
        cls = plugins.plugin_class(namespace, name)
        assert '%s:%s' % (cls.__module__, cls.__qualname__) == target
        assert plugins.plugin_class(namespace, name) is cls   # imported once
    assert set(plugins.plugin_classes(namespace)) >= set(declared)


@pytest.mark.parametrize('namespace, typo, meant', [
    (plugins.FENCERS, 'ipmy', 'ipmi'),
    (plugins.ACTIONS, 'evacute', 'evacuate'),
    (plugins.TRIGGERS, 'host-down', 'host_down'),
])
def test_unknown_name_lists_the_installed_and_suggests_one(namespace, typo, meant):
    with pytest.raises(plugins.PluginNotFound) as err:
        plugins.plugin_class(namespace, typo)
    kind = plugins.KINDS[namespace]
    assert str(err.value) == (
        "no %s named '%s' (no entry point '%s' in namespace '%s'; installed: %s); "
        'did you mean %s?' % (kind, typo, typo, namespace,
                              ', '.join(plugins.names(namespace)), meant))


def test_unknown_name_without_a_close_one_asks_about_the_package():
    with pytest.raises(plugins.PluginNotFound,
                       match=r"installed: .*host_down.*\); is the package "
                             r'providing it installed\?$'):
        plugins.plugin_class(plugins.TRIGGERS, 'volcano')


@pytest.mark.parametrize('name', [None, 5, ''])
def test_a_name_that_is_not_a_plugin_name(name):
    with pytest.raises(plugins.PluginNotFound):
        plugins.plugin_class(plugins.ACTIONS, name)


def test_an_installed_distribution_adds_plugins(plugin_dist):
    assert 'sample' not in plugins.names(plugins.ACTIONS)
    plugin_dist({plugins.ACTIONS: {'sample': 'tests.plugin_samples:SampleAction'}})
    assert 'sample' in plugins.names(plugins.ACTIONS)
    assert 'evacuate' in plugins.names(plugins.ACTIONS)   # the package's own stay
    action = actions.load_action('sample', {'x': 1})
    assert isinstance(action, SampleAction) and action.params == {'x': 1}


def test_a_plugin_that_does_not_import(plugin_dist):
    plugin_dist({plugins.TRIGGERS: {'broken': 'tests.no_such_module:Nothing'}})
    assert 'broken' in plugins.names(plugins.TRIGGERS)
    with pytest.raises(plugins.PluginLoadError) as err:
        plugins.plugin_class(plugins.TRIGGERS, 'broken')
    assert str(err.value).startswith(
        "trigger 'broken' (entry point tests.no_such_module:Nothing in namespace "
        "'vmr.triggers') failed to load: ModuleNotFoundError")
    assert 'broken' not in plugins.plugin_classes(plugins.TRIGGERS)
    assert 'broken' not in triggers.installed_triggers()
    with pytest.raises(triggers.TriggerNotFound, match='failed to load'):
        triggers.load_trigger('broken')


def test_the_three_wrappers_say_the_same_thing():
    conf = cfg.ConfigOpts()
    fencing_conf.register_opts(conf)
    conf([])
    with pytest.raises(fencing.FenceConfigError) as fence_err:
        fencing.load_fencer('evacuate', {}, conf, context='rung 1')
    with pytest.raises(actions.ActionError) as action_err:
        actions.load_action('ipmi')
    with pytest.raises(triggers.TriggerNotFound) as trigger_err:
        triggers.load_trigger('ipmi')
    assert str(fence_err.value) == 'rung 1 (evacuate): ' + plugins.not_found_message(
        plugins.FENCERS, 'evacuate')
    assert str(action_err.value) == plugins.not_found_message(plugins.ACTIONS, 'ipmi')
    assert str(trigger_err.value) == plugins.not_found_message(plugins.TRIGGERS, 'ipmi')
