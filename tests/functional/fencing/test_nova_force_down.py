"""nova_force_down after a verified IPMI fence, against the lab's Nova.

The lab (vmr_lab.cloud.LabCloud) serves Keystone and Nova on 127.0.0.1 with
the Nova rules of DESIGN §7 (disable-before-force-down blocks, enabling a
down service leaves a sticky trait, un-forcing before a restart leaves
instances unreconciled) and wires a virtual BMC to every simulated host.
"""

import time

import pytest

from tests.labfixtures import conn_fixture, lab_fixture
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder
from vmr_coordinator.fencing import profiles as fp

cloud_mod = pytest.importorskip(
    'vmr_lab.cloud', reason='the lab cloud (vmr_lab.cloud) is not available')
pytest.importorskip('openstack')

FAST = {'boot': 0.05, 'delete': 0.02, 'evacuate': 0.1, 'host_boot': 0.3,
        'rpc_timeout': 1.0}

lab = lab_fixture(hosts=2, delays=FAST, state_dir='lab')
conn = conn_fixture()


def service(conn, host):
    (svc,) = [s for s in conn.compute.services(host=host,
                                               binary='nova-compute')]
    return svc


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def lab_profile(lab, name):
    """IPMI through the lab BMC of ``name``, then nova_force_down."""
    host = lab.hosts[name]
    assert host.bmc is not None, 'the lab wires a BMC to every host'
    return fp.FenceProfiles.from_dict({'profiles': {'lab': {
        'hosts': {name: {'address': host.bmc.address,
                         'port': host.bmc.port}},
        'ladder': [{'driver': 'ipmi', 'username': lab.bmc_username,
                    'password': cloud_mod.BMC_PASSWORD, 'timeout': 5}],
        'post': [{'driver': 'nova_force_down', 'disable': True}],
    }}}).profile_for(name)


def test_force_down_then_disable_after_fence_and_careful_undo(lab, conn,
                                                              conf):
    host = lab.hosts['compute-1']
    prof = lab_profile(lab, 'compute-1')
    seq = lab.events.since()[-1]['seq'] if lab.events.since() else 0
    absent_since = time.time()
    target = base.FenceTarget(host='compute-1', now=time.time(),
                              absent_since=absent_since, cloud=conn)

    result = ladder.run_ladder(target, prof, conf)
    assert result.verified, result.reason
    assert host.get_power() == 'off'
    (post,) = result.post
    assert post.verified, post.error
    assert 'forced down, disabled' in post.evidence
    svc = service(conn, 'compute-1')
    assert svc.is_forced_down and svc.status == 'disabled'
    assert svc.disabled_reason == 'vmr: fenced'
    types = [e['type'] for e in lab.events.since(seq)]
    # forced down first, so disabling never blocked on the dead compute
    assert types.index('service_forced_down') < \
        types.index('service_disabled')
    assert 'rpc_timeout' not in types
    # the other host is untouched
    assert not service(conn, 'compute-2').is_forced_down

    nova = base.load_fencer('nova_force_down', {}, conf)
    # The healer journals when the fence happened; reports older than that
    # (the host reported until it was powered off) prove nothing.
    target.record = {'fenced_at': time.time()}
    # Host still off: refuse to un-force (DESIGN §7).
    early = nova.unfence(target)
    assert not early.verified
    assert 'has not reported since it was fenced' in early.error
    assert service(conn, 'compute-1').is_forced_down

    ipmi = base.load_fencer('ipmi', dict(
        prof.ladder[0].options), conf)
    assert ipmi.unfence(target).verified
    assert wait_for(lambda: host.compute_alive())
    assert wait_for(lambda: nova._reported_back(service(conn, 'compute-1'),
                                                target))
    back = nova.unfence(target)
    assert back.verified, back.error
    assert back.evidence == 'nova-compute@compute-1: un-forced, enabled'
    svc = service(conn, 'compute-1')
    assert not svc.is_forced_down and svc.status == 'enabled'
    types = [e['type'] for e in lab.events.since(seq)]
    assert 'unforced_before_restart' not in types
    assert 'sticky_disabled_trait' not in types


def test_operator_disable_is_left_alone(lab, conn, conf):
    svc = service(conn, 'compute-2')
    conn.compute.update_service_forced_down(svc, svc.host, svc.binary, True)
    conn.compute.disable_service(svc, svc.host, svc.binary,
                                 disabled_reason='hardware ticket 42')
    conn.compute.update_service_forced_down(svc, svc.host, svc.binary, False)
    target = base.FenceTarget(host='compute-2', now=time.time(),
                              absent_since=time.time() - 60, cloud=conn)
    nova = base.load_fencer('nova_force_down', {}, conf)
    result = nova.unfence(target)
    assert result.verified
    assert "left disabled (operator's reason 'hardware ticket 42')" in \
        result.evidence
    assert service(conn, 'compute-2').status == 'disabled'


def test_without_cloud_or_service_it_says_why(lab, conn, conf):
    nova = base.load_fencer('nova_force_down', {}, conf)
    result = nova.fence(base.FenceTarget(host='compute-1'), 5)
    assert not result.verified and 'no OpenStack connection' in result.error
    result = nova.fence(base.FenceTarget(host='nosuch', cloud=conn), 5)
    assert not result.verified
    assert 'Nova has no nova-compute service on host nosuch' in result.error


def test_a_fence_path_check_proves_the_post_step_without_changing_it(
        lab, conn, conf):
    """``vmr fence test`` and the leader's monitor ask every rung, post
    steps included: nova_force_down proves that Nova answers and knows the
    host's nova-compute (reported as Nova sees it: up is on), and switches
    nothing; without a cloud it says why."""
    from vmr_coordinator.fencing import check
    prof = lab_profile(lab, 'compute-2')
    target = base.FenceTarget(host='compute-2', now=time.time(), cloud=conn)
    rungs = check.check_ladder(target, prof, conf)
    assert [(r['kind'], r['driver'], r['ok'], r['power_state'])
            for r in rungs] == [('ladder', 'ipmi', True, 'on'),
                                ('post', 'nova_force_down', True, 'on')]
    svc = service(conn, 'compute-2')
    assert svc.is_forced_down is False and svc.status == 'enabled'
    alone = base.FenceTarget(host='compute-2', now=time.time(), cloud=None)
    (_, post) = check.check_ladder(alone, prof, conf)
    assert post['ok'] is False
    assert 'no OpenStack connection for compute-2' in post['error']


def test_nova_away_for_a_moment_is_asked_again_within_the_step(lab, conn,
                                                                conf):
    """nova-api, its database or its bus restarting while the post step
    runs (503s here): asked again every second within the step's timeout,
    so Nova still learns the compute is down before any evacuation."""
    nova = base.load_fencer('nova_force_down', {}, conf)
    target = base.FenceTarget(host='compute-1', now=time.time(),
                              cloud=conn)
    lab.nova.inject_fault(503, count=2, method='GET',
                          path_contains='/os-services')

    result = nova.fence(target, timeout=10)
    assert result.verified, result.error
    assert result.evidence.endswith('(asked 3 times: Nova was away)')
    assert service(conn, 'compute-1').is_forced_down

    # Away for longer than the step: one failed result saying so.
    lab.nova.inject_fault(503, count=100, method='GET',
                          path_contains='/os-services')
    try:
        failed = nova.fence(target, timeout=2.5)
    finally:
        lab.nova.injected_faults = []
    assert not failed.verified
    assert '503' in failed.error, failed.error
    assert 'Nova was away)' in failed.error


@pytest.mark.parametrize('status,away', [(500, True), (503, True),
                                         (401, False)])
def test_a_keystone_error_on_the_token_is_classified(status, away):
    """keystoneauth raises its own HttpError when the token request fails
    (Keystone answering 500 while its database restarts, seen in chaos on
    the real tier): 5xx is Nova away (asked again within the rung), the
    rest a fence error -- never an unexpected exception."""
    from keystoneauth1 import exceptions as ksa_exceptions

    from vmr_coordinator.fencing import nova_force_down

    def token_refused():
        raise ksa_exceptions.HttpError(message='Internal Server Error',
                                       http_status=status)
    fencer = nova_force_down.NovaForceDownFencer({}, None)
    with pytest.raises(base.FenceError) as caught:
        fencer._sdk_call('force-down', token_refused)
    assert isinstance(caught.value, nova_force_down.NovaAway) is away
