"""Simulated compute hosts: power, hypervisor, nova-compute reports, faults.

A :class:`SimHost` is what a compute node looks like from outside:

* **power** -- what its virtual BMC reports and changes
  (:meth:`SimHost.get_power`, :meth:`SimHost.set_power`).  Power-off stops
  every VM on it, kills its agent and silences its nova-compute;
* a **hypervisor** -- the set of server ids really running there, fed to the
  invariant monitor.  Nova asks the host to start/stop servers when an action
  completes;
* a **nova-compute** that reports every ``report_interval`` seconds while the
  host is powered, booted, not hung and not partitioned.  The report time is
  computed lazily from when reporting (re)started, so no thread per host;
* a **boot id** that changes on every power-on, written to
  ``<state_dir>/<host>/boot_id`` where the host's agent reads it;
* optional **agent processes** (``attach_agent(pid)``) that faults kill or
  freeze, and an optional **etcd proxy** (:class:`vmr_lab.netproxy.TcpProxy`)
  that a partition turns into a black hole.

All state is guarded by the lab-wide lock ``lab.lock``.
"""

import logging
import math
import os
import signal
import time
import uuid

LOG = logging.getLogger(__name__)

FAULT_TYPES = ('power_loss', 'power_on', 'kernel_hang', 'agent_death',
               'partition', 'heal_partition', 'slow_bmc', 'bmc_unreachable',
               'network_delay', 'clear')


class SimHost:
    """One simulated compute host of the lab."""

    def __init__(self, lab, name, vcpus=16, ram_mb=32768, disk_gb=400,
                 state_dir=None, report_interval=1.0):
        self.lab = lab
        self.name = name
        self.vcpus = vcpus
        self.ram_mb = ram_mb
        self.disk_gb = disk_gb
        self.state_dir = state_dir
        self.report_interval = report_interval
        self.power = 'on'
        self.hung = False
        self.partitioned = False
        self.running = set()
        self.agent_pids = []
        # Processes that *are* the machine (a real nova-compute and its fake
        # guests on the real tier): power-off kills them, a kernel hang
        # freezes them, an agent death leaves them alone.
        self.machine_pids = []
        self.etcd_proxy = None
        # Other management-network paths (a real nova-compute's RabbitMQ):
        # a partition cuts them along with the agent's etcd proxy.
        self.extra_proxies = []
        self.bmc = None          # vmr_lab.bmc.BmcHandle once wired
        self.boot_id = None
        self.power_changes = 0
        now = time.time()
        # nova-compute reports from this moment on (None: not reporting);
        # _last_report is the frozen time of the last report when silent.
        self._reporting_since = now
        self._last_report = now
        self._new_boot_id()

    # -- identity -------------------------------------------------------------
    def _new_boot_id(self):
        self.boot_id = str(uuid.uuid4())
        if self.state_dir:
            directory = os.path.join(self.state_dir, self.name)
            os.makedirs(directory, exist_ok=True)
            path = os.path.join(directory, 'boot_id')
            # Write then rename: an agent must never read half a boot id.
            with open(path + '.tmp', 'w') as fh:
                fh.write(self.boot_id + '\n')
            os.replace(path + '.tmp', path)

    @property
    def boot_id_path(self):
        """Where the host's agent reads its boot id (None without state dir)."""
        if not self.state_dir:
            return None
        return os.path.join(self.state_dir, self.name, 'boot_id')

    # -- nova-compute reports -------------------------------------------------
    def last_report(self):
        """Time of nova-compute's last state report (epoch seconds)."""
        with self.lab.lock:
            since = self._reporting_since
            now = time.time()
            if since is None or now < since:
                return self._last_report
            ticks = math.floor((now - since) / self.report_interval)
            return since + ticks * self.report_interval

    def compute_alive(self):
        """True when nova-compute runs and can be reached over RPC."""
        with self.lab.lock:
            return (self._reporting_since is not None
                    and time.time() >= self._reporting_since)

    def _stop_reporting(self):
        if self._reporting_since is not None:
            self._last_report = self.last_report()
            self._reporting_since = None

    def _start_reporting(self, at=None):
        if self._reporting_since is None:
            self._reporting_since = at if at is not None else time.time()

    # -- hypervisor -----------------------------------------------------------
    def start_server(self, server_id):
        """The hypervisor starts ``server_id`` (Nova finished an action)."""
        with self.lab.lock:
            if self.power != 'on':
                return False
            if server_id not in self.running:
                self.running.add(server_id)
                self.lab.monitor.server_started(server_id, self.name)
                self.lab.events.add('server_running', host=self.name,
                                    server=server_id)
            return True

    def stop_server(self, server_id, reason='stopped'):
        """The hypervisor stops ``server_id``."""
        with self.lab.lock:
            if server_id in self.running:
                self.running.discard(server_id)
                self.lab.monitor.server_stopped(server_id, self.name)
                self.lab.events.add('server_stopped', host=self.name,
                                    server=server_id, reason=reason)

    def possibly_running(self, server_id):
        """May ``server_id`` still run here?  Only power-off proves it not."""
        with self.lab.lock:
            return server_id in self.running

    # -- power (what the BMC sees) --------------------------------------------
    def get_power(self):
        """'on' or 'off': the chassis power state the BMC reports."""
        return self.power

    def set_power(self, state):
        """Change the power: 'on', 'off', 'reset'/'cycle', 'shutdown'."""
        state = {'shutdown': 'off', 'cycle': 'reset', 'boot': 'on'}.get(
            state, state)
        if state == 'diag':
            return self.power
        if state not in ('on', 'off', 'reset'):
            raise ValueError('unknown power state %r for host %s'
                             % (state, self.name))
        with self.lab.lock:
            if state in ('off', 'reset') and self.power == 'on':
                self._power_off()
            if state in ('on', 'reset') and self.power == 'off':
                self._power_on()
            return self.power

    def _power_off(self):
        self.power = 'off'
        self.power_changes += 1
        self.hung = False
        self._stop_reporting()
        for server_id in sorted(self.running):
            self.stop_server(server_id, reason='power off')
        self._signal_agents(signal.SIGKILL)
        self.agent_pids = []
        self._signal(self.machine_pids, signal.SIGKILL)
        self.machine_pids = []
        self.lab.events.add('power', host=self.name, state='off')
        LOG.info('host %s powered off', self.name)

    def _power_on(self):
        self.power = 'on'
        self.power_changes += 1
        self._new_boot_id()
        boot_delay = self.lab.delays.get('host_boot', 1.0)
        started_at = time.time() + boot_delay
        if not self.partitioned:
            self._start_reporting(at=started_at)
        boot_id = self.boot_id
        self.lab.events.add('power', host=self.name, state='on',
                            boot_id=boot_id)
        LOG.info('host %s powered on (boot id %s)', self.name, boot_id)
        # nova-compute's init_host runs when the host has booted.
        self.lab.schedule(boot_delay, self._booted, boot_id)

    def _booted(self, boot_id):
        with self.lab.lock:
            if self.power != 'on' or self.boot_id != boot_id:
                return  # powered off again before it finished booting
        self.lab.host_booted(self.name)

    # -- agents and faults ----------------------------------------------------
    def attach_agent(self, pid):
        """Tie the agent process ``pid`` to this host's fate."""
        with self.lab.lock:
            if pid not in self.agent_pids:
                self.agent_pids.append(int(pid))

    def attach_machine(self, pid):
        """Tie ``pid`` (negative: a process group) to the machine itself."""
        with self.lab.lock:
            if pid not in self.machine_pids:
                self.machine_pids.append(int(pid))

    def _signal_agents(self, signum):
        self._signal(self.agent_pids, signum)

    def _signal(self, pids, signum):
        for pid in list(pids):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pids.remove(pid)
            except PermissionError:
                LOG.warning('host %s: not allowed to signal process %d',
                            self.name, pid)

    def apply_fault(self, fault_type, **options):
        """Inject a fault (see ``FAULT_TYPES``); return a description."""
        if fault_type not in FAULT_TYPES:
            raise ValueError('unknown fault type %r; expected one of %s'
                             % (fault_type, ', '.join(FAULT_TYPES)))
        with self.lab.lock:
            if fault_type == 'power_loss':
                self.set_power('off')
            elif fault_type == 'power_on':
                self.set_power('on')
            elif fault_type == 'kernel_hang':
                if self.power == 'on' and not self.hung:
                    # The VMs stay in self.running: nobody outside can prove
                    # they stopped until the host is powered off.
                    self.hung = True
                    self._stop_reporting()
                    self._signal_agents(signal.SIGSTOP)
                    self._signal(self.machine_pids, signal.SIGSTOP)
            elif fault_type == 'agent_death':
                self._signal_agents(signal.SIGKILL)
                self.agent_pids = []
            elif fault_type == 'partition':
                self.partitioned = True
                self._stop_reporting()
                for proxy in self._management_proxies():
                    proxy.set_mode('drop')
            elif fault_type == 'heal_partition':
                self._heal_partition()
            elif fault_type == 'network_delay':
                if self.etcd_proxy is None:
                    raise ValueError('host %s has no etcd proxy to slow down'
                                     % self.name)
                self.etcd_proxy.set_mode('delay', ms=int(options.get('ms', 500)),
                                         fraction=float(options.get('fraction',
                                                                    1.0)))
            elif fault_type == 'slow_bmc':
                self._require_bmc().slow(float(options.get('seconds', 5)))
            elif fault_type == 'bmc_unreachable':
                self._require_bmc().unreachable(True)
            elif fault_type == 'clear':
                self._heal_partition()
                if self.hung:
                    self.hung = False
                    self._signal_agents(signal.SIGCONT)
                    self._signal(self.machine_pids, signal.SIGCONT)
                    if self.power == 'on':
                        self._start_reporting()
                if self.bmc is not None:
                    self.bmc.clear()
            self.lab.events.add('fault', host=self.name, fault=fault_type,
                                options=options)
            return self.describe_state()

    def _heal_partition(self):
        if self.partitioned:
            self.partitioned = False
            if self.power == 'on' and not self.hung:
                self._start_reporting()
        for proxy in self._management_proxies():
            proxy.set_mode('pass')

    def _management_proxies(self):
        proxies = list(self.extra_proxies)
        if self.etcd_proxy is not None:
            proxies.append(self.etcd_proxy)
        return proxies

    def _require_bmc(self):
        if self.bmc is None:
            raise ValueError('host %s has no virtual BMC' % self.name)
        return self.bmc

    def faults(self):
        """Names of the faults currently in effect."""
        active = []
        if self.power != 'on':
            active.append('powered_off')
        if self.hung:
            active.append('kernel_hang')
        if self.partitioned:
            active.append('partition')
        if self.bmc is not None and self.bmc.delay:
            active.append('slow_bmc')
        if self.bmc is not None and self.bmc.is_unreachable:
            active.append('bmc_unreachable')
        if self.etcd_proxy is not None and self.etcd_proxy.mode == 'delay':
            active.append('network_delay')
        return active

    def describe_state(self):
        """A short phrase: 'powered on', 'powered on, hung' ..."""
        words = ['powered %s' % self.power]
        if self.hung:
            words.append('hung')
        if self.partitioned:
            words.append('partitioned')
        return ', '.join(words)

    def to_dict(self):
        """The host as the control API shows it (never the BMC password)."""
        with self.lab.lock:
            data = {
                'name': self.name, 'power': self.power, 'hung': self.hung,
                'partitioned': self.partitioned, 'boot_id': self.boot_id,
                'boot_id_path': self.boot_id_path,
                'running_servers': sorted(self.running),
                'vcpus': self.vcpus, 'memory_mb': self.ram_mb,
                'faults': self.faults(), 'agent_pids': list(self.agent_pids),
                'machine_pids': list(self.machine_pids),
                'etcd_proxy_port': (self.etcd_proxy.port
                                    if self.etcd_proxy is not None else None),
                'bmc': None,
            }
            if self.bmc is not None:
                data['bmc'] = {'address': self.bmc.address,
                               'port': self.bmc.port,
                               'username': self.bmc.username}
            data.update(self.lab.compute_view(self.name))
            return data

    def __repr__(self):
        return '<SimHost %s %s>' % (self.name, self.describe_state())
