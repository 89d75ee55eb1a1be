"""Whole-system scenarios on the real tier: real etcd, agents, coordinators
and real Keystone, Placement, Nova and Glance underneath.

The harness is `vmr-lab demo --real`'s own (:class:`vmr_lab.demo.Demo`).
Each test asserts on the journal, on real Nova and on the invariant
monitor, which reads the fake hypervisors' guest journals: a server that
ever ran on two hosts, or moved while its host could still run it, fails.
"""

import pytest

from tests.support.real_tier import assert_healed, nova_service
from tests.support.scenario import running_lab
from vmr_lab.demo import Demo


@pytest.fixture
def demo(cloud, tmp_path):
    """The whole of VMR on the session's real tier (restored afterwards),
    with two servers on each host: each scenario gets new etcd, agents and
    coordinators, not a new OpenStack (2-5 minutes each)."""
    names = sorted(cloud.hosts)
    cloud.boot_many([('lab-vm-%d' % (i + 1), names[i % len(names)])
                     for i in range(6)])
    with running_lab(Demo, lab=cloud, real=True,
                     workdir=str(tmp_path / 'demo')) as harness:
        yield harness


def test_power_loss_is_healed_on_real_nova(demo):
    assert demo.run('power-loss', 'compute-2', timeout=120), \
        demo.out.getvalue()
    assert_healed(demo, 'compute-2')


@pytest.mark.slow
@pytest.mark.parametrize('scenario', ['kernel-hang', 'leader-kill'])
def test_failure_is_healed_safely_on_real_nova(demo, scenario):
    assert demo.run(scenario, 'compute-2', timeout=120), \
        demo.out.getvalue()
    assert_healed(demo, 'compute-2')


@pytest.mark.slow
@pytest.mark.parametrize('scenario', ['agent-death', 'partition'])
def test_reachable_host_is_not_fenced_on_real_nova(demo, scenario):
    assert demo.run(scenario, 'compute-2', timeout=60), demo.out.getvalue()
    assert demo._records() == []
    assert demo.lab.hosts['compute-2'].get_power() == 'on'
    assert nova_service(demo.lab.conn, 'compute-2').is_forced_down is False
    assert demo.lab.monitor.violations() == []


@pytest.mark.slow
@pytest.mark.real_services('octavia')
def test_lb_failover_on_real_octavia(demo):
    """The demo's lb-failover scenario (``tools/demo.sh --real --scenario
    lb-failover``): real Octavia's pool flips to the standby member."""
    assert demo.run('lb-failover', 'compute-2', timeout=180), \
        demo.out.getvalue()
    assert 'FAILED OVER' in demo.out.getvalue()
    assert demo.lab.monitor.violations() == []


@pytest.mark.slow
def test_fip_failover_on_real_neutron(demo):
    """The demo's fip-failover scenario on real Neutron: the floating IP
    moves to the standby's port; the dead host's other servers heal."""
    assert demo.run('fip-failover', 'compute-2', timeout=180), \
        demo.out.getvalue()
    assert 'FAILED OVER' in demo.out.getvalue()
    assert demo.lab.monitor.violations() == []
