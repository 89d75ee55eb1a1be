"""The keepalived configurations the templater tests render: hand-picked
cases (pinned by golden files in the unit tests, checked with a real
``keepalived -t`` in the functional ones) and a Hypothesis strategy of
valid configurations."""

import ipaddress

from hypothesis import strategies as st

from vmr_keepalived import templater
from vmr_keepalived.model import (
    GlobalDefs,
    KeepalivedConfig,
    TrackScript,
    VrrpInstance,
)

TOKEN = 'golden-token-0123456789abcdef'


def guest_pair_nopreempt():
    return templater.GuestPair(
        name='web', vip='10.0.0.100/24', virtual_router_id=51, service='nginx',
        members=[{'name': 'web-1', 'fixed_ip': '10.0.0.11'},
                 {'name': 'web-2', 'fixed_ip': '10.0.0.12'}],
        webhook={'url': 'https://vmr.example.org:8779/v1/alarms/keepalived',
                 'token': TOKEN},
        auth_pass='s3cr3t')


def guest_pair_preempt_v6():
    return templater.GuestPair(
        name='db', vip='2001:db8::100/64', virtual_router_id=52, interface='eth1',
        check_command='/usr/bin/test -f /run/postgresql/16-main.pid',
        members=[{'name': 'db-a', 'fixed_ip': '2001:db8::a'},
                 {'name': 'db-b', 'fixed_ip': '2001:db8::b'}],
        preempt=True, preempt_delay=30, install_packages=False)


def controller_vip_three():
    return templater.ControllerVip(
        controllers=[{'name': 'ctl-1', 'address': '192.0.2.11'},
                     {'name': 'ctl-2', 'address': '192.0.2.12'},
                     {'name': 'ctl-3', 'address': '192.0.2.13'}],
        vip='192.0.2.100/24', virtual_router_id=60)


def controller_vip_two_preempt():
    return templater.ControllerVip(
        controllers=[{'name': 'ctl-1', 'address': '192.0.2.11', 'interface': 'eth1'},
                     {'name': 'ctl-2', 'address': '192.0.2.12'}],
        vip='192.0.2.101/24', virtual_router_id=61, api_port=9779, preempt=True,
        auth_pass='ctlpass')


def generic_config():
    """The base template directly: VRRPv3, two instances, every notify kind."""
    return KeepalivedConfig(
        global_defs=GlobalDefs(router_id='lb-1', vrrp_version=3),
        track_scripts=(TrackScript(name='chk_haproxy', script='/usr/bin/pidof haproxy',
                                   interval=1, fall=3, rise=2, weight=-20, timeout=2),),
        instances=(
            VrrpInstance(name='VI_v4', interface='eth0', virtual_router_id=10, priority=200,
                         state='MASTER', advert_int=0.5,
                         virtual_ipaddresses=('198.51.100.10/24', '198.51.100.11/24'),
                         track_scripts=('chk_haproxy',),
                         notify_master='/etc/keepalived/master.sh',
                         notify_backup='/etc/keepalived/backup.sh',
                         notify_fault='/etc/keepalived/fault.sh',
                         notify_stop='/etc/keepalived/stop.sh'),
            VrrpInstance(name='VI_v6', interface='eth0', virtual_router_id=10, priority=100,
                         virtual_ipaddresses=('2001:DB8:0::10/64',), preempt_delay=5,
                         unicast_src_ip='2001:db8::1', unicast_peers=('2001:db8::2',)),
        ))


GUEST_PAIRS = {'guest_pair_nopreempt': guest_pair_nopreempt,
               'guest_pair_preempt_v6': guest_pair_preempt_v6}
CONTROLLER_VIPS = {'controller_vip_three': controller_vip_three,
                   'controller_vip_two_preempt': controller_vip_two_preempt}


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
