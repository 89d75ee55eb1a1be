"""The ipmi fencer and the ladder against real virtual BMCs (pyghmi server)."""

import time

from tests.support.fencing import needs_ipmitool
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder
from vmr_coordinator.fencing import profiles as fp


def profile_of(ladder_rungs, host='compute-1'):
    return fp.FenceProfiles.from_dict({'profiles': {'p': {
        'hosts': [host], 'ladder': ladder_rungs}}}).profile_for(host)


def target(host='compute-1', **kwargs):
    return base.FenceTarget(host=host, now=time.time(), **kwargs)


@needs_ipmitool
def test_ipmi_fences_and_ipmitool_confirms(make_bmc, conf, ipmitool):
    bmc = make_bmc()
    assert ipmitool(bmc, 'power', 'status') == 'Chassis Power is on'
    prof = profile_of([dict(driver='ipmi', timeout=5, **bmc.ipmi_options())])
    result = ladder.run_ladder(target(), prof, conf)
    assert result.verified, result.reason
    attempt = result.attempts[0]
    assert attempt.power_state == base.PowerState.OFF
    assert attempt.evidence.startswith(
        'ipmi 127.0.0.1:%d: chassis power off, then 1 poll: off after'
        % bmc.port)
    assert bmc.host.power == 'off' and bmc.host.requests == ['off']
    assert ipmitool(bmc, 'power', 'status') == 'Chassis Power is off'

    fencer = base.load_fencer('ipmi', bmc.ipmi_options(), conf)
    assert fencer.status(target()) == base.PowerState.OFF
    back = fencer.unfence(target())
    assert back.verified and back.power_state == base.PowerState.ON
    assert ipmitool(bmc, 'power', 'status') == 'Chassis Power is on'


def test_unreachable_bmc_then_next_rung(make_bmc, conf):
    bmc = make_bmc()
    bmc.handle.unreachable(True)
    now = time.time()
    record = {'watchdog': {'armed': True, 'timeout': 30}}
    prof = profile_of([dict(driver='ipmi', timeout=1, **bmc.ipmi_options()),
                       {'driver': 'watchdog', 'margin': 5}])
    start = time.monotonic()
    result = ladder.run_ladder(
        target(record=record, absent_since=now - 60), prof, conf)
    assert time.monotonic() - start < 2.5
    assert result.verified and result.method == 'watchdog'
    assert result.attempts[0].error == (
        'BMC 127.0.0.1:%d unreachable after 1.0 s (no answer to login)'
        % bmc.port)
    assert 'fenced compute-1 via watchdog (rung 2 of 2)' in result.reason
    assert bmc.host.power == 'on'  # the BMC never got the request


def test_all_rungs_fail_nothing_happens(make_bmc, conf):
    dead = make_bmc()
    dead.handle.unreachable(True)
    wrong = make_bmc()
    prof = profile_of([
        dict(driver='ipmi', timeout=1, **dead.ipmi_options()),
        # answered in milliseconds; the generous timeout only absorbs load
        dict(driver='ipmi', timeout=5,
             **wrong.ipmi_options(password='not-the-password')),
        {'driver': 'watchdog'}])
    result = ladder.run_ladder(target(record={}), prof, conf)
    assert not result.verified and result.post == []
    assert result.reason == (
        'all 3 rungs failed: '
        'ipmi: BMC 127.0.0.1:%d unreachable after 1.0 s (no answer to '
        'login); '
        "ipmi: BMC 127.0.0.1:%d rejected the credentials of user "
        "'fence-admin' (check username/password in the fence profile); "
        'watchdog: watchdog not armed on compute-1' % (dead.port, wrong.port))
    assert 'not-the-password' not in str(result.to_dict())
    assert dead.host.power == 'on' and wrong.host.power == 'on'


def test_slow_bmc_deadline_is_honoured(make_bmc, conf):
    slow = make_bmc()
    slow.handle.slow(5)
    good = make_bmc()
    prof = profile_of([dict(driver='ipmi', timeout=1, **slow.ipmi_options()),
                       dict(driver='ipmi', timeout=5, **good.ipmi_options())])
    start = time.monotonic()
    result = ladder.run_ladder(target(), prof, conf)
    elapsed = time.monotonic() - start
    assert result.verified and len(result.attempts) == 2
    first = result.attempts[0]
    assert not first.verified
    assert first.duration < 1.5
    assert 'BMC 127.0.0.1:%d' % slow.port in first.error
    assert elapsed < 2.5
    assert good.host.power == 'off'


def test_bmc_that_stays_on_is_not_verified(make_bmc, conf):
    bmc = make_bmc()
    # A BMC that accepts "power off" but whose host never goes off.
    bmc.host.set_power = lambda state: None
    bmc.handle.set_power = bmc.host.set_power
    fencer = base.load_fencer('ipmi', bmc.ipmi_options(), conf)
    result = fencer.fence(target(), 5)
    assert not result.verified
    assert result.power_state == base.PowerState.ON
    assert 'accepted chassis power off but still reports on' in result.error


@needs_ipmitool
def test_ipmitool_drives_the_virtual_bmc(make_bmc, ipmitool):
    bmc = make_bmc()
    assert ipmitool(bmc, 'power', 'off') == 'Chassis Power Control: Down/Off'
    assert bmc.host.power == 'off'
    assert ipmitool(bmc, 'power', 'on') == 'Chassis Power Control: Up/On'
    ipmitool(bmc, 'power', 'cycle')
    ipmitool(bmc, 'power', 'reset')
    assert bmc.host.requests == ['off', 'on', 'cycle', 'reset']
    assert ipmitool(bmc, 'power', 'status') == 'Chassis Power is on'


def test_a_dead_bmc_reads_as_unreachable_at_login_every_time(make_bmc,
                                                              conf):
    from vmr_lab.ports import free_udp_port
    options = dict(make_bmc().ipmi_options(), port=free_udp_port())
    # Longer than pyghmi's own login timeout (~5 s): pyghmi gives up first,
    # with an exception that says nothing.
    prof = profile_of([dict(driver='ipmi', timeout=8, **options)])
    for _attempt in range(2):   # the blocked retry must not differ
        (rung,) = ladder.run_ladder(target(), prof, conf).attempts
        assert rung.error.startswith(
            'BMC 127.0.0.1:%d unreachable during login (no answer; gave up '
            'after' % options['port']), rung.error
        assert 'None' not in rung.error
        assert rung.duration > 1.0
