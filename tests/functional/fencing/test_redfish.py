"""The redfish fencer (sushy) against the lab's Redfish server."""

import time

import pytest

from vmr_coordinator.fencing import base
from vmr_lab.redfish import RedfishServer

sushy = pytest.importorskip(
    'sushy', reason='sushy is not installed (pip install vmr[redfish])')

PASSWORD = 'rf-Secret-42'


@pytest.fixture
def redfish():
    power = {'compute-1': 'on', 'compute-2': 'on'}

    def backing(name):
        def get_power():
            return power[name]

        def set_power(state):
            power[name] = 'off' if state in ('off', 'shutdown') else 'on'
        return get_power, set_power

    server = RedfishServer('fence', PASSWORD)
    for name in power:
        server.add_system(name, *backing(name))
    server.start()
    yield server, power
    server.stop()


def target():
    return base.FenceTarget(host='compute-2', now=time.time())


@pytest.mark.parametrize('auth', ['auto', 'session', 'basic'])
def test_force_off_verified(redfish, conf, auth):
    server, power = redfish
    fencer = base.load_fencer('redfish', {
        'address': server.url, 'username': 'fence', 'password': PASSWORD,
        'system': 'compute-2', 'auth': auth}, conf)
    assert fencer.status(target()) == base.PowerState.ON
    result = fencer.fence(target(), 5)
    assert result.verified, result.error
    assert result.evidence.startswith(
        'redfish %s system compute-2: ForceOff, then 1 poll: PowerState Off'
        % server.url)
    assert power == {'compute-1': 'on', 'compute-2': 'off'}
    assert fencer.unfence(target()).verified
    assert power['compute-2'] == 'on'


def test_wrong_password_and_unreachable(redfish, conf):
    server, power = redfish
    fencer = base.load_fencer('redfish', {
        'address': server.url, 'username': 'fence', 'password': 'nope-123',
        'system': 'compute-1'}, conf)
    result = fencer.fence(target(), 5)
    assert not result.verified
    assert result.error == ("Redfish %s rejected the credentials of user "
                            "'fence' (check username/password in the fence "
                            'profile)' % server.url)
    assert 'nope-123' not in str(result.to_dict())
    server.stop()
    result = fencer.fence(target(), 2)
    assert not result.verified and 'unreachable' in result.error
    assert power['compute-1'] == 'on'


def test_address_must_be_a_url(conf):
    with pytest.raises(base.FenceConfigError, match="must be a URL"):
        base.load_fencer('redfish', {'address': '10.0.0.1', 'username': 'u',
                                     'password': 'p'}, conf)
