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

import pytest

from tests.support.real_tier import outcomes, run_lab_tests

#: The lab test modules of Keystone, Nova, Glance and Cinder (Octavia's and
#: Mistral's run in tests/real/test_octavia.py and test_mistral.py).
MODULES = ('test_nova.py', 'test_keystone.py', 'test_keypairs.py',
           'test_glance_cinder.py')


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
