"""Fixtures of the recovery-stage tests: a leading coordinator's
:class:`~vmr_coordinator.recovery.Recovery` on a real etcd and the lab cloud.

The coordinator holds the real leader key (its writes are leader-guarded
etcd transactions) but its loop does not run: a test calls the stage it
checks and reads what was written.  Nothing of etcd or OpenStack is mocked.
"""

import pytest

from tests.labfixtures import conn_fixture, lab_fixture
from tests.support.actions import DELAYS
from tests.support.recovery import leading_recovery

lab = lab_fixture(hosts=3, delays=DELAYS)
conn = conn_fixture(compute_api_version='2.95',
                    doc='Admin openstacksdk Connection to the lab.')


@pytest.fixture
def recovery(etcd_server, lab, tmp_path):
    """The Recovery stages of a coordinator that leads a fresh cluster
    whose cloud is ``lab``."""
    with leading_recovery(etcd_server, lab, tmp_path) as stages:
        yield stages
