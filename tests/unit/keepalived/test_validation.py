"""Every validation rule: the error is one line naming the field and the rule."""

import dataclasses

import pytest

from vmr_keepalived import templater
from vmr_keepalived.model import (
    GlobalDefs,
    KeepalivedConfig,
    KeepalivedConfigError,
    TrackScript,
    VrrpInstance,
)


def instance(**over):
    fields = dict(name='VI_1', interface='eth0', virtual_router_id=51, priority=100,
                  virtual_ipaddresses=('10.0.0.100/24',), unicast_src_ip='10.0.0.1',
                  unicast_peers=('10.0.0.2',))
    fields.update(over)
    return VrrpInstance(**fields)


def config(*instances, scripts=(), **global_over):
    return KeepalivedConfig(global_defs=GlobalDefs(router_id='n1', **global_over),
                            instances=instances or (instance(),), track_scripts=scripts)


def pair(**over):
    fields = dict(name='web', vip='10.0.0.100/24', virtual_router_id=51,
                  members=[{'name': 'web-1', 'fixed_ip': '10.0.0.11'},
                           {'name': 'web-2', 'fixed_ip': '10.0.0.12'}])
    fields.update(over)
    return templater.GuestPair(**fields)


def controllers(**over):
    fields = dict(vip='192.0.2.100/24', virtual_router_id=60,
                  controllers=[{'name': 'c1', 'address': '192.0.2.1'},
                               {'name': 'c2', 'address': '192.0.2.2'}])
    fields.update(over)
    return templater.ControllerVip(**fields)


def expect(build, field, rule):
    with pytest.raises(KeepalivedConfigError) as info:
        build()
    err = info.value
    assert '\n' not in str(err)
    assert err.field == field, str(err)
    assert rule in err.rule, str(err)
    return err


INSTANCE_RULES = [
    # (overrides, field, words of the rule)
    ({'name': 'VI 1'}, 'vrrp_instance.name', 'no whitespace'),
    ({'name': ''}, 'vrrp_instance.name', 'must be 1-64'),
    ({'interface': 'eth 0'}, 'vrrp_instance[VI_1].interface', 'interface name'),
    ({'interface': 'averyveryverylongname'}, 'vrrp_instance[VI_1].interface', '1-15'),
    ({'virtual_router_id': 0}, 'vrrp_instance[VI_1].virtual_router_id', 'must be 1-255'),
    ({'virtual_router_id': 256}, 'vrrp_instance[VI_1].virtual_router_id', 'must be 1-255'),
    ({'priority': 0}, 'vrrp_instance[VI_1].priority', 'must be 1-254'),
    ({'priority': 255}, 'vrrp_instance[VI_1].priority', 'must be 1-254'),
    ({'priority': True}, 'vrrp_instance[VI_1].priority', 'integer'),
    ({'priority': '100'}, 'vrrp_instance[VI_1].priority', 'integer'),
    ({'state': 'master'}, 'vrrp_instance[VI_1].state', 'MASTER or BACKUP'),
    ({'advert_int': 0}, 'vrrp_instance[VI_1].advert_int', 'seconds'),
    ({'virtual_ipaddresses': ()}, 'vrrp_instance[VI_1].virtual_ipaddresses', 'not be empty'),
    ({'virtual_ipaddresses': '10.0.0.100/24'},
     'vrrp_instance[VI_1].virtual_ipaddresses', 'must be a list'),
    ({'virtual_ipaddresses': ('10.0.0.300/24',)},
     'vrrp_instance[VI_1].virtual_ipaddresses', 'not a valid IP'),
    ({'virtual_ipaddresses': ('10.0.0.100',)},
     'vrrp_instance[VI_1].virtual_ipaddresses', 'prefix length'),
    ({'virtual_ipaddresses': ('10.0.0.100/24', '10.0.0.100/32')},
     'vrrp_instance[VI_1].virtual_ipaddresses', 'twice'),
    ({'virtual_ipaddresses': ('10.0.0.100/24', '2001:db8::1/64')},
     'vrrp_instance[VI_1].virtual_ipaddresses', 'mixes IPv4 and IPv6'),
    ({'virtual_ipaddresses': ('10.0.0.1/24',)},
     'vrrp_instance[VI_1].virtual_ipaddresses', 'also a unicast address'),
    ({'unicast_src_ip': 'ten.0.0.1'}, 'vrrp_instance[VI_1].unicast_src_ip', 'not a valid IP'),
    ({'unicast_src_ip': '10.0.0.1/24'}, 'vrrp_instance[VI_1].unicast_src_ip', 'without prefix'),
    ({'unicast_src_ip': '2001:db8::1'}, 'vrrp_instance[VI_1].unicast_src_ip',
     'is IPv6 but the VIPs are IPv4'),
    ({'unicast_peers': ('2001:db8::2',)}, 'vrrp_instance[VI_1].unicast_peers',
     'is IPv6 but the VIPs are IPv4'),
    ({'unicast_peers': ('10.0.0.1',)}, 'vrrp_instance[VI_1].unicast_peers',
     'contains the source address'),
    ({'unicast_peers': ('10.0.0.2', '10.0.0.2')}, 'vrrp_instance[VI_1].unicast_peers',
     'twice'),
    ({'unicast_peers': ('10.0.0.999',)}, 'vrrp_instance[VI_1].unicast_peers',
     'not a valid IP'),
    ({'state': 'MASTER', 'nopreempt': True}, 'vrrp_instance[VI_1].nopreempt',
     'requires state BACKUP'),
    ({'nopreempt': 'yes'}, 'vrrp_instance[VI_1].nopreempt', 'true or false'),
    ({'preempt_delay': 5, 'nopreempt': True}, 'vrrp_instance[VI_1].preempt_delay',
     'cannot be combined with nopreempt'),
    ({'preempt_delay': 5, 'state': 'MASTER'}, 'vrrp_instance[VI_1].preempt_delay',
     'requires state BACKUP'),
    ({'preempt_delay': 1001}, 'vrrp_instance[VI_1].preempt_delay', 'must be 0-1000'),
    ({'auth_pass': 'toolongpassword'}, 'vrrp_instance[VI_1].auth_pass', '1-8 characters'),
    ({'auth_pass': 'a b'}, 'vrrp_instance[VI_1].auth_pass', 'without whitespace'),
    ({'track_scripts': ('chk', 'chk')}, 'vrrp_instance[VI_1].track_scripts', 'twice'),
    ({'track_scripts': ('bad name',)}, 'vrrp_instance[VI_1].track_scripts', 'no whitespace'),
    ({'notify': 'notify.sh'}, 'vrrp_instance[VI_1].notify', 'absolute path'),
    ({'notify_master': '/bin/echo "hi"'}, 'vrrp_instance[VI_1].notify_master',
     'must not contain'),
    ({'notify_fault': ''}, 'vrrp_instance[VI_1].notify_fault', 'non-empty'),
]


@pytest.mark.parametrize('over,field,rule', INSTANCE_RULES,
                         ids=[f'{r[1].split(".")[-1]}-{i}' for i, r in
                              enumerate(INSTANCE_RULES)])
def test_instance_rules(over, field, rule):
    expect(lambda: instance(**over), field, rule)


def test_auth_pass_is_never_echoed():
    err = expect(lambda: instance(auth_pass='secret with space'),
                 'vrrp_instance[VI_1].auth_pass', 'without whitespace')
    assert 'secret' not in str(err)


def test_addresses_are_normalised():
    i = instance(virtual_ipaddresses=['2001:DB8:0::100/64'], unicast_src_ip='2001:DB8::1',
                 unicast_peers=['2001:db8:0:0::2'])
    assert i.virtual_ipaddresses == ('2001:db8::100/64',)
    assert (i.unicast_src_ip, i.unicast_peers) == ('2001:db8::1', ('2001:db8::2',))


SCRIPT_RULES = [
    ({'name': 'chk web'}, 'vrrp_script.name', 'no whitespace'),
    ({'script': 'pidof nginx'}, 'vrrp_script[chk].script', 'absolute path'),
    ({'script': '/usr/bin/pidof nginx\n/bin/rm'}, 'vrrp_script[chk].script', 'must not'),
    ({'interval': 0}, 'vrrp_script[chk].interval', 'must be 1-3600'),
    ({'fall': 0}, 'vrrp_script[chk].fall', 'must be 1-255'),
    ({'rise': 256}, 'vrrp_script[chk].rise', 'must be 1-255'),
    ({'weight': 254}, 'vrrp_script[chk].weight', 'must be -253-253'),
    ({'timeout': 0}, 'vrrp_script[chk].timeout', 'must be 1-3600'),
]


@pytest.mark.parametrize('over,field,rule', SCRIPT_RULES)
def test_track_script_rules(over, field, rule):
    fields = dict(name='chk', script='/usr/bin/pidof nginx')
    fields.update(over)
    expect(lambda: TrackScript(**fields), field, rule)


def test_global_defs_rules():
    expect(lambda: GlobalDefs(router_id='node 1'), 'global_defs.router_id', 'no whitespace')
    expect(lambda: GlobalDefs(router_id='n1', script_user='Root User'),
           'global_defs.script_user', 'user name')
    expect(lambda: GlobalDefs(router_id='n1', vrrp_version=4),
           'global_defs.vrrp_version', 'must be 2 or 3')
    expect(lambda: GlobalDefs(router_id='n1', enable_script_security='yes'),
           'global_defs.enable_script_security', 'true or false')


def test_config_rules():
    chk = TrackScript(name='chk', script='/usr/bin/pidof nginx')
    expect(lambda: KeepalivedConfig(global_defs=GlobalDefs(router_id='n1'), instances=()),
           'vrrp_instances', 'must not be empty')
    expect(lambda: config(instance(), instance(virtual_router_id=52)),
           'vrrp_instance[VI_1]', 'name is used twice')
    expect(lambda: config(instance(), instance(name='VI_2')),
           'vrrp_instance[VI_2].virtual_router_id',
           '51 is already used by vrrp_instance[VI_1] on interface eth0')
    expect(lambda: config(instance(track_scripts=('chk',))),
           'vrrp_instance[VI_1].track_scripts', "undefined vrrp_script 'chk'")
    expect(lambda: config(scripts=(chk, chk)), 'vrrp_script[chk]', 'name is used twice')
    expect(lambda: config({'name': 'VI_1'}), 'vrrp_instances', 'must hold VrrpInstance')
    expect(lambda: config(scripts=('chk',)), 'vrrp_scripts', 'must hold TrackScript')
    expect(lambda: config(instance(auth_pass='pw'), vrrp_version=3),
           'vrrp_instance[VI_1].auth_pass', 'VRRPv3 has no authentication')
    expect(lambda: config(instance(auth_pass='pw', virtual_ipaddresses=('2001:db8::9/64',),
                                   unicast_src_ip=None, unicast_peers=())),
           'vrrp_instance[VI_1].auth_pass', 'IPv6 VRRP is always version 3')
    expect(lambda: config(instance(advert_int=0.5)),
           'vrrp_instance[VI_1].advert_int', 'whole seconds')
    expect(lambda: config(instance(notify='/usr/local/bin/n'), enable_script_security=False),
           'global_defs.enable_script_security', 'must be true when scripts')


def test_same_router_id_on_other_interface_or_family_is_fine():
    config(instance(), instance(name='VI_2', interface='eth1'))
    config(instance(), instance(name='VI_6', virtual_ipaddresses=('2001:db8::1/64',),
                                unicast_src_ip=None, unicast_peers=()))


def test_guest_pair_rules():
    w = 'guest_pair[web]'
    expect(lambda: pair(name='web pair'), 'guest_pair.name', 'no whitespace')
    expect(lambda: pair(members=[{'name': 'a', 'fixed_ip': '10.0.0.1'}]),
           f'{w}.members', 'exactly 2 members')
    expect(lambda: pair(members=[{'name': 'a', 'fixed_ip': '10.0.0.1'},
                                 {'name': 'a', 'fixed_ip': '10.0.0.2'}]),
           f'{w}.members', 'used twice')
    expect(lambda: pair(members=[{'name': 'a', 'fixed_ip': '10.0.0.1'},
                                 {'name': 'b', 'fixed_ip': '10.0.0.1'}]),
           f'{w}.members', 'both members have fixed_ip')
    expect(lambda: pair(members=[{'name': 'a', 'fixed_ip': '10.0.0.1', 'prio': 1},
                                 {'name': 'b', 'fixed_ip': '10.0.0.2'}]),
           f'{w}.members[0]', "unknown field 'prio'")
    expect(lambda: pair(members=[{'name': 'a'}, {'name': 'b', 'fixed_ip': '10.0.0.2'}]),
           f'{w}.members[0].fixed_ip', 'is required')
    expect(lambda: pair(service='nginx', check_command='/bin/true'),
           f'{w}.service', 'either service or check_command')
    expect(lambda: pair(service='nginx; rm -rf /'), f'{w}.service', 'no whitespace')
    expect(lambda: pair(webhook={'url': 'ftp://x'}), 'webhook.url', 'http(s) URL')
    expect(lambda: pair(webhook={'url': "http://x/'$(id)'"}), 'webhook.url', 'without quotes')
    expect(lambda: pair(webhook={'url': 'http://x/', 'token': 'short'}),
           'webhook.token', '16-512 printable')
    expect(lambda: pair(webhook={'url': 'http://x/', 'token_file': 'relative'}),
           'webhook.token_file', 'absolute path')
    expect(lambda: pair(webhook={'url': 'http://x/', 'tokn': 'x'}),
           f'{w}.webhook', "unknown field 'tokn'")
    expect(lambda: pair(preempt_delay=10), f'{w}.preempt_delay', 'requires preempt: true')
    expect(lambda: pair(preempt='no'), f'{w}.preempt', 'true or false')
    expect(lambda: pair(vip='2001:db8::100/64'), 'vrrp_instance[VI_web].unicast_src_ip',
           'is IPv4 but the VIPs are IPv6')
    expect(lambda: pair(vip='10.0.0.11/24'), 'vrrp_instance[VI_web].virtual_ipaddresses',
           'also a unicast address')
    expect(lambda: pair(virtual_router_id=300), 'vrrp_instance[VI_web].virtual_router_id',
           'must be 1-255')


def test_controller_vip_rules():
    expect(lambda: controllers(controllers=[{'name': 'c1', 'address': '192.0.2.1'}]),
           'controller_vip.controllers', 'must list 2 or 3')
    four = [{'name': f'c{i}', 'address': f'192.0.2.{i}'} for i in range(1, 5)]
    expect(lambda: controllers(controllers=four), 'controller_vip.controllers', '2 or 3')
    expect(lambda: controllers(controllers=[{'name': 'c1', 'address': '192.0.2.1'},
                                            {'name': 'c1', 'address': '192.0.2.2'}]),
           'controller_vip.controllers', 'name is used twice')
    expect(lambda: controllers(api_port=70000), 'controller_vip.api_port', 'must be 1-65535')
    expect(lambda: controllers(vip='192.0.2.1/24'),
           'vrrp_instance[VI_vmr_api].virtual_ipaddresses', 'also a unicast address')


def test_render_accepts_mappings_and_reports_missing_fields():
    expect(lambda: templater.render_guest_pair({'name': 'web'}),
           'guest_pair.members', 'is required')
    expect(lambda: templater.render_controller_vip({'vip': '192.0.2.9/24',
                                                    'virtual_router_id': 1, 'vrid': 2}),
           'controller_vip', "unknown field 'vrid'")
    assert dataclasses.is_dataclass(pair())
