"""Whole-lab scenarios: real etcd, lab cloud, agents and coordinators.

Each runs `vmr-lab demo`'s harness (the same code the README's demo runs)
and asserts on the journal, the lab and the invariant monitor.
"""

import os

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.scenario import fenced_then_done, running_lab
from vmr_lab.demo import Demo
from vmr_lab.ports import free_udp_port


@pytest.mark.parametrize('scenario', ['power-loss', 'kernel-hang',
                                      'leader-kill'])
def test_failure_is_healed_safely(demo, scenario):
    assert demo.run(scenario, 'compute-2', timeout=90), \
        demo.out.getvalue()
    fenced_then_done(demo)
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


def _blocked_from_both_controllers(demo, victim):
    """Wait until the leader failed the fence of ``victim``, handed over to
    the standby, which failed too (then nobody else is left to try)."""
    demo.wait(lambda: demo._states().get(victim) == 'blocked' and len(
        (demo._records()[0].get('fencing') or {}).get('tried_by') or ()) == 2
        and demo._leader(), 60, '%s blocked from both controllers' % victim)


def test_unreachable_bmc_blocks_until_an_operator_confirms(demo):
    victim = 'compute-2'
    demo.lab.hosts[victim].apply_fault('bmc_unreachable')
    demo.lab.hosts[victim].apply_fault('power_loss')
    # the leader fails, hands over to the standby, which fails too: then
    # nobody else is left to try and the recovery stays blocked
    _blocked_from_both_controllers(demo, victim)
    rec = demo._records()[0]
    assert rec['state'] == 'blocked'
    assert sorted(rec['fencing']['tried_by']) == ['controller-1',
                                                  'controller-2']
    assert [e['event'] for e in rec['timeline']].count('handed over') == 1
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


class StepKeysDemo(Demo):
    """Coordinators that write journal format 2 (a step per key)."""
    journal_format = 2


def test_power_loss_healed_with_each_step_in_its_own_key():
    with running_lab(StepKeysDemo, hosts=3, servers=6) as demo:
        assert demo.run('power-loss', 'compute-2', timeout=90), \
            demo.out.getvalue()
        rec = fenced_then_done(demo)
        assert rec['format'] == 2 and rec['steps']
        stored = demo.store.get(demo.store.keys.recovery(rec['id'])).json()
        assert 'steps' not in stored
        assert stored['step_count'] == len(rec['steps'])
        assert demo.lab.monitor.violations() == []


class OneBmcPathDemo(Demo):
    """controller-1 leads and reaches no BMC (its fence profiles name, for
    each host, a UDP port where nothing answers); controller-2 reaches
    them all: a BMC network cut on one controller's side."""

    def _conf(self, name, kind, clouds, profiles, host=None):
        if name == 'controller-1':
            with open(profiles) as fh:
                data = yaml.safe_load(fh)
            for entry in data['profiles']['lab']['hosts'].values():
                entry['port'] = free_udp_port()
            profiles = os.path.join(self.workdir, 'profiles-c1.yaml')
            fd = os.open(profiles, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, 'w') as fh:
                yaml.safe_dump(data, fh)
        return super()._conf(name, kind, clouds, profiles, host)

    def _spawn(self, kind, name, conf):
        super()._spawn(kind, name, conf)
        if name == 'controller-1':
            self.wait(lambda: self._leader() == 'controller-1', 30,
                      'controller-1 elected before controller-2 starts')


def test_a_bmc_reachable_from_the_standby_only_is_fenced_by_it():
    """The leader cannot reach the dead host's BMC: after one failed
    ladder it hands leadership to the standby, which fences at once; the
    servers are healed, fenced first, with no operator."""
    with running_lab(OneBmcPathDemo, hosts=3, servers=6) as demo:
        assert demo.run('power-loss', 'compute-2', timeout=90), \
            demo.out.getvalue()
        rec = demo._records()[0]
        assert rec['state'] == 'done'
        assert rec['fencing']['verified'] is True
        assert rec['fencing']['method'] == 'ipmi'
        events = [e['event'] for e in rec['timeline']]
        assert events.index('blocked') < events.index('handed over') < \
            events.index('resumed') < events.index('fenced')
        handed = rec['timeline'][events.index('handed over')]['detail']
        assert 'from controller-1 (1 time(s)); leadership goes to ' \
            'controller-2' in handed
        assert rec['leader'] == 'controller-2'
        assert demo._leader() == 'controller-2'
        fenced_at = rec['timeline'][events.index('fenced')]['at']
        assert all(s['state'] == 'done' and s['started_at'] >= fenced_at
                   for s in rec['steps'])
        assert demo.lab.monitor.violations() == []
        assert 'hands leadership over to controller-2' in \
            demo.logs()['controller-1']


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
    # blocked from both controllers: before that the standby, handed
    # leadership, retries the fence at once and (the BMC reachable again
    # once the faults clear) would rightly power the host off
    _blocked_from_both_controllers(demo, victim)
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
