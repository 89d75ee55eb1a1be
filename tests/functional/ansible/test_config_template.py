"""The coordinator role's configuration template, rendered by real Ansible.

A one-task play on localhost renders ``vmr-coordinator.conf.j2`` with the
roles' own defaults and a few inventory variables, the way the role does;
the result is read back as the coordinator reads it (oslo.config).  Seconds,
not a deployment: ``test_site.py`` deploys for real.
"""

import json
import os
import shutil
import subprocess
import sys

from oslo_config import cfg
import pytest
import yaml

from vmr_common import conf as vmr_conf

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))), 'ansible', 'roles')


def _playbook():
    return shutil.which('ansible-playbook', path=os.path.dirname(
        sys.executable) + os.pathsep + os.environ.get('PATH', ''))


pytestmark = pytest.mark.skipif(_playbook() is None,
                                reason='ansible-playbook is not installed')


def render(tmp_path, **variables):
    """The coordinator's config as the role writes it for ``variables``."""
    out = tmp_path / 'vmr-coordinator.conf'
    play = [{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'vars_files': [os.path.join(ROLES, 'vmr', 'defaults', 'main.yml'),
                       os.path.join(ROLES, 'vmr_coordinator', 'defaults',
                                    'main.yml')],
        'tasks': [{'ansible.builtin.template': {
            'src': os.path.join(ROLES, 'vmr_coordinator', 'templates',
                                'vmr-coordinator.conf.j2'),
            'dest': str(out), 'mode': '0600'}}],
    }]
    path = tmp_path / 'play.yml'
    path.write_text(yaml.safe_dump(play))
    # extra vars: above the defaults read as vars_files, like inventory
    # variables are above role defaults in a real play
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(dict({
        'ansible_python_interpreter': sys.executable,
        'vmr_service_root': str(tmp_path),
        # set by the vmr role's endpoints.yml in a real play
        'vmr_etcd_endpoint_list': ['http://127.0.0.1:2379']}, **variables)))
    binary = _playbook()
    result = subprocess.run(
        [binary, '-i', 'localhost,', '-e', '@%s' % extra, str(path)], capture_output=True,
        text=True, timeout=120,
        env=dict(os.environ, ANSIBLE_LOCALHOST_WARNING='false',
                 ANSIBLE_NOCOLOR='1'))
    assert result.returncode == 0, result.stdout + result.stderr
    conf = cfg.ConfigOpts()
    vmr_conf.register_all(conf)
    conf(['--config-file', str(out)], project='vmr-test')
    return conf, out.read_text()


def test_notifications_off_by_default_and_on_when_asked(tmp_path):
    (tmp_path / 'a').mkdir()
    conf, _text = render(tmp_path / 'a',
                         vmr_coordinator_api_auth_strategy='noauth')
    assert conf.notifications.enabled is False
    assert conf.notifications.transport_url is None

    url = 'rabbit://vmr:bus-password@127.0.0.1:5672/'
    (tmp_path / 'b').mkdir()
    conf, text = render(tmp_path / 'b',
                        vmr_coordinator_api_auth_strategy='noauth',
                        vmr_coordinator_notifications_enabled=True,
                        vmr_coordinator_notifications_transport_url=url,
                        vmr_coordinator_notifications_topics=['vmr', 'ops'])
    assert conf.notifications.enabled is True
    assert conf.notifications.transport_url == url
    assert conf.notifications.driver == 'messagingv2'
    assert conf.notifications.topics == ['vmr', 'ops']
    assert '[notifications]' in text
