"""Fixtures of the recovery-stage tests: a leading coordinator's
:class:`~vmr_coordinator.recovery.Recovery` on a real etcd and the lab cloud.

The coordinator holds the real leader key (its writes are leader-guarded
etcd transactions) but its loop does not run: a test calls the stage it
checks and reads what was written.  Nothing of etcd or OpenStack is mocked.
"""

import contextlib
import uuid

import pytest

from tests.labfixtures import conn_fixture, lab_fixture
from tests.support.actions import DELAYS
from tests.support.api_harness import make_conf
from vmr_common.store import Store

lab = lab_fixture(hosts=3, delays=DELAYS)
conn = conn_fixture(compute_api_version='2.95',
                    doc='Admin openstacksdk Connection to the lab.')


@contextlib.contextmanager
def leading_recovery(etcd_server, lab, tmp_path, overrides=()):
    """The Recovery stages of a coordinator that leads a fresh cluster
    whose cloud is ``lab``; ``overrides``: ``(group, option, value)`` of
    its configuration."""
    from vmr_coordinator import recovery as recovery_mod
    from vmr_coordinator import service
    cluster = 'r' + uuid.uuid4().hex[:10]
    conf = make_conf(etcd_server.endpoint, cluster)
    conf.set_override('clouds_yaml', lab.write_clouds_yaml(
        str(tmp_path / 'clouds.yaml')), 'cloud')
    conf.set_override('cloud', 'vmr-lab', 'cloud')
    for group, option, value in overrides:
        conf.set_override(option, value, group)
    store = Store([etcd_server.endpoint], cluster=cluster)
    coordinator = service.Coordinator(conf, store)
    assert coordinator.healer.election.step(), 'no leadership on a new cluster'
    stages = recovery_mod.Recovery(coordinator, max_workers=2)
    try:
        yield stages
    finally:
        stages.close()
        coordinator.healer.election.resign()


@pytest.fixture
def recovery(etcd_server, lab, tmp_path):
    """The Recovery stages of a coordinator that leads a fresh cluster
    whose cloud is ``lab``."""
    with leading_recovery(etcd_server, lab, tmp_path) as stages:
        yield stages
