"""The demo run: one object owning every process and object it starts.

:class:`Demo` starts etcd, the cloud (the lab, or the real tier), the
agents and coordinators (``processes``), builds servers through
openstacksdk (``servers``), runs a scenario (``scenarios``) and stops it
all again.
"""

import functools
import os
import signal
import subprocess
import sys
import tempfile
import time

from vmr_lab.demo.defaults import DEMO_CONTRACT, TIMINGS
from vmr_lab.demo.processes import Processes
from vmr_lab.demo.scenarios import Scenarios
from vmr_lab.demo.servers import Servers


class Demo(Processes, Servers, Scenarios):
    """Owns every process and object of one demo run."""

    #: the contract loaded at start: every server of a dead host evacuated
    contract = DEMO_CONTRACT

    #: ``[journal] write_format`` of the coordinators (None: the default)
    journal_format = None

    #: extra ``[coordinator]`` lines of the coordinators (a benchmark
    #: tries ``engine_workers = 16`` this way)
    coordinator_options = ''

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
        self.store.put(self.store.keys.contract(self.contract['name']),
                       self.contract)
        self.say('contract %s loaded: host_down -> evacuate (then start)'
                 % self.contract['name'])
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

    # -- observation ----------------------------------------------------------
    def _states(self):
        kvs, _ = self.store.get_prefix(self.store.keys.hosts)
        return {kv.key.rsplit('/', 1)[1]: kv.json().get('state')
                for kv in kvs}

    def _leader(self):
        kv = self.store.get(self.store.keys.leader)
        return kv.value if kv else None

    def _records(self):
        """The journal's records, steps assembled (format 2)."""
        from vmr_coordinator import journal as journal_mod
        kvs, _ = self.store.get_prefix(self.store.keys.journal)
        steps, _ = self.store.get_prefix(self.store.keys.steps)
        steps = journal_mod.steps_by_recovery(self.store.keys, steps)
        return [journal_mod.assemble(kv.json(), steps.get(
            kv.key.rsplit('/', 1)[1], ({}, {}))[0]) for kv in kvs]

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
