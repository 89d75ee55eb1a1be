"""``lb_failover`` against real Octavia 19: the lab's referee.

The session's real tier runs octavia-api and octavia-worker for these
tests only (``real_services('octavia')``), with Octavia's ``amphora``
provider and its no-op amphora, compute and network drivers
(:mod:`vmr_lab.real.octavia`): every change really goes through the
worker's flows and really locks the load balancer (``PENDING_*``) until
they finish, but no amphora reports health.  Members therefore keep the
operating status the API gave them: ``NO_MONITOR`` in a pool without a
health monitor -- the status ``lb_failover`` accepts as serving there.

Two servers of a pair boot with a port on ``private``; the pool holds
both, the standby disabled.  The failed one's host is fenced like the
engine does it, then the action runs exactly as the engine runs it.
"""

import re
import signal
import threading
import time

import pytest

from tests.support.actions import context, run
from tests.support.examples import load
from tests.support.real_tier import fence, outcomes, port_of, run_lab_tests
from vmr_coordinator import contracts
from vmr_coordinator.actions.lb_failover import SERVING
from vmr_lab.real.procs import wait_for

pytestmark = pytest.mark.real_services('octavia')

REQUEST_IDS = re.compile(r'req-[0-9a-f-]{36}')
POOL = 'web-pool'


def wait_lb(conn, lb_id, timeout=60):
    """Until the load balancer is ACTIVE again (the worker's flow ended)."""
    return conn.load_balancer.wait_for_load_balancer(
        lb_id, status='ACTIVE', failures=['ERROR'], interval=0.1,
        wait=timeout)


def address(conn, server):
    return port_of(conn, server).fixed_ips[0]['ip_address']


def states(conn, pool):
    return {m.address: (m.is_admin_state_up, m.operating_status)
            for m in conn.load_balancer.members(pool)}


def pair_behind_pool(cloud, conn, request, app, pool_name):
    """``<app>-a`` on compute-1 and its standby ``<app>-b`` on compute-2,
    and a load balancer whose pool ``pool_name`` holds both (the standby's
    member disabled), deleted (cascade) after the test.

    Returns (active, standby, load balancer, pool, {name: member}).
    """
    assert cloud.openstack.octavia, 'the session tier was started without ' \
        'Octavia'
    active = cloud.boot(app + '-a', 'compute-1', {
        'app': app, 'vmr_pair': app, 'vmr_role': 'active'})
    standby = cloud.boot(app + '-b', 'compute-2', {
        'app': app, 'vmr_pair': app, 'vmr_role': 'standby'})
    subnet = cloud.openstack.networks['private_subnet']
    lbaas = conn.load_balancer
    t0 = time.monotonic()
    lb = lbaas.create_load_balancer(name=app + '-lb', vip_subnet_id=subnet)

    def delete():
        # The worker may still hold it (a test that failed mid-change).
        wait_for('%s deletable' % lb.name, lambda: lbaas.get_load_balancer(
            lb.id).provisioning_status in ('ACTIVE', 'ERROR'), 60, 0.2)
        lbaas.delete_load_balancer(lb.id, cascade=True)
        wait_for('%s deleted' % lb.name, lambda: lbaas.find_load_balancer(
            lb.id) is None, 60, 0.2)
    request.addfinalizer(delete)
    assert lb.provisioning_status == 'PENDING_CREATE'
    lb = wait_lb(conn, lb.id)
    created_in = time.monotonic() - t0
    listener = lbaas.create_listener(loadbalancer_id=lb.id, protocol='HTTP',
                                     protocol_port=80)
    wait_lb(conn, lb.id)
    pool = lbaas.create_pool(listener_id=listener.id, protocol='HTTP',
                             lb_algorithm='ROUND_ROBIN', name=pool_name)
    wait_lb(conn, lb.id)
    members = {}
    for server, enabled in ((active, True), (standby, False)):
        members[server.name] = lbaas.create_member(
            pool, address=address(conn, server), protocol_port=80,
            subnet_id=subnet, admin_state_up=enabled)
        wait_lb(conn, lb.id)
    print('load balancer PENDING_CREATE -> ACTIVE: %.2f s; with listener, '
          'pool and 2 members: %.2f s' % (created_in, time.monotonic() - t0))
    return active, standby, lb, pool, members


@pytest.fixture
def web(cloud, conn, request):
    """The ``web`` pair behind pool ``web-pool``."""
    print('real tier start-up (s): %s' % cloud.openstack.timings)
    return pair_behind_pool(cloud, conn, request, 'web', POOL)


def assert_logged_by_octavia(cloud, request_ids):
    log = cloud.openstack.log_text('octavia-api')
    missing = [i for i in request_ids if i not in log]
    assert not missing, 'request ids not in octavia-api.log: %s' % missing


def test_lb_failover_flips_members_on_real_octavia(cloud, conn, web):
    active, standby, lb, pool, members = web
    a, b = (members[n].address for n in ('web-a', 'web-b'))
    # What real Octavia reports without a health monitor and without
    # heartbeats: NO_MONITOR, the enabled member and the disabled one.
    assert states(conn, pool) == {a: (True, 'NO_MONITOR'),
                                  b: (False, 'NO_MONITOR')}
    fence(cloud, conn, 'compute-1')

    t0 = time.monotonic()
    action, result = run('lb_failover', {'pool': POOL}, context(
        conn, active, 'compute-1', timeout=90, poll=0.2))
    print('lb_failover on real Octavia: %.2f s' % (time.monotonic() - t0))
    assert result.startswith('disabled %s, enabled %s; standby %s NO_MONITOR'
                             % (a, b, b)), result
    # Two member updates, each a PUT Octavia answered 202 and logged.
    assert len(action.request_ids) == 2, result
    assert REQUEST_IDS.findall(result) == action.request_ids
    assert_logged_by_octavia(cloud, action.request_ids)
    after = states(conn, pool)
    assert after[a][0] is False
    assert after[b][0] is True and after[b][1] in SERVING
    assert after == {a: (False, 'NO_MONITOR'), b: (True, 'NO_MONITOR')}
    lb_now = conn.load_balancer.get_load_balancer(lb.id)
    assert lb_now.provisioning_status == 'ACTIVE'
    for member in conn.load_balancer.members(pool):
        assert member.provisioning_status == 'ACTIVE'

    # A new leader resuming: nothing to send, nothing changes.
    action, again = run('lb_failover', {'pool': pool.id}, context(
        conn, active, 'compute-1', timeout=30, poll=0.2))
    assert again.startswith('members already flipped; standby %s '
                            'NO_MONITOR' % b), again
    assert action.request_ids == []
    assert conn.load_balancer.get_load_balancer(lb.id).updated_at == \
        lb_now.updated_at
    assert cloud.monitor.violations() == []


@pytest.mark.slow
def test_lb_failover_waits_out_a_pending_update(cloud, conn, web):
    """Octavia locks the load balancer while a change is provisioned: with
    octavia-worker stopped, another client's change holds it in
    PENDING_UPDATE, a second change gets 409, and lb_failover waits until
    the worker is back and the lock is gone."""
    import openstack.exceptions
    active, standby, lb, pool, members = web
    worker = cloud.openstack.procs['octavia-worker']
    lbaas = conn.load_balancer
    worker.signal(signal.SIGSTOP)
    try:
        lbaas.update_member(members['web-a'], pool, weight=2)
        held = lbaas.get_load_balancer(lb.id)
        assert held.provisioning_status == 'PENDING_UPDATE'
        with pytest.raises(openstack.exceptions.ConflictException) as err:
            lbaas.update_member(members['web-b'], pool, weight=3)
        assert 'is immutable and cannot be updated' in str(err.value)
        fence(cloud, conn, 'compute-1')
        outcome = {}

        def failover():
            try:
                outcome['result'] = run('lb_failover', {'pool': POOL},
                                        context(conn, active, 'compute-1',
                                                timeout=90, poll=0.2))
            except Exception as exc:  # noqa: BLE001 - reported below
                outcome['error'] = exc
        thread = threading.Thread(target=failover, daemon=True)
        thread.start()
        # The action waits for ACTIVE before its first change: while the
        # worker is stopped it sends nothing.
        thread.join(2)
        assert thread.is_alive(), outcome
        assert lbaas.get_load_balancer(lb.id).provisioning_status == \
            'PENDING_UPDATE'
    finally:
        worker.signal(signal.SIGCONT)
    thread.join(90)
    assert 'error' not in outcome, outcome.get('error')
    action, result = outcome['result']
    assert result.startswith('disabled %s, enabled %s'
                             % (members['web-a'].address,
                                members['web-b'].address)), result
    assert len(action.request_ids) == 2
    assert_logged_by_octavia(cloud, action.request_ids)
    assert {m.address: m.weight for m in lbaas.members(pool)}[
        members['web-a'].address] == 2
    assert wait_lb(conn, lb.id).provisioning_status == 'ACTIVE'


@pytest.mark.slow
def test_lab_octavia_tests_pass_on_real_octavia(cloud, tmp_path):
    """``tests/functional/lab/test_octavia.py`` against the session's real
    Octavia: every test passes, or skips as lab-only with its reason."""
    assert cloud.openstack.octavia, 'the session tier was started without ' \
        'Octavia'
    proc, junit = run_lab_tests(
        cloud, tmp_path, ['tests/functional/lab/test_octavia.py'],
        network='private', timeout=900, name='lab-vs-real-octavia')
    results = outcomes(junit)
    print('lab Octavia tests on real Octavia: %s' % results)
    failed = {name: message for name, (outcome, message) in results.items()
              if outcome != 'passed' and not message.startswith(
                  'VMR_TEST_CLOUD=%s: lab-only' % cloud.cloud_name)}
    assert proc.returncode == 0 and not failed, (
        'lab Octavia tests failed or skipped on the real tier: %s\n%s'
        % (failed, proc.stdout[-4000:]))
    assert results['test_octavia::test_member_flip'][0] == 'passed'
    assert results['test_octavia::test_member_change_locks_its_pool'][0] \
        == 'passed'


@pytest.mark.slow
def test_shipped_lb_failover_example_on_real_octavia(cloud, conn, request):
    """``etc/vmr/contracts/lb_failover.yaml``'s action with its own params
    (pool ``api-pool``, standby metadata, pair key, verify timeout)."""
    text, _doc = load('lb_failover.yaml')
    contract = contracts.parse_contract(text)
    active, standby, lb, pool, members = pair_behind_pool(
        cloud, conn, request, 'api', contract.action.params['pool'])
    fence(cloud, conn, 'compute-1')
    action, result = run(contract.action.type, dict(contract.action.params),
                         context(conn, active, 'compute-1', timeout=90,
                                 poll=0.2))
    assert result.startswith('disabled %s, enabled %s' % (
        members['api-a'].address, members['api-b'].address)), result
    assert_logged_by_octavia(cloud, action.request_ids)
    assert {m.address: m.is_admin_state_up
            for m in conn.load_balancer.members(pool)} == {
        members['api-a'].address: False, members['api-b'].address: True}
