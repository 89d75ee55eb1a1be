"""Fencer loading, option checking, redaction and the watchdog decision."""

import pytest
from oslo_config import cfg

from vmr_common.conf import fencing as fencing_conf
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import watchdog

SECRET = 'do-not-print-me'


@pytest.fixture
def conf():
    c = cfg.ConfigOpts()
    fencing_conf.register_opts(c)
    c([])
    return c


def test_every_entry_point_loads():
    for name in ('ipmi', 'redfish', 'fence_agent', 'watchdog',
                 'nova_force_down', 'noop'):
        assert base.fencer_class(name) is not None, name


def test_unknown_driver_names_the_entry_point(conf):
    with pytest.raises(base.FenceConfigError) as err:
        base.load_fencer('nosuch', {}, conf, context="fence profile 'x', "
                                                     'rung 1')
    assert ("fence profile 'x', rung 1 (nosuch): no fencer named 'nosuch' "
            "(no entry point 'nosuch' in namespace 'vmr.fencers'") \
        in str(err.value)


def test_missing_option_message(conf):
    with pytest.raises(base.FenceConfigError) as err:
        base.load_fencer('ipmi', {'username': 'u', 'password': SECRET}, conf,
                         context="fence profile 'rack1', rung 1")
    assert str(err.value) == ("fence profile 'rack1', rung 1 (ipmi): "
                              "missing option 'address'")


def test_unknown_option_lists_the_known_ones(conf):
    with pytest.raises(base.FenceConfigError, match=r"unknown option "
                       r"'adress' \(known: address, kg, password"):
        base.load_fencer('ipmi', {'adress': 'x', 'address': 'a',
                                  'username': 'u', 'password': SECRET}, conf)


def test_noop_refused_unless_unsafe_fencing_allowed(conf):
    with pytest.raises(base.FenceConfigError,
                       match='allow_unsafe_fencing = true'):
        base.load_fencer('noop', {}, conf)
    with pytest.raises(base.FenceConfigError):
        base.load_fencer('noop', {}, None)
    conf.set_override('allow_unsafe_fencing', True, 'fencing')
    fencer = base.load_fencer('noop', {}, conf)
    result = fencer.fence(base.FenceTarget(host='h'), 1)
    assert result.verified and result.method == 'noop'


def test_describe_and_repr_redact_secrets(conf):
    fencer = base.load_fencer('ipmi', {'address': '10.0.0.1', 'username': 'u',
                                       'password': SECRET, 'kg': SECRET},
                              conf)
    assert SECRET not in repr(fencer)
    assert SECRET not in str(fencer.describe())
    assert fencer.describe()['options']['address'] == '10.0.0.1'
    agent = base.fencer_class('fence_agent')
    assert agent.accepts_option('options')


def test_result_scrubs_secrets_echoed_by_a_library(conf):
    fencer = base.load_fencer('ipmi', {'address': 'a', 'username': 'u',
                                       'password': SECRET}, conf)
    result = fencer.result(False, error='lib said: bad password %s' % SECRET)
    assert SECRET not in result.error and '***' in result.error
    assert result.to_dict() == {'verified': False, 'method': 'ipmi',
                                'evidence': '', 'duration': 0.0,
                                'error': 'lib said: bad password ***',
                                'power_state': 'unknown'}


@pytest.mark.parametrize('key, secret', [
    ('password', True), ('bmc_password', True), ('kg', True),
    ('snmp_community', True), ('address', False), ('passwordless', False),
])
def test_secret_option_names(key, secret):
    assert base.is_secret_option(key) is secret


def test_call_with_deadline():
    assert base.call_with_deadline(lambda: 42, 1) == (True, 42, None)
    finished, value, error = base.call_with_deadline(lambda: 1 / 0, 1)
    assert finished and isinstance(error, ZeroDivisionError)


# -- watchdog fencer: pure decisions with injected times -----------------

def target(armed=True, timeout=30, absent_since=100.0, now=140.0):
    record = {'watchdog': {'armed': armed, 'timeout': timeout}}
    return base.FenceTarget(host='compute-3', record=record,
                            absent_since=absent_since, now=now)


@pytest.mark.parametrize('kwargs, verified, text', [
    ({'armed': False}, False, 'watchdog not armed on compute-3'),
    ({'now': 104.1}, False, 'lease gone 4.1 s < watchdog 30 s + margin 5 s: '
                            'wait 30.9 s'),
    ({'now': 135.0}, False, 'lease gone 35.0 s < watchdog 30 s'),
    ({'now': 135.5}, True, 'lease gone 35.5 s > watchdog 30 s + margin 5 s'),
    ({'absent_since': None}, False, 'still holds its lease'),
    ({'timeout': 'x'}, False, 'without a usable timeout'),
])
def test_watchdog_decision(kwargs, verified, text):
    ok, sentence = watchdog.watchdog_decision(target(**kwargs), 5.0)
    assert ok is verified
    assert text in sentence


def test_watchdog_fencer_uses_conf_margin_and_profile_override(conf):
    conf.set_override('watchdog_margin', 1.0, 'fencing')
    fencer = base.load_fencer('watchdog', {}, conf)
    assert fencer.fence(target(now=131.5), 1).verified
    strict = base.load_fencer('watchdog', {'margin': 10}, conf)
    result = strict.fence(target(now=131.5), 1)
    assert not result.verified
    assert 'margin 10 s: wait' in result.error


def test_watchdog_without_record_is_not_verified(conf):
    fencer = base.load_fencer('watchdog', {}, conf)
    result = fencer.fence(base.FenceTarget(host='h', absent_since=0, now=1e9),
                          1)
    assert not result.verified and 'not armed on h' in result.error


def test_fence_agents_do_not_inherit_our_credentials(monkeypatch):
    from vmr_coordinator.fencing import fence_agent
    monkeypatch.setenv('OS_PASSWORD', SECRET)
    monkeypatch.setenv('PATH', '/usr/sbin:/usr/bin')
    env = fence_agent.agent_environment()
    assert 'OS_PASSWORD' not in env and SECRET not in str(env)
    assert env['PATH'] == '/usr/sbin:/usr/bin'


def test_agent_message_drops_python_warning_noise():
    from vmr_coordinator.fencing import fence_agent
    stderr = ("/usr/sbin/fence_ipmilan:5: DeprecationWarning: 'pipes' is "
              "deprecated\n  from pipes import quote\n"
              "2026-11-27 11:44:45,309 ERROR: Failed: Unable to obtain "
              "correct plug status\n")
    assert fence_agent._agent_message('', stderr).endswith(
        'ERROR: Failed: Unable to obtain correct plug status')
    assert fence_agent._agent_message('', '') == 'no output'
