"""Property tests: any input the model accepts renders to a config keepalived accepts.

The golden files pin a few hand-picked configs; these generate many valid
combinations (IPv4/IPv6, VRRPv2/v3, preempt settings, auth, several peers) and
run each rendering through ``keepalived -t``, so a validation hole or a
template branch that keepalived rejects shows up as a failing example.
"""

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmr_keepalived import templater
from vmr_keepalived.model import (
    GlobalDefs,
    KeepalivedConfig,
    TrackScript,
    VrrpInstance,
)

BASES = {4: ipaddress.ip_address('10.20.0.0'), 6: ipaddress.ip_address('2001:db8::')}
PREFIX = {4: 16, 6: 64}


@st.composite
def configs(draw):
    version = draw(st.sampled_from([4, 6]))
    vrrp_version = draw(st.sampled_from([2, 3]))
    hosts = draw(st.lists(st.integers(1, 60000), min_size=4, max_size=7, unique=True))
    addrs = [str(BASES[version] + h) for h in hosts]
    n_peers = draw(st.integers(1, 2))
    src, peers, vips = addrs[0], addrs[1:1 + n_peers], addrs[1 + n_peers:]
    state = draw(st.sampled_from(['MASTER', 'BACKUP']))
    nopreempt = state == 'BACKUP' and draw(st.booleans())
    preempt_delay = None
    if state == 'BACKUP' and not nopreempt and draw(st.booleans()):
        preempt_delay = draw(st.integers(0, 1000))
    # IPv6 VRRP is always v3: no authentication, fractional adverts allowed.
    effective = 3 if version == 6 else vrrp_version
    auth = None
    if effective == 2 and draw(st.booleans()):
        auth = draw(st.text('abcdefghijklmnopqrstuvwxyz0123456789', min_size=1, max_size=8))
    script = TrackScript(name='chk', script='/usr/bin/pidof sshd',
                         interval=draw(st.integers(1, 30)), fall=draw(st.integers(1, 5)),
                         rise=draw(st.integers(1, 5)), weight=draw(st.integers(-253, 253)),
                         timeout=draw(st.one_of(st.none(), st.integers(1, 30))))
    instance = VrrpInstance(
        name='VI_prop', interface=draw(st.sampled_from(['eth0', 'eth1'])),
        virtual_router_id=draw(st.integers(1, 255)), priority=draw(st.integers(1, 254)),
        state=state,
        advert_int=draw(st.integers(1, 10) if effective == 2
                        else st.sampled_from([0.5, 1, 1.5, 2, 10])),
        unicast_src_ip=src, unicast_peers=tuple(peers),
        virtual_ipaddresses=tuple(f'{v}/{PREFIX[version]}' for v in vips),
        nopreempt=nopreempt, preempt_delay=preempt_delay, auth_pass=auth,
        track_scripts=('chk',) if draw(st.booleans()) else (),
        notify=draw(st.sampled_from([None, '/usr/local/sbin/vmr-keepalived-notify'])))
    return KeepalivedConfig(global_defs=GlobalDefs(router_id='prop', vrrp_version=vrrp_version),
                            instances=(instance,), track_scripts=(script,))


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs())
def test_every_valid_config_passes_keepalived_t(config, keepalived_check):
    text = templater.KeepalivedTemplater().render_config(config)
    instance = config.instances[0]
    for vip in instance.virtual_ipaddresses:
        assert f'        {vip} dev {instance.interface}\n' in text
    assert ('nopreempt' in text) == instance.nopreempt
    keepalived_check('property.conf', text)
