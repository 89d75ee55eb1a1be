"""Golden-file tests for every template variant (``keepalived -t`` checks the
same configs in tests/functional/keepalived/test_keepalived_accepts.py).

Regenerate the golden files after an intended change with
``VMR_REGEN_GOLDEN=1 pytest tests/unit/keepalived`` and review ``git diff``.
"""

import stat

import pytest
import yaml

from tests.support.keepalived_cases import (
    CONTROLLER_VIPS,
    GUEST_PAIRS,
    TOKEN,
    controller_vip_three,
    generic_config,
    guest_pair_nopreempt,
    guest_pair_preempt_v6,
)
from vmr_keepalived import templater


@pytest.mark.parametrize('case', sorted(GUEST_PAIRS))
def test_guest_pair_golden(case, golden):
    rendered = templater.render_guest_pair(GUEST_PAIRS[case]())
    for member, files in rendered.items():
        for filename, text in files.items():
            golden(f'{case}/{member}.{filename}', text)


@pytest.mark.parametrize('case', sorted(CONTROLLER_VIPS))
def test_controller_vip_golden(case, golden):
    rendered = templater.render_controller_vip(CONTROLLER_VIPS[case]())
    for member, files in rendered.items():
        assert list(files) == [templater.CONF_FILE]
        golden(f'{case}/{member}.keepalived.conf', files[templater.CONF_FILE])


def test_generic_config_golden(golden):
    text = templater.KeepalivedTemplater().render_config(generic_config())
    golden('generic/keepalived.conf', text)


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
