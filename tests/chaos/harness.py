"""The chaos lab: the demo's cloud, agents and coordinators on a 3-member
etcd cluster, and a seeded schedule of faults while recoveries run.

:class:`ChaosLab` extends :class:`vmr_lab.demo.Demo` (composition of its
helpers, its own ``start``): three etcd members on loopback, every agent
and coordinator configured with all three endpoints (the Store and the
agent's membership fail over between them), 6 simulated hosts.

:class:`Schedule` draws faults from ``random.Random(seed)``: the same seed
gives the same sequence of decisions.  Which host or member a fault hits
is drawn from the candidates at that moment, so a rerun on a machine with
different timing can differ in detail; the seed still reproduces the mix.

Safety rules of the schedule (what the chaos is *not* testing): at most
one etcd member down at a time (quorum stays), at most two hosts absent at
a time (below the disruption brake), powered-off hosts stay off (a host
that comes back before its fence would legitimately be fenced again).
"""

import logging
import os
import random
import signal
import subprocess
import time

import requests

from vmr_lab.demo import Demo
from vmr_lab.etcd import EtcdServer
from vmr_lab.ports import free_port

LOG = logging.getLogger(__name__)

FAULTS = ('etcd_member_restart', 'etcd_leader_kill', 'vmr_leader_stop',
          'agent_kill', 'power_off', 'nova_500', 'bmc_drop')


class EtcdCluster:
    """Three etcd members on 127.0.0.1 (one data dir each)."""

    def __init__(self, workdir, size=3):
        peers = [(free_port(), free_port()) for _ in range(size)]
        initial = ','.join('m%d=http://127.0.0.1:%d' % (i, peer)
                           for i, (_, peer) in enumerate(peers))
        self.members = [
            EtcdServer(name='m%d' % i, data_dir=os.path.join(workdir, 'etcd'),
                       client_port=client, peer_port=peer,
                       initial_cluster=initial,
                       log_path=os.path.join(workdir, 'etcd-m%d.log' % i))
            for i, (client, peer) in enumerate(peers)]
        self.down = {}    # member index -> restart at (monotonic)

    @property
    def endpoints(self):
        return [m.endpoint for m in self.members]

    # Demo's helpers use ``etcd.endpoint`` / ``client_port`` / ``log_path``
    @property
    def endpoint(self):
        return self.members[0].endpoint

    @property
    def client_port(self):
        return self.members[0].client_port

    @property
    def log_path(self):
        return self.members[0].log_path

    def start(self):
        for m in self.members:
            m.start(wait=False)
        for m in self.members:
            m.wait_ready(60)
        return self

    def leader_index(self):
        """Index of the member etcd elected, or None."""
        for i, m in enumerate(self.members):
            if m.proc is None:
                continue
            try:
                body = requests.post(m.endpoint + '/v3/maintenance/status',
                                     json={}, timeout=1).json()
            except (requests.RequestException, ValueError):
                continue
            member_id = body.get('header', {}).get('member_id')
            if member_id and member_id == body.get('leader'):
                return i
        return None

    def kill(self, index, down_for):
        self.members[index].stop(sig=signal.SIGKILL)
        self.down[index] = time.monotonic() + down_for

    def restart_due(self, force=False):
        """Restart the members whose downtime is over; their indexes."""
        restarted = []
        for index, at in list(self.down.items()):
            if force or time.monotonic() >= at:
                self.members[index].start(wait=False)
                del self.down[index]
                restarted.append(index)
        return restarted

    def wait_ready(self):
        for m in self.members:
            if m.proc is not None:
                m.wait_ready(60)

    def cleanup(self):
        for m in self.members:
            m.cleanup()


class ChaosLab(Demo):
    """The demo on a 3-member etcd, with fault helpers and verdicts."""

    def __init__(self, hosts=6, servers=12, **kwargs):
        super().__init__(hosts=hosts, servers=servers,
                         out=kwargs.pop('out', open(os.devnull, 'w')),
                         **kwargs)
        self.conf_paths = {}
        self.stopped = set()       # VMR coordinators under SIGSTOP
        self.dead_agents = {}      # host -> restart at (monotonic)
        self.powered_off = set()
        self.bmc_down = {}         # host -> clear at (monotonic)
        self.log_lines = []

    # -- set-up -------------------------------------------------------------
    def start(self):
        from vmr_common.store import Store
        from vmr_lab.cloud import LabCloud
        from vmr_lab.demo import DEMO_CONTRACT
        self.etcd = EtcdCluster(self.workdir).start()
        self.lab = LabCloud(hosts=self.n_hosts, servers=self.n_servers,
                            state_dir=os.path.join(self.workdir, 'lab'),
                            service_down_time=4.0)
        self.lab.start()
        clouds = self.lab.write_clouds_yaml(
            os.path.join(self.workdir, 'clouds.yaml'))
        self.store = Store(self.etcd.endpoints, cluster='demo')
        profiles = self._fence_profiles()
        self._start_host_responders()
        self.etcd_ports = {}
        for name, host in self.lab.hosts.items():
            self.conf_paths[name] = self._conf(name, 'agent', clouds,
                                               profiles, host)
            self._spawn('agent', name, self.conf_paths[name])
            host.attach_agent(-self.procs[name].pid)
        for i in (1, 2):
            name = 'controller-%d' % i
            self.conf_paths[name] = self._conf(name, 'coordinator', clouds,
                                               profiles)
            self._spawn('coordinator', name, self.conf_paths[name])
        self.store.put(self.store.keys.contract(DEMO_CONTRACT['name']),
                       DEMO_CONTRACT)
        self.wait(lambda: len(self._states()) == self.n_hosts and all(
            s == 'up' for s in self._states().values()) and self._leader(),
            90, 'every host up and a leader elected')

    def _conf(self, name, kind, clouds, profiles, host=None):
        # Every process knows all three etcd members; blocked fences retry
        # soon (the chaos drops BMCs for a few seconds at a time).
        self.etcd_ports[name] = self.etcd.client_port
        path = super()._conf(name, kind, clouds, profiles, host)
        with open(path) as fh:
            text = fh.read()
        lines = []
        for line in text.splitlines():
            if line.startswith('endpoints = '):
                line = 'endpoints = %s' % ','.join(self.etcd.endpoints)
            lines.append(line)
        text = '\n'.join(lines) + '\n'
        text += ('[fencing]\nblocked_retry_initial = 2\n'
                 'blocked_retry_max = 6\n'
                 '[coordinator]\nmax_failed_percent = 50\n')
        with open(path, 'w') as fh:
            fh.write(text)
        return path

    # -- observation ----------------------------------------------------------
    def say(self, text):
        line = '[%6.2f s] %s' % (time.monotonic() - self.t0, text)
        self.log_lines.append(line)
        LOG.info('%s', line)

    def leader_name(self):
        try:
            return self._leader()
        except Exception:   # etcd busy electing: no answer this time
            return None

    def absent_hosts(self):
        """Hosts the detection counts as silent: killed agents, and powered
        off hosts until VMR took them over (fencing or later)."""
        try:
            states = self._states()
        except Exception:   # etcd busy: assume the worst
            states = {}
        silent = {h for h in self.powered_off
                  if states.get(h) in (None, 'up', 'suspect', 'partitioned',
                                       'failed')}
        return set(self.dead_agents) | silent

    # -- faults -----------------------------------------------------------------
    def kill_agent(self, host, down_for):
        os.killpg(self.procs[host].pid, signal.SIGKILL)
        self.procs[host].wait(10)
        self.lab.hosts[host].agent_pids = []
        self.dead_agents[host] = time.monotonic() + down_for

    def restart_agents(self, force=False):
        for host, at in list(self.dead_agents.items()):
            if host in self.powered_off:
                del self.dead_agents[host]
                continue
            if force or time.monotonic() >= at:
                self._spawn('agent', host, self.conf_paths[host])
                self.lab.hosts[host].attach_agent(-self.procs[host].pid)
                del self.dead_agents[host]
                self.say('agent of %s restarted' % host)

    def stop_coordinator(self, name):
        os.killpg(self.procs[name].pid, signal.SIGSTOP)
        self.stopped.add(name)

    def cont_coordinator(self, name):
        os.killpg(self.procs[name].pid, signal.SIGCONT)
        self.stopped.discard(name)

    def clear_bmcs(self, force=False):
        for host, at in list(self.bmc_down.items()):
            if force or time.monotonic() >= at:
                self.lab.hosts[host].bmc.clear()
                del self.bmc_down[host]
                self.say('BMC of %s back' % host)

    def heal_all(self):
        """End of the fault phase: undo every transient fault."""
        for name in list(self.stopped):
            self.cont_coordinator(name)
        self.etcd.restart_due(force=True)
        self.etcd.wait_ready()
        self.restart_agents(force=True)
        self.clear_bmcs(force=True)
        for service in (self.lab.nova,):
            with service.lock:
                service.injected_faults = []

    def stop(self):
        for name in list(self.stopped):
            try:
                self.cont_coordinator(name)
            except ProcessLookupError:
                pass
        super().stop()

    # -- verdicts -------------------------------------------------------------
    def verdict(self):
        """Problems found (list of sentences); empty when all is well."""
        problems = []
        for v in self.lab.monitor.violations():
            problems.append('invariant monitor: %s' % v.get('message'))
        records = self._records()
        for rec in records:
            if rec.get('state') not in ('done', 'failed'):
                problems.append('recovery %s not terminal: %s'
                                % (rec.get('id'), rec.get('state')))
        twice = {}
        for ev in self.lab.events.since(0, 'evacuate'):
            key = (ev.get('server'), ev.get('source'))
            twice[key] = twice.get(key, 0) + 1
        for (server, source), n in sorted(twice.items()):
            if n > 1:
                problems.append('server %s evacuated %d times from %s'
                                % (server, n, source))
        # A power-off that the schedule did not cause is a fence of a host
        # that was on: the schedule never hangs a host, so every host that
        # was on was alive and reachable on its tenant network.
        caused = {}
        for ev in self.lab.events.since(0, 'fault'):
            if ev.get('fault') == 'power_loss':
                caused[ev['host']] = caused.get(ev['host'], 0) + 1
        offs = {}
        for ev in self.lab.events.since(0, 'power'):
            if ev.get('state') == 'off':
                offs[ev['host']] = offs.get(ev['host'], 0) + 1
        for host, n in sorted(offs.items()):
            if n > caused.get(host, 0):
                problems.append('host %s was powered off %d time(s) by VMR '
                                'while alive and reachable'
                                % (host, n - caused.get(host, 0)))
        for host in self.powered_off:
            fenced = [r for r in records if r.get('host') == host and
                      r.get('fencing', {}).get('verified')]
            if not fenced:
                problems.append('powered-off host %s was never fenced' % host)
        for name in ('controller-1', 'controller-2'):
            if self.procs[name].poll() is not None:
                problems.append('%s exited' % name)
        return problems

    def coordinator_tracebacks(self):
        out = {}
        for name, text in self.logs().items():
            if name.startswith('controller') and 'Traceback' in text:
                out[name] = text[text.index('Traceback') - 300:][:3000]
        return out


class Schedule:
    """Seeded faults, one every ``gap`` seconds, for ``duration`` seconds."""

    def __init__(self, lab, seed, duration, gap=(3.0, 6.0), faults=FAULTS,
                 max_power_off=2):
        self.lab = lab
        self.rng = random.Random(seed)
        self.seed = seed
        self.duration = duration
        self.gap = gap
        self.faults = faults
        self.max_power_off = max_power_off
        self.last_nova_fault = -1e9

    def run(self):
        lab, rng = self.lab, self.rng
        end = time.monotonic() + self.duration
        next_fault = time.monotonic() + rng.uniform(*self.gap)
        resume = {}   # coordinator -> SIGCONT at
        while time.monotonic() < end:
            now = time.monotonic()
            for index in lab.etcd.restart_due():
                lab.say('etcd member m%d restarted' % index)
            lab.restart_agents()
            lab.clear_bmcs()
            for name, at in list(resume.items()):
                if now >= at:
                    lab.cont_coordinator(name)
                    del resume[name]
                    lab.say('SIGCONT %s' % name)
            if now >= next_fault:
                kind = rng.choice(self.faults)
                try:
                    self.apply(kind, resume)
                except Exception as exc:   # a fault that could not apply
                    lab.say('fault %s not applied: %s' % (kind, exc))
                next_fault = now + rng.uniform(*self.gap)
            time.sleep(0.1)
        for name in list(resume):
            lab.cont_coordinator(name)
            lab.say('SIGCONT %s' % name)

    def _healthy_hosts(self):
        lab = self.lab
        return sorted(h for h in lab.lab.hosts
                      if h not in lab.absent_hosts() and h not in lab.bmc_down)

    def apply(self, kind, resume):
        lab, rng = self.lab, self.rng
        if kind in ('etcd_member_restart', 'etcd_leader_kill'):
            if lab.etcd.down:
                return lab.say('skip %s: a member is already down' % kind)
            if kind == 'etcd_leader_kill':
                index = lab.etcd.leader_index()
                if index is None:
                    return lab.say('skip: no etcd leader right now')
            else:
                index = rng.randrange(len(lab.etcd.members))
            down = rng.uniform(2, 6)
            lab.etcd.kill(index, down)
            lab.say('FAULT SIGKILL etcd member m%d%s for %.1f s' % (
                index, ' (the leader)' if kind == 'etcd_leader_kill' else '',
                down))
        elif kind == 'vmr_leader_stop':
            leader = lab.leader_name()
            if not leader or leader in lab.stopped:
                return lab.say('skip: no VMR leader to stop')
            lab.stop_coordinator(leader)
            resume[leader] = time.monotonic() + rng.uniform(2, 6)
            lab.say('FAULT SIGSTOP VMR leader %s' % leader)
        elif kind == 'agent_kill':
            hosts = self._healthy_hosts()
            if len(lab.absent_hosts()) >= 2 or not hosts:
                return lab.say('skip agent_kill: 2 hosts already absent')
            host = rng.choice(hosts)
            down = rng.uniform(3, 10)
            lab.kill_agent(host, down)
            lab.say('FAULT SIGKILL agent of %s for %.1f s' % (host, down))
        elif kind == 'power_off':
            hosts = self._healthy_hosts()
            if len(lab.absent_hosts()) >= 2 or not hosts or \
                    len(lab.powered_off) >= self.max_power_off:
                return lab.say('skip power_off: enough hosts absent')
            host = rng.choice(hosts)
            lab.powered_off.add(host)
            lab.lab.hosts[host].apply_fault('power_loss')
            lab.say('FAULT power off %s' % host)
        elif kind == 'nova_500':
            # A 500 is "not now" to the action (the same attempt again,
            # no retry spent, up to the step's timeout); at most 2 in a
            # row keep the step well within that timeout.
            count = rng.randint(1, 2)
            if time.monotonic() - self.last_nova_fault < 20 or \
                    lab.lab.nova.injected_faults:
                return lab.say('skip nova_500: one is still in effect')
            self.last_nova_fault = time.monotonic()
            lab.lab.nova.inject_fault(500, count, 'POST', '/action')
            lab.say('FAULT Nova answers the next %d server actions with 500'
                    % count)
        elif kind == 'bmc_drop':
            hosts = [h for h in lab.lab.hosts if h not in lab.bmc_down]
            host = rng.choice(sorted(hosts))
            down = rng.uniform(3, 10)
            lab.lab.hosts[host].apply_fault('bmc_unreachable')
            lab.bmc_down[host] = time.monotonic() + down
            lab.say('FAULT BMC of %s unreachable for %.1f s' % (host, down))


def run_chaos(seed, duration, settle=90, workdir=None, gap=(3.0, 6.0)):
    """One chaos run; returns ``(problems, lab log lines, workdir)``.

    Processes are always stopped; the work directory is kept for a failed
    run (its path is in the result) and removed for a clean one.
    """
    lab = ChaosLab(workdir=workdir)
    problems = []
    try:
        lab.start()
        lab.say('chaos seed %d for %.0f s; leader %s'
                % (seed, duration, lab.leader_name()))
        Schedule(lab, seed, duration, gap=gap).run()
        lab.say('fault phase over: healing every transient fault')
        lab.heal_all()
        # Settle: every recovery ends (done/failed) and every powered-off
        # host is fenced; bounded, then judged.
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            try:
                records = lab._records()
                fenced = {r.get('host') for r in records
                          if r.get('fencing', {}).get('verified')}
                if all(r.get('state') in ('done', 'failed')
                       for r in records) and lab.powered_off <= fenced:
                    break
            except Exception:
                pass
            time.sleep(0.5)
        lab.lab.monitor.end_scenario()
        problems = lab.verdict()
        for name, text in lab.coordinator_tracebacks().items():
            problems.append('traceback in %s: %s' % (name, text))
        for rec in lab._records():
            lab.say('recovery %s %s: %s' % (rec.get('id'), rec.get('state'),
                                            rec.get('host')))
    finally:
        lab.stop()
    if not problems:
        subprocess.run(['rm', '-rf', lab.workdir], check=False)
    return problems, lab.log_lines, lab.workdir
