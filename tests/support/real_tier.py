"""Helpers of the real tier's tests (``tests/real``): what the fencing stage
does to a real host, where a server's port and floating IP are, that the
request ids an action recorded are in the services' own logs, and the
lab's own test modules run in a pytest of their own against the tier.
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

#: the repository (the lab's tests run from there)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

REQUEST_IDS = re.compile(r'req-[0-9a-f-]{36}')


def fence(cloud, conn, host):
    """What the fencing stage does: power off, then force the service down."""
    cloud.hosts[host].set_power('off')
    conn.compute.update_service_forced_down(nova_service(conn, host),
                                            forced=True)


def nova_service(conn, host):
    """Nova's nova-compute service record of ``host``."""
    (service,) = [s for s in conn.compute.services(binary='nova-compute')
                  if s.host == host]
    return service


def port_of(conn, server):
    """The port of ``server`` (it has exactly one)."""
    (port,) = list(conn.network.ports(device_id=server.id))
    return port


def floating_ip(conn, server):
    """A new floating IP from ``public`` on ``server``'s port."""
    public = conn.network.find_network('public', ignore_missing=False)
    return conn.network.create_ip(floating_network_id=public.id,
                                  port_id=port_of(conn, server).id)


def assert_logged(cloud, result, neutron_calls=None):
    """Every request id of ``result`` is in neutron-api's or nova-api's
    log, and (unless None) exactly ``neutron_calls`` of them in Neutron's."""
    ids = REQUEST_IDS.findall(result)
    assert ids, result
    neutron = cloud.openstack.log_text('neutron-api')
    nova = cloud.openstack.log_text('nova-api')
    missing = [i for i in ids if i not in neutron and i not in nova]
    assert not missing, 'request ids in no API log: %s' % missing
    if neutron_calls is not None:
        assert len([i for i in ids if i in neutron]) == neutron_calls, \
            result


def outcomes(junit_path):
    """``{test name: ('passed' | 'failed' | 'skipped', message)}``."""
    result = {}
    for case in ET.parse(junit_path).getroot().iter('testcase'):
        name = '%s::%s' % (case.get('classname').rsplit('.', 1)[-1],
                           case.get('name'))
        outcome, message = 'passed', ''
        for tag in ('failure', 'error', 'skipped'):
            child = case.find(tag)
            if child is not None:
                outcome = 'skipped' if tag == 'skipped' else 'failed'
                message = child.get('message') or ''
                break
        result[name] = (outcome, message)
    return result


def run_lab_tests(cloud, tmp_path, paths, network, timeout, name):
    """Run the lab's service tests ``paths`` against ``cloud`` (a real
    tier) in a pytest of their own; ``(completed process, junit path)``."""
    junit = str(tmp_path / ('%s.xml' % name))
    env = dict(os.environ,
               OS_CLIENT_CONFIG_FILE=cloud.write_clouds_yaml(
                   str(tmp_path / 'clouds.yaml')),
               VMR_TEST_CLOUD=cloud.cloud_name,
               VMR_TEST_MEMBER_CLOUD=cloud.cloud_name + '-member',
               VMR_TEST_READER_CLOUD=cloud.cloud_name + '-reader',
               VMR_TEST_NETWORK=network,
               VMR_TEST_IMAGE=cloud.openstack.image_name,
               VMR_TEST_FLAVOR='m1.tiny',
               PYTHONPATH=os.pathsep.join(
                   [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    env.pop('VMR_SLOW', None)
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-rs', '-p', 'no:cacheprovider',
         '--junitxml', junit] + list(paths),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return proc, junit
