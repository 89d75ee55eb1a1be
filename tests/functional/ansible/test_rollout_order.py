"""site.yml rolls coordinators standbys first and the current leader last.

Three controllers (connection local) and a real etcd whose leader key names
the first of them; ``--tags vmr-order-only`` matches no task, so only the
always-tagged steps run: the leader lookup and the coordinator play's
"which controller is next" line. The order those lines appear in is the
order the coordinators would be restarted in. No root needed; fast.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import requests
import yaml

from tests.support.ansible_site import ANSIBLE_DIR

pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook') is None,
                                reason='ansible-playbook is not on PATH '
                                       '(pip install ansible-core)')

CONTROLLERS = ('controller-1', 'controller-2', 'controller-3')


def _rollout(etcd, workdir, leader=None):
    import base64
    key = '/vmr/order-test/leader'
    if leader:
        requests.post(etcd.endpoint + '/v3/kv/put', timeout=5, json={
            'key': base64.b64encode(key.encode()).decode(),
            'value': base64.b64encode(leader.encode()).decode()}).raise_for_status()
    inventory = {'all': {
        'vars': {'ansible_connection': 'local',
                 'ansible_python_interpreter': sys.executable,
                 'vmr_etcd_endpoints': [etcd.endpoint],
                 'vmr_cluster': 'order-test'},
        'children': {'controller': {'hosts': {h: {} for h in CONTROLLERS}}}}}
    path = os.path.join(workdir, 'inventory-%s.yml' % (leader or 'none'))
    with open(path, 'w') as f:
        yaml.safe_dump(inventory, f)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ANSIBLE_DIR, 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'tmp'),
               ANSIBLE_HOME=os.path.join(workdir, 'home'))
    proc = subprocess.run(['ansible-playbook', '-i', path, 'site.yml',
                           '--tags', 'vmr-order-only'], cwd=ANSIBLE_DIR, env=env,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    flat = ' '.join(output.split())
    order = []
    for part in flat.split('vmr-coordinator rollout: ')[1:]:
        order.append(part.split()[0])
    return order, flat


def test_standbys_first_leader_last(etcd):
    workdir = tempfile.mkdtemp(prefix='vmr-ansible-order-')
    try:
        order, flat = _rollout(etcd, workdir)
        assert order == list(CONTROLLERS), flat[-2000:]  # no leader: inventory order
        order, flat = _rollout(etcd, workdir, leader='controller-1')
        assert order == ['controller-2', 'controller-3', 'controller-1'], flat[-2000:]
        assert 'controller-1 (the current leader, last)' in flat
        order, flat = _rollout(etcd, workdir, leader='controller-2')
        assert order == ['controller-1', 'controller-3', 'controller-2'], flat[-2000:]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
