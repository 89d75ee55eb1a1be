"""``vmr-lab demo``: the whole of VMR on one machine, one failure, healed.

Starts a throw-away etcd, the lab cloud (Keystone, Nova, Neutron, ... on
127.0.0.1, simulated hosts with virtual IPMI BMCs, the invariant monitor),
one real ``vmr-agent`` per simulated host, two real ``vmr-coordinator``
processes with an IPMI fence profile, loads a contract, then cuts the power
of one host and prints what VMR does: detection, the fence and its proof,
each server's evacuation, and the invariant monitor's verdict.  Exits 0
only when every server of the dead host runs elsewhere and no invariant
was violated.  Every process it started is stopped on exit and on Ctrl-C.
"""

import argparse
import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import yaml

SCENARIOS = ('power-loss', 'kernel-hang', 'leader-kill', 'agent-death',
             'partition', 'mass-failure', 'maintenance', 'fip-failover',
             'lb-failover')

DEMO_CONTRACT = {
    'name': 'demo-evacuate',
    'description': 'Evacuate every server of a dead host.',
    'priority': 100,
    'trigger': {'type': 'host_down'},
    'selector': {'all': True},
    'action': {'type': 'evacuate', 'params': {'start_if_shutoff': True}},
    'limits': {'concurrency': 10, 'retries': 3, 'backoff': 1.5,
               'timeout': 120},
}

#: the demo's timing options: faster than the shipped defaults, for a demo
#: that finishes in seconds on one machine
DEMO_TIMING = {
    'etcd': {'timeout': 2},
    'heartbeat': {'ttl': 3, 'interval': 1},
    'coordinator': {'period': 0.5, 'grace': 0.0, 'leader_ttl': 3,
                    'leader_margin': 0.5, 'probe_timeout': 1,
                    'watch_interval': 0.25, 'instance_poll_interval': 1},
}
TIMINGS = ('demo', 'shipped')


class Demo:
    """Owns every process and object of one demo run."""

    def __init__(self, hosts=3, servers=6, workdir=None, verbose=False,
                 out=sys.stdout, grace=0.0, lab_options=None,
                 agent_options='', real=False, lab=None, timing='demo'):
        #: run on the real tier (real Keystone, Nova, ...) instead of the lab
        self.real = real
        if timing not in TIMINGS:
            raise ValueError('unknown timing %r: expected one of %s'
                             % (timing, ', '.join(TIMINGS)))
        #: 'demo' (fast, see DEMO_TIMING) or 'shipped' (VMR's own defaults)
        self.timing = timing
        self.grace = grace
        #: extra ``[agent]`` lines for every agent (e.g. watched_processes)
        self.agent_options = agent_options
        self.lab_options = dict(lab_options or {})
        self.n_hosts = hosts
        self.n_servers = servers
        self.workdir = workdir or tempfile.mkdtemp(prefix='vmr-demo-')
        self.out = out
        self.verbose = verbose
        self.etcd = None
        #: a started cloud handed in by the caller: used, never started
        #: nor stopped here (a benchmark reuses one real tier for many runs)
        self.lab = lab
        self.owns_lab = lab is None
        if lab is not None:
            self.n_hosts = len(lab.hosts)
            self.n_servers = len(lab.find_servers())
        self.procs = {}
        self.store = None
        self.t0 = time.monotonic()

    # -- output ---------------------------------------------------------------
    def say(self, text):
        self.out.write('[%6.2f s] %s\n' % (time.monotonic() - self.t0, text))
        self.out.flush()

    # -- set-up ---------------------------------------------------------------
    def start(self):
        from vmr_common.store import Store
        from vmr_lab.cloud import LabCloud
        from vmr_lab.etcd import EtcdServer
        self.etcd = EtcdServer(name='vmr-demo',
                               data_dir=os.path.join(self.workdir, 'etcd'))
        self.etcd.start()
        self.say('etcd %s' % self.etcd.endpoint)
        if self.owns_lab and self.real:
            from vmr_lab.real.cloud import RealCloud
            self.lab = RealCloud(hosts=self.n_hosts, servers=self.n_servers,
                                 workdir=os.path.join(self.workdir, 'real'),
                                 **self.lab_options)
        elif self.owns_lab:
            self.lab = LabCloud(hosts=self.n_hosts, servers=self.n_servers,
                                state_dir=os.path.join(self.workdir, 'lab'),
                                **dict({'service_down_time': 4.0},
                                       **self.lab_options))
        if self.owns_lab:
            self.lab.start()
        # A borrowed cloud remembers earlier runs: judge only this one's.
        self.events_from = self.lab.events.last_seq()
        clouds = self.lab.write_clouds_yaml(
            os.path.join(self.workdir, 'clouds.yaml'))
        self.say('%s up: %d hosts, %d servers, Keystone %s'
                 % ('real tier (Keystone, Placement, Nova, Glance)'
                    if self.real else 'lab cloud', self.n_hosts,
                    self.n_servers, self.lab.auth_url))
        self.store = Store([self.etcd.endpoint], cluster='demo')
        profiles = self._fence_profiles()
        self._start_host_responders()
        # Agents reach etcd through their host's proxy, so a partition can
        # cut one host's management path and nothing else.
        self.etcd_ports = self.lab.create_etcd_proxies(
            '127.0.0.1', self.etcd.client_port)
        for name, host in self.lab.hosts.items():
            self._spawn('agent', name, self._conf(name, 'agent', clouds,
                                                  profiles, host))
            self.lab.hosts[name].attach_agent(-self.procs[name].pid)
        for i in (1, 2):
            name = 'controller-%d' % i
            self._spawn('coordinator', name,
                        self._conf(name, 'coordinator', clouds, profiles))
        self.store.put(self.store.keys.contract(DEMO_CONTRACT['name']),
                       DEMO_CONTRACT)
        self.say('contract %s loaded: host_down -> evacuate (then start)'
                 % DEMO_CONTRACT['name'])
        self.wait(lambda: len(self._states()) == self.n_hosts and all(
            s == 'up' for s in self._states().values()) and self._leader(),
            40, 'every host up and a leader elected')
        for name in ('controller-1', 'controller-2'):
            self.wait(functools.partial(self._api_answers, name), 30,
                      'the API of %s (%s; see %s.log)'
                      % (name, self.api_url(name), name))
        self.say('all %d agents up; leader: %s; API %s (try `vmr --url %s '
                 'status`)' % (self.n_hosts, self._leader(), self.api_url(),
                               self.api_url()))

    def _start_host_responders(self):
        """Each simulated host answers probes on its 'tenant' network while
        it is powered and not hung, whatever its agent does: this is what
        tells a dead agent from a dead host."""
        from vmr_common.reach.probes import ProbeResponder
        from vmr_lab.ports import free_udp_port
        self.responders = {}
        self.tenant_ports = {}
        for name, host in self.lab.hosts.items():
            port = free_udp_port()
            responder = ProbeResponder(
                name, [('127.0.0.1', port)],
                alive=lambda h=host: h.get_power() == 'on' and not h.hung)
            responder.start()
            self.responders[name] = responder
            self.tenant_ports[name] = port

    def _fence_profiles(self):
        hosts = {}
        for name, host in self.lab.hosts.items():
            hosts[name] = {'address': host.bmc.address, 'port': host.bmc.port}
        data = {'profiles': {'lab': {
            'hosts': hosts,
            'ladder': [{'driver': 'ipmi', 'username': self.lab.bmc_username,
                        'password': self.lab._bmc_password, 'timeout': 4}],
            'post': [{'driver': 'nova_force_down', 'disable': True}],
        }}}
        path = os.path.join(self.workdir, 'fence-profiles.yaml')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as fh:
            yaml.safe_dump(data, fh)
        return path

    def _conf(self, name, kind, clouds, profiles, host=None):
        from vmr_lab.ports import free_udp_port
        probe_port = free_udp_port()
        text = textwrap.dedent('''\
            [DEFAULT]
            host = {name}
            state_path = {workdir}
            [etcd]
            endpoints = {etcd_url}
            cluster = demo
            {etcd_timing}
            [heartbeat]
            {heartbeat_timing}
            [coordinator]
            {coordinator_timing}
            [agent]
            addresses = {addresses}
            responder_networks = management
            boot_id_file = {boot_id}
            {agent_options}
            [fencing]
            profiles_file = {profiles}
            [cloud]
            cloud = {cloud}
            clouds_yaml = {clouds}
            [api]
            enabled = {api_enabled}
            auth_strategy = noauth
            bind_host = 127.0.0.1
            bind_port = {api_port}
            webhook_token = {webhook_token}
            [actions]
            secrets_file = {secrets}
            ''').format(name=name, workdir=self.workdir,
                        etcd_url=('http://127.0.0.1:%d' % self.etcd_ports[name]
                                  if host is not None else self.etcd.endpoint),
                        addresses=self._addresses(name, probe_port),
                        boot_id=host.boot_id_path if host else '/dev/null',
                        profiles=profiles, clouds=clouds,
                        **self._timing_lines(),
                        cloud=self.lab.cloud_name,
                        api_enabled='false' if host else 'true',
                        api_port=self._api_port(name),
                        webhook_token=self.webhook_token,
                        agent_options=self.agent_options if host else '',
                        secrets=self._secrets_file())
        path = os.path.join(self.workdir, '%s.conf' % name)
        with open(path, 'w') as fh:
            fh.write(text)
        return path

    def _timing_lines(self):
        """The timing options of each section: the demo's fast ones, or
        none at all so that VMR's shipped defaults apply."""
        if self.timing == 'shipped':
            return {'etcd_timing': '', 'heartbeat_timing': '',
                    'coordinator_timing': ''}
        timing = dict(DEMO_TIMING, coordinator=dict(
            DEMO_TIMING['coordinator'], grace=self.grace))
        return {'%s_timing' % section: '\n'.join(
            '%s = %s' % kv for kv in options.items())
            for section, options in timing.items()}

    @property
    def webhook_token(self):
        if not hasattr(self, '_webhook_token'):
            self._webhook_token = os.urandom(16).hex()
        return self._webhook_token

    def _secrets_file(self):
        """Secrets the webhook action signs with (mode 0600)."""
        path = os.path.join(self.workdir, 'secrets.yaml')
        if not os.path.exists(path):
            self.webhook_secret = os.urandom(16).hex()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as fh:
                yaml.safe_dump({'secrets': {'demo': self.webhook_secret}}, fh)
        return path

    def _api_port(self, name):
        from vmr_lab.ports import free_port
        self.api_ports = getattr(self, 'api_ports', {})
        return self.api_ports.setdefault(name, free_port())

    def api_url(self, name='controller-1'):
        return 'http://127.0.0.1:%d' % self._api_port(name)

    def _api_answers(self, name):
        import requests
        try:
            requests.get(self.api_url(name) + '/v1/status', timeout=5)
        except requests.RequestException:
            return False
        return True

    def _addresses(self, name, probe_port):
        out = 'management:127.0.0.1:%d' % probe_port
        if name in getattr(self, 'tenant_ports', {}):
            out += ',tenant:127.0.0.1:%d' % self.tenant_ports[name]
        return out

    def _spawn(self, kind, name, conf):
        module = 'vmr_agent.cmd' if kind == 'agent' else 'vmr_coordinator.cmd'
        log = open(os.path.join(self.workdir, '%s.log' % name), 'ab')
        self.procs[name] = subprocess.Popen(
            [sys.executable, '-c', 'import sys, %s as m; sys.exit(m.main())'
             % module, '--config-file', conf],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    # -- building servers through openstacksdk --------------------------------
    @property
    def conn(self):
        if getattr(self, '_conn', None) is None:
            import openstack
            config = openstack.config.OpenStackConfig(
                config_files=[os.path.join(self.workdir, 'clouds.yaml')])
            self._conn = openstack.connection.Connection(
                config=config.get_one(self.lab.cloud_name,
                                      compute_api_version='2.95'))
        return self._conn

    def boot(self, name, host, metadata):
        """Boot ``name`` on ``host`` with ``metadata``; wait ACTIVE."""
        conn = self.conn
        net = conn.network.find_network('private')
        image = next(conn.image.images(status='active'))
        flavor = sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
        server = conn.compute.create_server(
            name=name, image_id=image.id, flavor_id=flavor.id,
            networks=[{'uuid': net.id}], metadata=metadata,
            availability_zone='nova:%s' % host)
        return conn.compute.wait_for_server(server, interval=0.05, wait=60)

    def fip(self, server):
        """A new floating IP on ``server``'s port."""
        conn = self.conn
        public = conn.network.find_network('public')
        port = next(conn.network.ports(device_id=server.id))
        return conn.network.create_ip(floating_network_id=public.id,
                                      port_id=port.id)

    def use_contract(self, doc, keep_demo=False):
        """Load ``doc``; it replaces the demo's evacuate contract unless
        ``keep_demo`` (then the demo's contract still heals the rest)."""
        if not keep_demo:
            self.store.delete(self.store.keys.contract(DEMO_CONTRACT['name']))
        self.store.put(self.store.keys.contract(doc['name']), doc)
        self.say('contract %s loaded: %s -> %s' % (
            doc['name'], doc['trigger']['type'], doc['action']['type']))

    def left_down(self, ids, victim):
        """Names of the servers ``ids`` not running away from ``victim``."""
        down = []
        for sid in ids:
            server = self.lab.get_server(sid) or {}
            if server.get('host') == victim or not self.lab.server_running(
                    sid):
                down.append(server.get('name') or sid)
        return down

    def _others_healed(self, ids, victim):
        """Every other server of the dead host runs elsewhere: a pair that
        failed over while its neighbours stay down is no success."""
        down = self.left_down(ids, victim)
        if down:
            self.say('NOT HEALED: %s still down on %s' % (
                ', '.join(down), victim))
        else:
            self.say('the %d other servers of %s run elsewhere'
                     % (len(ids), victim))
        return not down

    # -- observation ----------------------------------------------------------
    def _states(self):
        kvs, _ = self.store.get_prefix(self.store.keys.hosts)
        return {kv.key.rsplit('/', 1)[1]: kv.json().get('state')
                for kv in kvs}

    def _leader(self):
        kv = self.store.get(self.store.keys.leader)
        return kv.value if kv else None

    def _records(self):
        kvs, _ = self.store.get_prefix(self.store.keys.journal)
        return [kv.json() for kv in kvs]

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except Exception:  # a transient read error: keep waiting
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError('timed out after %.0f s waiting for %s'
                           % (timeout, what))

    # -- the scenario ---------------------------------------------------------
    def run(self, scenario='power-loss', victim='compute-2', timeout=90):
        if scenario in self.lab.unsupported:
            self.say('SKIPPED: %s: %s' % (scenario,
                                          self.lab.unsupported[scenario]))
            return False
        servers = [s for s in self.lab.find_servers()
                   if s.get('host') == victim]
        ids = [s['id'] for s in servers]
        self.say('%s carries %d servers: %s' % (victim, len(ids), ', '.join(
            s['name'] for s in servers)))
        fault = {'power-loss': 'power_loss', 'kernel-hang': 'kernel_hang',
                 'agent-death': 'agent_death', 'partition': 'partition',
                 'mass-failure': 'power_loss',
                 'leader-kill': 'power_loss'}.get(scenario)
        t_fail = time.monotonic()
        if scenario == 'mass-failure':
            return self._mass_failure(t_fail, timeout)
        if scenario == 'maintenance':
            return self._maintenance(victim, ids, timeout)
        if scenario == 'fip-failover':
            return self._fip_failover(victim, ids, timeout)
        if scenario == 'lb-failover':
            return self._lb_failover(victim, ids, timeout)
        self.lab.hosts[victim].apply_fault(fault)
        self.say('FAULT: %s on %s' % (fault.replace('_', ' '), victim))
        if scenario in ('agent-death', 'partition'):
            return self._expect_partitioned(victim, t_fail, timeout)
        seen = {}
        killed_leader = False
        self.takeover = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self._states()
            state = states.get(victim)
            if state != seen.get('state'):
                seen['state'] = state
                self.say('host %s: %s' % (victim, state))
            if killed_leader:
                self._watch_election()
            for rec in self._records():
                for ev in rec.get('timeline', []):
                    key = (rec['id'], ev['at'], ev['event'])
                    if key not in seen:
                        seen[key] = True
                        self.say('recovery %s: %s %s' % (
                            rec['id'], ev['event'], ev.get('detail', '')))
                if scenario == 'leader-kill' and not killed_leader and \
                        rec.get('state') == 'acting':
                    leader = self._leader()
                    self.procs[leader].send_signal(signal.SIGKILL)
                    os.killpg(self.procs[leader].pid, signal.SIGKILL)
                    killed_leader = True
                    self.takeover = {'killed': leader,
                                     'at': time.monotonic()}
                    done = sum(1 for s in rec.get('steps', [])
                               if s.get('state') in ('done', 'failed'))
                    self.say('FAULT: SIGKILL of the leader %s in the middle '
                             'of recovery %s (%d of %d steps finished)' % (
                                 leader, rec['id'], done,
                                 len(rec.get('steps', []))))
                if rec.get('state') in ('done', 'failed'):
                    if scenario == 'leader-kill':
                        self._watch_election()
                        shown = self._takeover_shown(rec)
                        return self._verdict(rec, ids, victim, t_fail) and \
                            shown
                    return self._verdict(rec, ids, victim, t_fail)
            time.sleep(0.1)
        self.say('TIMEOUT: the recovery did not finish in %d s' % timeout)
        return False

    def _watch_election(self):
        """Say once which coordinator took over after the leader's kill."""
        takeover = self.takeover
        if not takeover or takeover.get('new'):
            return
        leader = self._leader()
        if leader and leader != takeover['killed']:
            takeover['new'] = leader
            self.say('ELECTION: %s took over as leader %.1f s after %s was '
                     'killed' % (leader, time.monotonic() - takeover['at'],
                                 takeover['killed']))

    def _takeover_shown(self, rec):
        """The leader-kill verdict: the leader was killed mid-recovery,
        another coordinator was elected, and it resumed the record from
        the journal (its 'resumed' timeline event) and finished it."""
        takeover = self.takeover
        if not takeover:
            self.say('NO TAKEOVER: the recovery finished before the leader '
                     'could be killed')
            return False
        resumed = [ev for ev in rec.get('timeline', [])
                   if ev['event'] == 'resumed']
        new = takeover.get('new')
        by_new = [s for s in rec.get('steps', []) if s.get('leader') == new]
        ok = bool(new) and bool(resumed) and new in resumed[-1]['detail'] \
            and rec.get('leader') == new
        self.say('%s: %s killed mid-recovery, %s elected, resumed recovery '
                 '%s from the journal and ran %d of its %d steps' % (
                     'TAKEOVER' if ok else 'NO TAKEOVER', takeover['killed'],
                     new or 'no other coordinator', rec['id'], len(by_new),
                     len(rec.get('steps', []))))
        return ok

    def _follow(self, predicate, timeout):
        """Print every timeline event until ``predicate(record)``."""
        seen = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for rec in self._records():
                for ev in rec.get('timeline', []):
                    key = (rec['id'], ev['at'], ev['event'])
                    if key not in seen:
                        seen.add(key)
                        self.say('recovery %s: %s %s' % (
                            rec['id'], ev['event'], ev.get('detail', '')))
                if predicate(rec):
                    return rec
            time.sleep(0.1)
        raise TimeoutError('no finished recovery after %.0f s' % timeout)

    def _maintenance(self, victim, ids, timeout):
        """An operator drains a host: live migration, no fence."""
        self.use_contract({
            'name': 'drain', 'priority': 100,
            'trigger': {'type': 'maintenance'}, 'selector': {'all': True},
            'action': {'type': 'live_migrate'}})
        kv = self.store.get(self.store.keys.host(victim))
        record = kv.json()
        record.update(maintenance=True, maintenance_reason='kernel update',
                      maintenance_by='demo')
        self.store.put(kv.key, record)
        self.say('OPERATOR: %s in maintenance (kernel update)' % victim)
        rec = self._follow(lambda r: r['trigger']['type'] == 'maintenance'
                           and r['state'] in ('done', 'failed'), timeout)
        ok = rec['state'] == 'done' and not rec.get('fencing')
        for sid in ids:
            server = self.lab.get_server(sid) or {}
            self.say('  %-12s -> %s on %s' % (server.get('name'),
                                              server.get('status'),
                                              server.get('host')))
            ok = ok and server.get('host') != victim and \
                self.lab.server_running(sid)
        ok = ok and self.lab.hosts[victim].get_power() == 'on'
        ok = ok and not self.lab.monitor.violations()
        self.say('%s: %s drained without a fence, still powered on' % (
            'DRAINED' if ok else 'FAILED', victim))
        return ok

    def _fip_failover(self, victim, ids, timeout):
        """An active/standby pair: the floating IP moves to the standby;
        the dead host's other servers are evacuated."""
        self.use_contract({
            'name': 'vpn-pair', 'priority': 300,
            'trigger': {'type': 'host_down'},
            'selector': {'metadata': {'app': 'vpn'}},
            'action': {'type': 'fip_failover'}}, keep_demo=True)
        others = [h for h in sorted(self.lab.hosts) if h != victim]
        active = self.boot('vpn-a', victim, {
            'app': 'vpn', 'vmr_pair': 'vpn', 'vmr_role': 'active'})
        standby = self.boot('vpn-b', others[0], {
            'app': 'vpn', 'vmr_pair': 'vpn', 'vmr_role': 'standby'})
        fip = self.fip(active)
        self.say('pair vpn: active vpn-a on %s holds %s, standby vpn-b on %s'
                 % (victim, fip.floating_ip_address, others[0]))
        t_fail = time.monotonic()
        self.lab.hosts[victim].apply_fault('power_loss')
        self.say('FAULT: power loss on %s' % victim)
        rec = self._follow(lambda r: r['state'] in ('done', 'failed'),
                           timeout)
        port_ids = [p.id for p in self.conn.network.ports(
            device_id=standby.id)]
        moved = self.conn.network.get_ip(fip.id).port_id in port_ids
        ok = rec['state'] == 'done' and moved and \
            not self.lab.monitor.violations()
        ok = self._others_healed(ids, victim) and ok
        self.say('%s: %s now on vpn-b, %.1f s after the failure' % (
            'FAILED OVER' if ok else 'FAILED', fip.floating_ip_address,
            time.monotonic() - t_fail))
        return ok

    def _lb_failover(self, victim, ids, timeout):
        """Active/standby behind Octavia: the dead member is disabled, the
        standby enabled and ONLINE; the dead host's other servers are
        evacuated."""
        self.use_contract({
            'name': 'api-lb', 'priority': 300,
            'trigger': {'type': 'host_down'},
            'selector': {'metadata': {'app': 'api'}},
            'action': {'type': 'lb_failover', 'params': {'pool': 'api-pool'}}},
            keep_demo=True)
        conn = self.conn
        lbaas = conn.load_balancer
        others = [h for h in sorted(self.lab.hosts) if h != victim]
        active = self.boot('api-a', victim, {
            'app': 'api', 'vmr_pair': 'api', 'vmr_role': 'active'})
        standby = self.boot('api-b', others[0], {
            'app': 'api', 'vmr_pair': 'api', 'vmr_role': 'standby'})
        subnet = conn.network.find_subnet('private-subnet')

        def settle(lb_id):
            lbaas.wait_for_load_balancer(lb_id, interval=0.05, wait=60)
        lb = lbaas.create_load_balancer(name='api-lb', vip_subnet_id=subnet.id)
        settle(lb.id)
        listener = lbaas.create_listener(loadbalancer_id=lb.id,
                                         protocol='HTTP', protocol_port=80)
        settle(lb.id)
        pool = lbaas.create_pool(listener_id=listener.id, protocol='HTTP',
                                 lb_algorithm='ROUND_ROBIN', name='api-pool')
        settle(lb.id)
        lbaas.create_health_monitor(pool_id=pool.id, type='HTTP', delay=5,
                                    timeout=3, max_retries=2)
        settle(lb.id)
        addresses = {}
        for server, enabled in ((active, True), (standby, False)):
            address = next(conn.network.ports(device_id=server.id)) \
                .fixed_ips[0]['ip_address']
            addresses[server.name] = address
            lbaas.create_member(pool, address=address, protocol_port=80,
                                subnet_id=subnet.id, admin_state_up=enabled)
            settle(lb.id)
        self.say('pool api-pool: api-a (%s) on %s enabled, api-b (%s) on %s '
                 'standby' % (addresses['api-a'], victim, addresses['api-b'],
                              others[0]))
        t_fail = time.monotonic()
        self.lab.hosts[victim].apply_fault('power_loss')
        self.say('FAULT: power loss on %s' % victim)
        rec = self._follow(lambda r: r['state'] in ('done', 'failed'),
                           timeout)
        members = {m.address: (m.is_admin_state_up, m.operating_status)
                   for m in lbaas.members(pool)}
        ok = rec['state'] == 'done' and \
            members.get(addresses['api-b']) == (True, 'ONLINE') and \
            members.get(addresses['api-a'], (None,))[0] is False and \
            not self.lab.monitor.violations()
        ok = self._others_healed(ids, victim) and ok
        self.say('%s: members %s, %.1f s after the failure' % (
            'FAILED OVER' if ok else 'FAILED', members,
            time.monotonic() - t_fail))
        return ok

    def _mass_failure(self, t_fail, timeout):
        """More than the brake allows go dark at once: VMR must suspect its
        own side and fence nobody."""
        victims = sorted(self.lab.hosts)[1:]
        for name in victims:
            self.lab.hosts[name].apply_fault('power_loss')
        self.say('FAULT: power loss on %s at once' % ', '.join(victims))
        brake = self.wait(lambda: self.store.get(self.store.keys.brake),
                          timeout, 'the disruption brake')
        for zone, entry in sorted(brake.json().get('zones', {}).items()):
            self.say('BRAKE engaged in zone %s after %.1f s: %s' % (
                zone, time.monotonic() - t_fail, entry['reason']))
        time.sleep(5)
        states = self._states()
        fenced = [r for r in self._records()]
        self.say('host states: %s' % ', '.join(
            '%s=%s' % kv for kv in sorted(states.items())))
        ok = not fenced and all(states[v] == 'suspect' for v in victims)
        self.say('%s: nothing fenced, nothing restarted while the brake holds'
                 % ('SAFE' if ok else 'UNSAFE'))
        return ok

    def _expect_partitioned(self, victim, t_fail, timeout):
        self.wait(lambda: self._states().get(victim) == 'partitioned',
                  timeout, '%s partitioned' % victim)
        self.say('host %s: partitioned (reachable, not fenced) after %.1f s'
                 % (victim, time.monotonic() - t_fail))
        time.sleep(3)
        ok = not self._records() and \
            self.lab.hosts[victim].get_power() == 'on'
        self.say('no recovery, host still powered: %s' % ok)
        return ok

    def _verdict(self, rec, ids, victim, t_fail):
        took = time.monotonic() - t_fail
        fencing = rec.get('fencing', {})
        self.say('fenced with proof: %s' % fencing.get('reason'))
        ok = rec['state'] == 'done'
        for step in rec.get('steps', []):
            server = self.lab.get_server(step['server_id']) or {}
            where = server.get('host')
            running = self.lab.server_running(step['server_id'])
            detail = (step.get('result') or step.get('error') or '')
            self.say('  %-12s %-8s %-18s %s' % (
                step['server_name'], step['state'], step['action'],
                detail.split(' [request ids')[0][:110]))
            ok = ok and step['state'] == 'done'
            if step['action'] == 'evacuate':
                # an evacuated server must run elsewhere now
                ok = ok and where != victim and running
        healed = {s['server_id'] for s in rec.get('steps', [])}
        lost = [i for i in ids if i not in healed]
        if lost:
            self.say('NOT HEALED: %s' % ', '.join(lost))
            ok = False
        # Journal and lab must agree: one evacuation per server, no more.
        evacuations = {}
        for ev in self.lab.events.since(self.events_from):
            if ev.get('type') == 'evacuate':
                evacuations[ev.get('server')] = evacuations.get(
                    ev.get('server'), 0) + 1
        twice = {k: v for k, v in evacuations.items() if v > 1}
        if twice:
            self.say('EVACUATED MORE THAN ONCE: %s' % twice)
            ok = False
        violations = self.lab.monitor.violations()
        self.say('invariant monitor: %s' % (
            'clean' if not violations else json.dumps(violations)))
        ok = ok and not violations
        self.say('%s: recovery %s in %.1f s after the failure' % (
            'HEALED' if ok else 'FAILED', rec['state'], took))
        self.show_recovery(rec['id'])
        return ok

    def show_recovery(self, rid):
        """What an operator sees: ``vmr recovery show`` over the API."""
        # After a leader-kill the first controller's API may be the dead one.
        alive = [name for name in ('controller-1', 'controller-2')
                 if name in self.procs and self.procs[name].poll() is None]
        url = self.api_url(alive[0] if alive else 'controller-1')
        cmd = [sys.executable, '-c', 'import sys, vmr_client.shell as m; '
               'sys.exit(m.main(sys.argv[1:]))', '--url', url,
               'recovery', 'show', rid]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True,
                                    timeout=30)
        except subprocess.TimeoutExpired:
            return
        if result.returncode == 0:
            self.out.write('\n$ vmr --url %s recovery show %s\n%s\n' % (
                url, rid, result.stdout))
            self.out.flush()

    # -- tear-down ------------------------------------------------------------
    def stay(self):
        """Keep everything running, say how to use it, until Ctrl-C or
        SIGTERM (the caller cleans up)."""
        for line in _stay_lines(self):
            self.say(line)
        while True:
            time.sleep(3600)

    def stop(self):
        for proc in self.procs.values():
            for sig in (signal.SIGCONT, signal.SIGTERM):
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for responder in getattr(self, 'responders', {}).values():
            responder.stop()
        if self.lab is not None and self.owns_lab:
            self.lab.stop()
        elif self.lab is not None:
            self._release_lab()
        if self.etcd is not None:
            self.etcd.cleanup()

    def _release_lab(self):
        """Give a borrowed cloud back as found: this run's agents and the
        etcd proxies to this run's etcd are gone."""
        with self.lab.lock:
            for host in self.lab.hosts.values():
                host.agent_pids = []
                if host.etcd_proxy is not None:
                    host.etcd_proxy.stop()
                    host.etcd_proxy = None

    def logs(self):
        out = {}
        for name in self.procs:
            path = os.path.join(self.workdir, '%s.log' % name)
            with open(path, errors='replace') as fh:
                out[name] = fh.read()
        return out


def _stay_lines(demo):
    """How to try VMR's CLI on the running lab."""
    url = demo.api_url()
    clouds = os.path.join(demo.workdir, 'clouds.yaml')
    return [
        'the lab stays up until Ctrl-C; in another shell:',
        '  export VMR_URL=%s' % url,
        '  vmr status; vmr host list; vmr host show compute-1',
        '  vmr contract list; vmr recovery list; vmr recovery show ID',
        '  vmr plan compute-1; vmr capacity; vmr fence test compute-1',
        '  vmr host maintenance compute-3 --on --reason try; vmr status '
        '-f json',
        '  OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=vmr-lab openstack server list'
        % clouds,
        '  logs: %s/*.log' % demo.workdir,
    ]


def run_demo(args):
    logging.basicConfig(level=logging.WARNING if not args.verbose
                        else logging.INFO)
    # Hosts of one power failure drop out of the group up to a TTL apart: a
    # grace of one TTL lets the brake see them together (DESIGN §3).
    grace = 3.0 if args.scenario == 'mass-failure' else 0.0
    demo = Demo(hosts=args.hosts, servers=args.servers, verbose=args.verbose,
                grace=grace, real=args.real)
    ok = False
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    try:
        demo.start()
        if args.scenario == 'none':
            ok = True
        else:
            ok = demo.run(args.scenario, args.victim, args.timeout)
        if args.stay:
            demo.stay()
    except KeyboardInterrupt:
        demo.say('interrupted: cleaning up')
    except Exception as exc:
        demo.say('ERROR: %s' % exc)
    finally:
        demo.stop()
        signal.signal(signal.SIGTERM, previous)
        if args.keep:
            demo.say('logs kept in %s' % demo.workdir)
        else:
            shutil.rmtree(demo.workdir, ignore_errors=True)
    return 0 if ok else 1


def register(subparsers):
    parser = subparsers.add_parser(
        'demo', help='run VMR end to end on the lab and heal a failure',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scenario', choices=SCENARIOS + ('none',),
                        default='power-loss',
                        help='the failure to inject (default power-loss; '
                             'none: no failure, with --stay a lab to try '
                             'the vmr CLI on)')
    parser.add_argument('--hosts', type=int, default=3,
                        help='simulated compute hosts (default 3)')
    parser.add_argument('--servers', type=int, default=6,
                        help='servers spread over the hosts (default 6)')
    parser.add_argument('--victim', default='compute-2',
                        help='the host that fails (default compute-2)')
    parser.add_argument('--timeout', type=float, default=90,
                        help='seconds to wait for the recovery')
    parser.add_argument('--real', action='store_true',
                        help='run on the real tier: Keystone, Placement, '
                             'Nova and Glance from their own releases, one '
                             'real nova-compute per host (installs them on '
                             'first use; needs MariaDB and RabbitMQ)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the work directory with every log')
    parser.add_argument('--stay', action='store_true',
                        help='after the scenario keep etcd, the cloud, the '
                             'agents and the coordinators running and print '
                             'how to try every vmr command on them, until '
                             'Ctrl-C')
    parser.add_argument('-v', '--verbose', action='store_true')
    parser.set_defaults(func=run_demo)
    return parser
