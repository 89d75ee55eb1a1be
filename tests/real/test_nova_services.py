"""The fence's Nova post step against real Nova: force down and disable in
one request; un-force only once nova-compute reports again, enable only
once it is up.

Real nova-api decides on each disable and enable whether to call the
compute over RPC (to sync the ``COMPUTE_STATUS_DISABLED`` trait): it calls
only a service it believes up, and a call to a dead compute blocks for
``rpc_response_timeout`` (60 s).  Forcing the service down first makes it
"down" at once, so the disable returns at once -- also when both go in
one request, as Nova saves ``forced_down`` before it decides -- the rule
the lab models (DESIGN §7) and ``nova_force_down`` is built on.
"""

import time

import pytest

from tests.support.fencing import make_conf as fencing_conf
from tests.support.real_tier import REQUEST_IDS
from tests.support.real_tier import nova_service as service
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder
from vmr_coordinator.fencing import profiles as fp
from vmr_lab.real.procs import wait_for

#: what real nova-api logs when it skips the trait sync of a down service
SKIPPED_SYNC = ('Compute service on host %s is down. The '
                'COMPUTE_STATUS_DISABLED trait will be synchronized')


@pytest.fixture
def conf():
    return fencing_conf(0.2)


def profile(cloud, host):
    bmc = cloud.hosts[host].bmc
    return fp.FenceProfiles.from_dict({'profiles': {'real': {
        'hosts': {host: {'address': bmc.address, 'port': bmc.port}},
        'ladder': [{'driver': 'ipmi', 'username': cloud.bmc_username,
                    'password': cloud.bmc_password, 'timeout': 10}],
        # Nova's API answers in well under a second when idle; a loaded
        # 2-core test machine needs more than the 10 s default.
        'post': [{'driver': 'nova_force_down', 'disable': True,
                  'timeout': 50}],
    }}}).profile_for(host)


def log_positions(log, ids):
    """Where each request id first appears in nova-api's log."""
    positions = [log.find(i) for i in ids]
    assert all(p >= 0 for p in positions), (ids, positions)
    return positions


def test_fence_forces_down_then_disables_and_undoes_carefully(cloud, conn,
                                                              conf):
    host = 'compute-2'
    target = base.FenceTarget(host=host, now=time.time(),
                              absent_since=time.time(), cloud=conn)
    result = ladder.run_ladder(target, profile(cloud, host), conf)
    assert result.verified, result.reason
    assert cloud.hosts[host].get_power() == 'off'
    assert not cloud.openstack.compute_pid(host)
    (post,) = result.post
    assert post.verified, post.error
    assert 'forced down, disabled' in post.evidence
    svc = service(conn, host)
    assert (svc.is_forced_down, svc.status, svc.disabled_reason) == (
        True, 'disabled', 'vmr: fenced')
    assert service(conn, 'compute-1').is_forced_down is False

    # One changing call (forced_down and the status together) in
    # nova-api's log; Nova saved forced_down first, so it found the
    # service down and skipped the RPC to it (which would have waited
    # 60 s for the dead compute).
    log = cloud.openstack.log_text('nova-api')
    assert len(post.request_ids) == 1, post.request_ids
    (changed_at,) = log_positions(log, post.request_ids)
    assert SKIPPED_SYNC % host in log[changed_at:]

    # Still off: un-forcing now would leave evacuated servers
    # unreconciled when the host comes back.
    nova = base.load_fencer('nova_force_down', {}, conf)
    target.record = {'fenced_at': time.time()}
    early = nova.unfence(target)
    assert not early.verified
    assert 'has not reported since it was fenced' in early.error
    assert service(conn, host).is_forced_down is True

    # Power on: nova-compute starts again and reports (while forced down
    # Nova still shows it down, but its report time moves).
    cloud.hosts[host].set_power('on')
    wait_for('nova-compute of %s to report after the fence' % host,
             lambda: nova._reported_back(service(conn, host), target), 120)
    back = nova.unfence(target)
    if not back.verified:
        # Un-forced, but Nova has not seen it up yet: enabling a down
        # service would leave the trait stuck, so it waits and says so.
        assert 'not enabled yet' in back.error, back.error
        assert 'un-forced' in back.error
        cloud.openstack.wait_compute_up(host, 60)
        back = nova.unfence(target)
    assert back.verified, back.error
    assert back.evidence.endswith('enabled')
    svc = service(conn, host)
    assert (svc.is_forced_down, svc.status, svc.state) == (
        False, 'enabled', 'up')
    log = cloud.openstack.log_text('nova-api')
    ids = REQUEST_IDS.findall(' '.join(back.request_ids))
    assert ids and all(i in log for i in ids)


@pytest.mark.slow
def test_disable_before_force_down_blocks_on_the_dead_compute(cloud, conn):
    """Why the order matters, shown on real Nova (the lab models this)."""
    host = 'compute-3'
    cloud.hosts[host].set_power('off')       # SIGKILL: Nova still says up
    svc = service(conn, host)
    assert svc.state == 'up'
    started = time.monotonic()
    conn.compute.disable_service(svc, svc.host, svc.binary,
                                 disabled_reason='vmr: order test')
    blocked = time.monotonic() - started
    # nova-api called set_host_enabled over RPC and waited for the dead
    # compute until rpc_response_timeout (60 s), then gave up on the sync.
    assert blocked > 30, blocked
    assert service(conn, host).status == 'disabled'
