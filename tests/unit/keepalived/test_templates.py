"""Golden-file tests for every template variant, plus keepalived -t on each config.

Regenerate the golden files after an intended change with
``VMR_REGEN_GOLDEN=1 pytest tests/unit/keepalived`` and review ``git diff``.
"""

import stat

import pytest
import yaml

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


@pytest.mark.parametrize('case', sorted(GUEST_PAIRS))
def test_guest_pair_golden(case, golden, keepalived_check):
    rendered = templater.render_guest_pair(GUEST_PAIRS[case]())
    for member, files in rendered.items():
        for filename, text in files.items():
            golden(f'{case}/{member}.{filename}', text)
        keepalived_check(f'{case}-{member}.conf', files[templater.CONF_FILE])


@pytest.mark.parametrize('case', sorted(CONTROLLER_VIPS))
def test_controller_vip_golden(case, golden, keepalived_check):
    rendered = templater.render_controller_vip(CONTROLLER_VIPS[case]())
    for member, files in rendered.items():
        assert list(files) == [templater.CONF_FILE]
        golden(f'{case}/{member}.keepalived.conf', files[templater.CONF_FILE])
        keepalived_check(f'{case}-{member}.conf', files[templater.CONF_FILE])


def test_generic_config_golden(golden, keepalived_check):
    text = templater.KeepalivedTemplater().render_config(generic_config())
    golden('generic/keepalived.conf', text)
    keepalived_check('generic.conf', text)


def test_guest_pair_peers_point_at_each_other():
    configs = guest_pair_nopreempt().configs()
    one, two = (configs[m].instances[0] for m in ('web-1', 'web-2'))
    assert (one.unicast_src_ip, one.unicast_peers) == ('10.0.0.11', ('10.0.0.12',))
    assert (two.unicast_src_ip, two.unicast_peers) == ('10.0.0.12', ('10.0.0.11',))
    assert one.priority > two.priority
    # nopreempt only works from BACKUP, so both start there.
    assert one.state == two.state == 'BACKUP' and one.nopreempt and two.nopreempt


def test_user_data_installs_the_rendered_files():
    rendered = templater.render_guest_pair(guest_pair_nopreempt())['web-1']
    assert rendered['user-data'].startswith('#cloud-config\n')
    data = yaml.safe_load(rendered['user-data'])
    files = {f['path']: f for f in data['write_files']}
    conf = files[templater.GUEST_CONF_PATH]
    assert conf['content'] == rendered['keepalived.conf']
    notify = files[templater.GUEST_NOTIFY_PATH]
    assert notify['content'] == rendered['notify.sh']
    assert stat.S_IMODE(int(notify['permissions'], 8)) == 0o755
    token = files[templater.GUEST_TOKEN_FILE]
    assert token['content'].strip() == TOKEN
    assert token['permissions'] == '0600' and token['owner'] == 'root:root'
    assert data['packages'] == ['keepalived', 'curl']
    assert ['systemctl', 'restart', 'keepalived'] in data['runcmd']


def test_secrets_stay_out_of_config_and_repr():
    pair = guest_pair_nopreempt()
    rendered = templater.render_guest_pair(pair)
    for files in rendered.values():
        assert TOKEN not in files['keepalived.conf']
        assert TOKEN not in files['notify.sh']
        assert 'notify "/usr/local/sbin/vmr-keepalived-notify"' in files['keepalived.conf']
    assert TOKEN not in repr(pair) and 's3cr3t' not in repr(pair)
    instance = pair.configs()['web-1'].instances[0]
    assert 's3cr3t' not in repr(instance)


def test_notify_script_posts_pair_instance_state():
    text = templater.render_guest_pair(guest_pair_nopreempt())['web-2']['notify.sh']
    assert '{"pair": "web", "instance": "web-2", "state": "\'"$state"\'"}' in text
    assert "TOKEN_FILE='/etc/vmr/keepalived-notify.token'" in text
    assert '-H @-' in text  # the token reaches curl on stdin, not argv


def test_no_webhook_means_no_notify():
    pair = guest_pair_preempt_v6()
    rendered = templater.render_guest_pair(pair)
    assert set(rendered['db-a']) == {'keepalived.conf', 'user-data'}
    assert 'notify' not in rendered['db-a']['keepalived.conf']
    assert 'packages' not in yaml.safe_load(rendered['db-a']['user-data'])


def test_controller_track_script_checks_readyz():
    conf = templater.render_controller_vip(controller_vip_three())['ctl-2']['keepalived.conf']
    assert ('script "/usr/bin/curl -fsS --max-time 2 -o /dev/null '
            'http://127.0.0.1:8779/readyz"') in conf
    assert 'priority 125' in conf


def test_templater_is_strict():
    t = templater.KeepalivedTemplater()
    with pytest.raises(Exception, match='undefined'):
        t.render('notify.sh.j2', pair='p')  # the other variables are missing
    with pytest.raises(TypeError):
        t.render_config({'global_defs': {}})


def test_keepalived_check_really_checks(keepalived_check):
    """Guard against a checker that passes everything: a broken config must fail."""
    good = templater.KeepalivedTemplater().render_config(generic_config())
    with pytest.raises(AssertionError, match='outside range'):
        keepalived_check('broken.conf', good.replace('priority 200', 'priority 300'))
    with pytest.raises(AssertionError, match="doesn't exist"):
        keepalived_check('no-such-if.conf', good.replace('eth0', 'nosuch0'))
