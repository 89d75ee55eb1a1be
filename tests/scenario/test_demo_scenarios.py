"""Whole-lab scenarios: real etcd, lab cloud, agents and coordinators.

Each runs `vmr-lab demo`'s harness (the same code the README's demo runs)
and asserts on the journal, the lab and the invariant monitor.
"""

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.scenario import running_lab
from vmr_lab.demo import Demo


@pytest.mark.parametrize('scenario', ['power-loss', 'kernel-hang',
                                      'leader-kill'])
def test_failure_is_healed_safely(demo, scenario):
    assert demo.run(scenario, 'compute-2', timeout=90), \
        demo.out.getvalue()
    records = demo._records()
    assert len(records) == 1
    rec = records[0]
    assert rec['state'] == 'done'
    assert rec['fencing']['verified'] is True
    assert rec['fencing']['method'] == 'ipmi'
    # fenced strictly before any step started
    fenced_at = [e['at'] for e in rec['timeline'] if e['event'] == 'fenced']
    assert fenced_at and all(s['started_at'] >= fenced_at[0]
                             for s in rec['steps'])
    assert all(s['state'] == 'done' for s in rec['steps'])
    assert demo.lab.monitor.violations() == []
    # the dead host's Nova service was forced down after the fence
    service = demo.lab.nova.compute_service('compute-2')
    assert service['forced_down'] is True


def test_leader_kill_shows_the_takeover(demo):
    """The printed timeline tells the takeover (issue 18): which
    coordinator led, that it was killed mid-recovery, which one was elected
    and that it resumed the recovery from the journal."""
    leader = demo._leader()
    assert demo.run('leader-kill', 'compute-2', timeout=90), \
        demo.out.getvalue()
    out = demo.out.getvalue()
    other = ({'controller-1', 'controller-2'} - {leader}).pop()
    rec = demo._records()[0]
    lines = out.splitlines()

    def line(text):
        found = [i for i, ln in enumerate(lines) if text in ln]
        assert found, 'no line with %r in:\n%s' % (text, out)
        return found[0]
    killed = line('FAULT: SIGKILL of the leader %s in the middle of '
                  'recovery %s' % (leader, rec['id']))
    elected = line('ELECTION: %s took over as leader' % other)
    resumed = line('recovery %s: resumed by %s (leader token'
                   % (rec['id'], other))
    done = line('recovery %s: done ' % rec['id'])
    assert killed < elected < resumed < done
    assert 'from the journal after %s: ' % leader in lines[resumed]
    assert line('TAKEOVER: %s killed mid-recovery, %s elected, resumed '
                'recovery %s from the journal' % (leader, other, rec['id']))
    # the journal says so too (what `vmr recovery show` prints)
    assert rec['leader'] == other
    assert [e['event'] for e in rec['timeline']].count('resumed') == 1


def test_agent_death_is_partition_not_failure(demo):
    assert demo.run('agent-death', 'compute-2', timeout=30)
    assert demo._records() == []
    assert demo.lab.hosts['compute-2'].get_power() == 'on'


def test_returning_host_is_unforced_after_nova_compute_is_up(demo):
    assert demo.run('power-loss', 'compute-2', timeout=90)
    host = demo.lab.hosts['compute-2']
    host.set_power('on')
    # a new agent incarnation on the rebooted host
    name = 'compute-2'
    conf = demo._conf(name, 'agent', demo.workdir + '/clouds.yaml',
                      demo.workdir + '/fence-profiles.yaml', host)
    demo._spawn('agent', name, conf)
    demo.wait(lambda: demo._states().get(name) == 'up', 40,
              'compute-2 back up')
    service = demo.lab.nova.compute_service(name)
    assert service['forced_down'] is False
    assert service['status'] == 'enabled'
    assert demo.lab.monitor.violations() == []


def test_unreachable_bmc_blocks_until_an_operator_confirms(demo):
    victim = 'compute-2'
    demo.lab.hosts[victim].apply_fault('bmc_unreachable')
    demo.lab.hosts[victim].apply_fault('power_loss')
    demo.wait(lambda: demo._states().get(victim) == 'blocked', 60,
              'compute-2 blocked')
    rec = demo._records()[0]
    assert rec['state'] == 'blocked'
    assert rec['fencing']['verified'] is False
    assert 'ipmi' in rec['fencing']['reason']
    assert rec['steps'] == []
    # nothing was evacuated while the fence was unproven
    assert not [e for e in demo.lab.events.since(0)
                if e['type'] == 'evacuate']
    # the leader counted the failed rung, and /metrics says since when the
    # recovery is blocked (what an alert rule watches)
    leader = demo._leader()
    text = requests.get(demo.api_url(leader) + '/metrics', timeout=10).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text)
               for s in f.samples}
    assert samples[('vmr_fence_failures_total', (('driver', 'ipmi'),))] >= 1
    assert samples[('vmr_recovery_blocked_since_timestamp_seconds',
                    (('host', victim), ('recovery', rec['id'])))] > 0
    # the operator checked the host by hand and confirms it is off
    store = demo.store
    store.put(store.keys.root + 'requests/confirm-fenced/' + victim,
              {'by': 'alice', 'reason': 'power cord pulled, checked on site'})
    demo.wait(lambda: demo._records()[0]['state'] == 'done', 60,
              'recovery done after confirmation')
    rec = demo._records()[0]
    assert rec['fencing']['confirmed_by'] == 'alice'
    said = 'confirmed off by alice: power cord pulled, checked on site'
    assert rec['fencing']['reason'] == said
    # the operator's reason is in the timeline, where vmr recovery show
    # tells the story
    assert [e for e in rec['timeline'] if e.get('event') == 'fenced' and
            e.get('detail') == said], rec['timeline']
    assert all(s['state'] == 'done' for s in rec['steps'])
    assert demo.lab.monitor.violations() == []


def test_management_partition_is_not_fenced(demo):
    assert demo.run('partition', 'compute-2', timeout=30)
    assert demo._records() == []
    assert demo._states()['compute-2'] == 'partitioned'


def test_mass_failure_engages_the_brake_and_fences_nothing():
    with running_lab(Demo, hosts=3, servers=3, grace=3.0) as d:
        assert d.run('mass-failure', timeout=30), d.out.getvalue()
        assert not [e for e in d.lab.events.since(0)
                    if e['type'] == 'evacuate']
        assert d.lab.monitor.violations() == []


@pytest.mark.parametrize('scenario', ['maintenance', 'fip-failover',
                                      'lb-failover'])
def test_demo_contract_scenarios(demo, scenario):
    neighbours = [s['id'] for s in demo.lab.find_servers()
                  if s.get('host') == 'compute-2']
    assert demo.run(scenario, 'compute-2', timeout=90), demo.out.getvalue()
    assert demo.lab.monitor.violations() == []
    # a pair that failed over while its host's other servers stay down is
    # no success: they are healed too, and the demo checks it
    assert neighbours
    assert demo.left_down(neighbours, 'compute-2') == []
    assert 'fenced fenced' not in demo.out.getvalue()


def test_pair_gets_its_standby_back_when_the_host_returns(demo):
    assert demo.run('fip-failover', 'compute-2', timeout=90)
    host = demo.lab.hosts['compute-2']
    host.set_power('on')
    conf = demo._conf('compute-2', 'agent', demo.workdir + '/clouds.yaml',
                      demo.workdir + '/fence-profiles.yaml', host)
    demo._spawn('agent', 'compute-2', conf)
    demo.wait(lambda: demo._states().get('compute-2') == 'up', 60,
              'compute-2 back up')
    old_active = next(s for s in demo.conn.compute.servers(
        details=True, all_projects=True) if s.name == 'vpn-a')
    demo.wait(lambda: demo.conn.compute.get_server(
        old_active.id).status == 'ACTIVE', 30, 'vpn-a running again')
    server = demo.conn.compute.get_server(old_active.id)
    assert server.metadata['vmr_role'] == 'standby'
    rec = demo._records()[0]
    assert any(e['event'] == 'standby restored' for e in rec['timeline'])
    assert demo.lab.monitor.violations() == []


def test_host_back_while_blocked_closes_the_recovery(demo):
    victim = 'compute-2'
    host = demo.lab.hosts[victim]
    host.apply_fault('bmc_unreachable')
    host.apply_fault('kernel_hang')
    demo.wait(lambda: demo._states().get(victim) == 'blocked', 60,
              'compute-2 blocked')
    host.apply_fault('clear')          # the hang ends, the agent goes on
    demo.wait(lambda: demo._states().get(victim) == 'up', 60,
              'compute-2 up again')
    rec = demo._records()[0]
    assert rec['state'] == 'failed' and rec['steps'] == []
    assert 'nothing was restarted' in rec['timeline'][-1]['detail']
    assert not [e for e in demo.lab.events.since(0)
                if e['type'] == 'evacuate']
    assert demo.lab.monitor.violations() == []


def test_demo_on_a_cloud_it_was_handed_leaves_it_running(tmp_path):
    """``Demo(lab=...)``: a benchmark reuses one cloud for many runs.  The
    Demo neither starts nor stops it, and a second Demo on the same cloud
    (a new etcd, new agents) heals the next failure."""
    import io

    from vmr_lab.cloud import LabCloud
    lab = LabCloud(hosts=3, servers=6, state_dir=str(tmp_path / 'lab'),
                   service_down_time=4.0)
    lab.start()
    try:
        for victim in ('compute-2', 'compute-3'):
            out = io.StringIO()
            demo = Demo(lab=lab, out=out, workdir=str(tmp_path / victim))
            try:
                demo.start()
                assert demo.run('power-loss', victim, timeout=90), \
                    out.getvalue()
            finally:
                demo.stop()
            # still serving, every server running away from the victim
            assert all(s['host'] != victim for s in lab.find_servers())
            assert lab.hosts[victim].etcd_proxy is None
            lab.hosts[victim].set_power('on')
        assert lab.monitor.violations() == []
    finally:
        lab.stop()


def test_shipped_timing_writes_no_timing_option(tmp_path):
    """``timing='shipped'`` leaves VMR's defaults alone; 'demo' sets its
    faster ones."""
    shipped = Demo(timing='shipped', workdir=str(tmp_path))._timing_lines()
    assert set(shipped.values()) == {''}
    demo = Demo(grace=3.0, workdir=str(tmp_path))._timing_lines()
    assert 'period = 0.5' in demo['coordinator_timing']
    assert 'grace = 3.0' in demo['coordinator_timing']
    assert demo['heartbeat_timing'] == 'ttl = 3\ninterval = 1'
    with pytest.raises(ValueError, match='unknown timing'):
        Demo(timing='fast', workdir=str(tmp_path))
