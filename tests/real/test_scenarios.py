"""Whole-system scenarios on the real tier: real etcd, agents, coordinators
and real Keystone, Placement, Nova and Glance underneath.

The harness is `vmr-lab demo --real`'s own (:class:`vmr_lab.demo.Demo`).
Each test asserts on the journal, on real Nova and on the invariant
monitor, which reads the fake hypervisors' guest journals: a server that
ever ran on two hosts, or moved while its host could still run it, fails.
"""

import pytest

from tests.support.real_tier import nova_service
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


def _assert_healed(demo, victim):
    records = demo._records()
    assert len(records) == 1
    rec = records[0]
    assert rec['state'] == 'done'
    assert rec['fencing']['verified'] is True
    assert rec['fencing']['method'] == 'ipmi'
    fenced_at = [e['at'] for e in rec['timeline'] if e['event'] == 'fenced']
    assert fenced_at and all(s['started_at'] >= fenced_at[0]
                             for s in rec['steps'])
    assert rec['steps'] and all(s['state'] == 'done' for s in rec['steps'])
    for step in rec['steps']:
        server = demo.lab.get_server(step['server_id'])
        assert server['status'] == 'ACTIVE'
        assert server['host'] != victim
        assert demo.lab.wait_running(step['server_id'], server['host'])
    # Real Nova agrees: one evacuation per server (of this run's servers:
    # the session's cloud remembers earlier tests' migrations).
    current = {s['id'] for s in demo.lab.find_servers()}
    migrations = [m for m in demo.lab.conn.compute.migrations()
                  if m.migration_type == 'evacuation'
                  and m.server_id in current]
    assert sorted(m.server_id for m in migrations) == sorted(
        s['server_id'] for s in rec['steps'])
    assert nova_service(demo.lab.conn, victim).is_forced_down is True
    assert demo.lab.monitor.violations() == []


def test_power_loss_is_healed_on_real_nova(demo):
    assert demo.run('power-loss', 'compute-2', timeout=120), \
        demo.out.getvalue()
    _assert_healed(demo, 'compute-2')


@pytest.mark.slow
@pytest.mark.parametrize('scenario', ['kernel-hang', 'leader-kill'])
def test_failure_is_healed_safely_on_real_nova(demo, scenario):
    assert demo.run(scenario, 'compute-2', timeout=120), \
        demo.out.getvalue()
    _assert_healed(demo, 'compute-2')


@pytest.mark.slow
@pytest.mark.parametrize('scenario', ['agent-death', 'partition'])
def test_reachable_host_is_not_fenced_on_real_nova(demo, scenario):
    assert demo.run(scenario, 'compute-2', timeout=60), demo.out.getvalue()
    assert demo._records() == []
    assert demo.lab.hosts['compute-2'].get_power() == 'on'
    assert nova_service(demo.lab.conn, 'compute-2').is_forced_down is False
    assert demo.lab.monitor.violations() == []
