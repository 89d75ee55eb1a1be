"""The recovery stages of a leading coordinator, on a real etcd and the lab.

:func:`leading_recovery` gives the :class:`~vmr_coordinator.recovery.Recovery`
of a coordinator that holds the real leader key of a fresh cluster (its
loop does not run: a test calls the stage it checks); the ``recovery``
fixture of ``tests/functional/recovery/conftest.py`` is one.
:func:`fence_profiles` writes the fence profile of :data:`HOST` (IPMI to
its lab BMC, then Nova's force-down) and :func:`read_record` reads a
recovery record back.
"""

import contextlib
import json
import os
import uuid

from tests.support.api_harness import make_conf
from vmr_common.store import Store

#: the host whose fence profile :func:`fence_profiles` writes
HOST = 'compute-1'


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


def fence_profiles(lab, path):
    """Write at ``path`` (0600) a fence profile for :data:`HOST` of ``lab``:
    IPMI to its BMC, then ``nova_force_down`` with ``disable``."""
    from vmr_lab.cloud import BMC_PASSWORD
    bmc = lab.hosts[HOST].bmc
    doc = {'profiles': {'lab': {
        'hosts': {HOST: {'address': bmc.address, 'port': bmc.port}},
        'ladder': [{'driver': 'ipmi', 'username': lab.bmc_username,
                    'password': BMC_PASSWORD, 'timeout': 5}],
        'post': [{'driver': 'nova_force_down', 'disable': True}]}}}
    with open(path, 'w') as fh:
        json.dump(doc, fh)
    os.chmod(path, 0o600)
    return path


def read_record(recovery, rid):
    """The recovery record ``rid`` as the journal holds it."""
    return recovery.store.get(recovery.store.keys.recovery(rid)).json()
