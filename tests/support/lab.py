"""The lab tests' settings: the real cloud they may run against, the lab's
short delays, and the marker of tests that only make sense in the lab.

``tests/functional/lab/conftest.py`` builds its fixtures from these; other
suites reuse :data:`FAST_DELAYS` for their own labs.
"""

import os

import pytest

REAL_CLOUD = os.environ.get('VMR_TEST_CLOUD')

#: Delays short enough for tests, still asynchronous.
FAST_DELAYS = {'boot': 0.05, 'delete': 0.02, 'evacuate': 0.1,
               'live_migrate': 0.2, 'migrate': 0.1, 'rebuild': 0.05,
               'reboot': 0.05, 'stop': 0.02, 'start': 0.02, 'suspend': 0.02,
               'resume': 0.02, 'snapshot': 0.05, 'host_boot': 0.3,
               'rpc_timeout': 1.0}


def lab_only(reason='needs the lab (fault injection or lab internals)'):
    """Skip marker for tests that cannot run against a real cloud."""
    return pytest.mark.skipif(REAL_CLOUD is not None,
                              reason='VMR_TEST_CLOUD is set: %s' % reason)
