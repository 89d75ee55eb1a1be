"""The fence_agent fencer driving the real fence_ipmilan against a virtual BMC."""

import time

import pytest

from tests.support.fencing import needs_fence_ipmilan, needs_ipmitool
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder
from vmr_coordinator.fencing import profiles as fp

pytestmark = [needs_fence_ipmilan, needs_ipmitool]


def target():
    return base.FenceTarget(host='compute-1', now=time.time())


def test_fence_ipmilan_fences_and_ipmitool_confirms(make_bmc, conf, ipmitool):
    bmc = make_bmc()
    fencer = base.load_fencer('fence_agent', bmc.agent_options(), conf)
    assert fencer.uses_ipmitool
    assert fencer.status(target()) == base.PowerState.ON
    result = fencer.fence(target(), 10)
    assert result.verified, result.error
    assert result.power_state == base.PowerState.OFF
    assert result.evidence.startswith(
        'fence_ipmilan 127.0.0.1:%d: action=off ok in' % bmc.port)
    assert 'action=status: OFF (exit 2)' in result.evidence
    assert bmc.host.power == 'off'
    assert ipmitool(bmc, 'power', 'status') == 'Chassis Power is off'

    back = fencer.unfence(target())
    assert back.verified and back.power_state == base.PowerState.ON
    assert ipmitool(bmc, 'power', 'status') == 'Chassis Power is on'


def test_wrong_password_is_a_clear_failure(make_bmc, conf):
    bmc = make_bmc()
    fencer = base.load_fencer(
        'fence_agent', bmc.agent_options(password='wrong-password-123'), conf)
    result = fencer.fence(target(), 10)
    assert not result.verified
    assert result.error.startswith('fence_ipmilan 127.0.0.1:%d: action=off '
                                   'failed (exit 1): ' % bmc.port)
    assert 'Unable to obtain correct plug status' in result.error
    assert 'DeprecationWarning' not in result.error
    assert 'wrong-password-123' not in str(result.to_dict())
    assert bmc.host.power == 'on'


def test_agent_timeout_kills_it(make_bmc, conf):
    bmc = make_bmc()
    bmc.handle.unreachable(True)
    fencer = base.load_fencer('fence_agent', bmc.agent_options(), conf)
    start = time.monotonic()
    result = fencer.fence(target(), 1.0)
    assert time.monotonic() - start < 2.0
    assert not result.verified
    assert 'action=off no answer within' in result.error


def test_fence_agent_as_second_rung(make_bmc, conf, ipmitool):
    bmc = make_bmc()
    prof = fp.FenceProfiles.from_dict({'profiles': {'p': {
        'hosts': {'compute-1': {'address': bmc.address, 'port': bmc.port}},
        'ladder': [
            {'driver': 'ipmi', 'username': bmc.username,
             'password': 'wrong', 'timeout': 2},
            {'driver': 'fence_agent', 'agent': 'fence_ipmilan',
             'username': bmc.username, 'password': bmc.password,
             'options': {'lanplus': 1, 'power_wait': 0}, 'timeout': 10},
        ]}}}).profile_for('compute-1')
    result = ladder.run_ladder(target(), prof, conf)
    assert result.verified and result.method == 'fence_agent'
    assert 'rejected the credentials' in result.attempts[0].error
    assert ipmitool(bmc, 'power', 'status') == 'Chassis Power is off'


@pytest.mark.parametrize('options, match', [
    ({'agent': 'fence_doesnotexist'}, "fence agent 'fence_doesnotexist' not "
                                      'found in /usr/sbin'),
    ({'agent': '../../bin/sh'}, "must be a fence agent name"),
    ({'agent': 'fence_ipmilan', 'options': {'action': 'reboot'}},
     "invalid fence agent option name 'action'"),
    ({'agent': 'fence_ipmilan', 'username': 'a\nip=evil'},
     "'username' must be a single line"),
])
def test_bad_options_are_refused(conf, options, match):
    with pytest.raises(base.FenceConfigError, match=match):
        base.load_fencer('fence_agent', options, conf)
