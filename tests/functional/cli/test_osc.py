"""``openstack vmr ...``: the OSC plugin, through the real openstack
command, against the lab's Keystone (the VMR endpoint found in its
catalog) and the API behind keystonemiddleware."""

import configparser
import json
import os
import subprocess

import pytest

from tests.support.keystone import (OPENSTACK, kapi_fixture,
                                    keystone_lab_fixture, openstack)

lab = keystone_lab_fixture()
kapi = kapi_fixture()

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..')


def entry_points(group):
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    return dict(line.split(' = ', 1) for line in parser['options.entry_points'][
        group].strip().splitlines())


def test_every_vmr_command_is_an_openstack_vmr_command():
    vmr = entry_points('vmr.cli')
    osc = entry_points('openstack.vmr.v1')
    assert {'vmr_' + name: target for name, target in vmr.items()} == osc


@pytest.mark.skipif(not os.access(OPENSTACK, os.X_OK),
                    reason='python-openstackclient is not installed')
def test_openstack_vmr_through_the_catalog(kapi, lab):
    proc = subprocess.run([OPENSTACK, 'vmr', '--help'], capture_output=True,
                          text=True, timeout=120)
    if 'Unknown command' in proc.stdout + proc.stderr:
        pytest.skip('the openstack.vmr.v1 entry points are not installed '
                    '(pip install -e .)')
    lab.add_endpoint('vmr', 'vmr', kapi.url)
    kapi.add_host('compute-1')

    rc, out, err = openstack('--os-cloud', 'vmr-lab', 'vmr', 'status', '-f',
                             'json')
    assert rc == 0, err
    assert json.loads(out)['hosts'] == {'total': 1, 'by_state': json.loads(
        out)['hosts']['by_state']}
    assert json.loads(out)['hosts']['by_state']['up'] == 1

    rc, out, err = openstack('--os-cloud', 'vmr-lab', 'vmr', 'host',
                             'list', '-f', 'value', '-c', 'Host')
    assert rc == 0, err
    assert out.split() == ['compute-1']
    rc, out, err = openstack('--os-cloud', 'vmr-lab-reader', 'vmr',
                             'recovery', 'list')
    assert rc == 0, err

    # the policy refuses the reader a write, by the rule's name
    rc, out, err = openstack('--os-cloud', 'vmr-lab-reader', 'vmr', 'pause')
    assert rc != 0
    assert 'HTTP 403' in err and 'vmr:cluster:pause' in err
    assert kapi.store.get(kapi.store.keys.pause) is None

    rc, out, err = openstack('--os-cloud', 'vmr-lab', 'vmr', 'pause',
                             '--reason', 'osc')
    assert rc == 0, err
    assert kapi.store.get(kapi.store.keys.pause).json()['by'] == \
        'admin@admin'
