"""The lab's own service tests, pointed at the real tier.

``tests/functional/lab`` runs against any cloud named by ``VMR_TEST_CLOUD``.
Here it runs, in a pytest subprocess, against this module's real Keystone,
Nova, Placement, Glance and Cinder: every test must pass or skip with its
reason (lab-only, or a service missing from the catalog).  The outcomes are
kept in ``<tmp>/lab-vs-real.xml`` (JUnit) and ``<tmp>/lab-vs-real.json``;
``doc/lab-vs-real.rst`` publishes them next to the lab's.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

#: The lab test modules of Keystone, Nova, Glance and Cinder (Octavia's and
#: Mistral's run in tests/real/test_octavia.py and test_mistral.py).
MODULES = ('test_nova.py', 'test_keystone.py', 'test_keypairs.py',
           'test_glance_cinder.py')


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


@pytest.mark.slow
@pytest.mark.real_services('cinder')
@pytest.mark.timeout(1800)   # the tier's start-up and ~2 min of tests
def test_lab_service_tests_pass_on_the_real_tier(real, tmp_path):
    proc, junit = run_lab_tests(
        real, tmp_path, [os.path.join('tests', 'functional', 'lab', m)
                         for m in MODULES], network='none', timeout=1800,
        name='lab-vs-real')
    results = outcomes(junit)
    with open(str(tmp_path / 'lab-vs-real.json'), 'w') as fh:
        json.dump(results, fh, indent=1, sort_keys=True)
    failed = {name: message for name, (outcome, message) in results.items()
              if outcome == 'failed'}
    assert proc.returncode == 0 and not failed, (
        'lab tests failed on the real tier: %s\n%s' % (
            failed, proc.stdout[-4000:]))
    passed = [name for name, (outcome, _) in results.items()
              if outcome == 'passed']
    # Sanity: the compute, identity and image tests really ran.
    assert len(passed) >= 25, results
    for name, (outcome, message) in results.items():
        if outcome == 'skipped':
            assert message, 'skipped without a reason: %s' % name
