"""vmr-agent's main loop: heartbeat, self-check, probes, isolation.

One loop does the work and the heartbeat, so if the loop wedges the
heartbeat stops and the host is seen as silent (DESIGN §7b).  Probe requests
are served by a separate thread so a slow probe never delays a beat.
"""

import logging
import os
import random
import threading
import time

import cotyledon
from etcd3gw import exceptions as etcd_exc
import requests

import vmr_common
from vmr_agent import isolation
from vmr_agent import membership
from vmr_agent import registration
from vmr_common import exceptions
from vmr_common import faultlog
from vmr_common import grpclease
from vmr_common.reach import probes
from vmr_common.reach import watch as watch_mod
from vmr_common.reach import ring
from vmr_common.store import range_end, Store, Watcher

LOG = logging.getLogger(__name__)

#: the probe-request watch's stream length; the loop also reads the
#: requests every POLL_SECONDS / 3 (at least 3 TTLs) in case a watch failed
POLL_SECONDS = 30.0
#: how often an agent re-reads which neighbours it watches (jittered)
NEIGHBOURS_SECONDS = 30.0


def read_boot_id(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return 'unknown'


def process_running(name):
    """True if a process whose comm (or argv[0] basename) is ``name`` runs."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/comm' % pid) as f:
                if f.read().strip() == name[:15]:
                    return True
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
            for arg in argv[:2]:
                if os.path.basename(arg.decode('utf-8', 'replace')) == name:
                    return True
        except OSError:
            continue
    return False


class Agent:
    """The agent's logic, independent of the process model (testable)."""

    def __init__(self, conf, clock=time.monotonic):
        self.conf = conf
        self.host = conf.host
        self.clock = clock
        self.store = Store.from_conf(conf)
        self.membership = membership.Membership(
            self.store, self.host, conf.heartbeat.group, conf.heartbeat.ttl,
            heart=grpclease.Heart(self.store, conf.heartbeat.transport),
            clock=clock)
        self.watchdog = None
        if conf.agent.watchdog_enabled:
            self.watchdog = self._make_watchdog()
        self.isolation = isolation.IsolationGuard(
            conf.agent.isolation_timeout, conf.agent.isolation_action,
            conf.agent.isolation_command, self.watchdog, clock=clock)
        self.last_loop = clock()
        self.started_at = time.time()
        self.registered = False
        self.processes_down = []
        self._stop = threading.Event()
        self._probe_wake = threading.Event()
        self.responder = None
        self.reach = None
        self._neighbours_at = None
        self._neighbours_every = NEIGHBOURS_SECONDS
        self._neighbours = None
        self._polled_at = time.monotonic()
        self.probe_thread = None
        self.watcher = None
        self._last_error = None
        #: a lost etcd at ERROR, repeated with back-off while it lasts
        self.etcd_fault = faultlog.FaultLog(LOG, 'heartbeat failed')
        self._failures = 0
        self.libvirt = None
        if conf.agent.libvirt_uri:
            from vmr_agent import libvirt_events
            self.libvirt = libvirt_events.LibvirtWatcher(
                conf.agent.libvirt_uri)

    def _make_watchdog(self):
        from vmr_agent import watchdog
        action = None
        command = self.conf.agent.watchdog_command
        if command:
            import shlex
            import subprocess

            def action():
                subprocess.run(shlex.split(command), check=False)
        return watchdog.Watchdog(self.conf.agent.watchdog_timeout,
                                 device=self.conf.agent.watchdog_device,
                                 fallback_action=action)

    # -- facts ------------------------------------------------------------
    def facts(self):
        """What this agent tells the coordinators about its host."""
        facts = {
            'host': self.host,
            'boot_id': read_boot_id(self.conf.agent.boot_id_file),
            'version': vmr_common.__version__,
            'addresses': dict(self.conf.agent.addresses),
            'probe_port': self.conf.agent.probe_port,
            'zone': self.conf.agent.zone,
            'fence_profile': self.conf.agent.fence_profile,
            'heartbeat_ttl': self.conf.heartbeat.ttl,
        }
        if self.watchdog is not None:
            facts['watchdog'] = self.watchdog.describe()
        return facts

    def capabilities(self):
        caps = self.facts()
        caps['started_at'] = self.started_at
        caps['processes_down'] = list(self.processes_down)
        heart = self.membership.heart
        # How this agent renews its lease (operators see it in `vmr host
        # show`): the transport of the last renewal that worked, so a
        # retry of gRPC every minute behind a proxy changes nothing.
        caps['heartbeat'] = heart.last or heart.using
        if self.libvirt is not None:
            caps['instances_down'] = self.libvirt.report()
        return caps

    def alive(self):
        """Probe answers only while the main loop is fresh."""
        return self.clock() - self.last_loop < self.conf.heartbeat.ttl

    # -- the loop ---------------------------------------------------------
    def start_threads(self):
        nets = self.conf.agent.responder_networks
        endpoints = [probes.parse_address(a, self.conf.agent.probe_port)
                     for net, a in self.conf.agent.addresses.items()
                     if '*' in nets or net in nets]
        if endpoints:
            self.responder = probes.ProbeResponder(self.host, endpoints,
                                                   self.alive)
            self.responder.start()
        if self.conf.agent.watch_neighbours > 0:
            self.reach = watch_mod.ReachabilityWatch(
                self.conf.agent.watch_interval,
                retain=max(30.0, 3 * self.conf.heartbeat.ttl))
            self.reach.start()
        self.probe_thread = threading.Thread(target=self._probe_loop,
                                             name='vmr-prober', daemon=True)
        self.probe_thread.start()
        # Requests arrive through the watch; the loop's own polls are only
        # a safety net (thousands of agents polling etcd every few seconds
        # would cost it more than their heartbeats).
        self.watcher = Watcher(self.store, self.store.keys.probes,
                               self._probe_wake.set, timeout=POLL_SECONDS)
        self.watcher.start()
        if self.watchdog is not None:
            self.watchdog.arm()
        if self.libvirt is not None and not self.libvirt.start():
            self.libvirt = None

    def step(self):
        """One beat; returns a short word for the log/tests."""
        self.last_loop = self.clock()
        if self.conf.agent.watched_processes:
            self.processes_down = [
                p for p in self.conf.agent.watched_processes
                if not process_running(p)]
        try:
            # Join first, then register: a coordinator must never see the
            # record of a starting host before its membership.
            # A refused join (another live agent holds this host name)
            # registers nothing: the host record is the other agent's.
            outcome = self.membership.beat(self.capabilities())
            if not self.registered and outcome != 'refused':
                registration.register(self.store, self.host, self.facts())
                self.registered = True
        except (exceptions.StoreError, etcd_exc.Etcd3Exception,
                requests.RequestException) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, etcd_exc.Etcd3Exception):
                text = 'etcd unavailable (%s): %s' % (
                    type(exc).__name__, ','.join(self.store.endpoints))
            self.etcd_fault.report(text)
            self._last_error = text
            self._failures += 1
            self.isolation.check()
            return 'error'
        if self._last_error is not None:
            self.etcd_fault.clear()
            LOG.info('heartbeat restored')
            self._last_error = None
        self._failures = 0
        self.isolation.contact()
        if self.watchdog is not None and self.isolation.may_feed_watchdog:
            self.watchdog.feed()
        return outcome

    def run(self):
        self.start_threads()
        interval = self.conf.heartbeat.interval
        LOG.info('vmr-agent %s on %s: heartbeat every %.1f s, TTL %.1f s, '
                 'etcd %s', vmr_common.__version__, self.host, interval,
                 self.conf.heartbeat.ttl, ','.join(self.store.endpoints))
        next_beat = self.clock()
        while not self._stop.is_set():
            self.step()
            next_beat += interval
            delay = next_beat - self.clock()
            if delay < 0:  # we were stalled: do not burst to catch up
                next_beat = self.clock()
                delay = 0
            self._stop.wait(delay)

    def stop(self, leave=True):
        self._stop.set()
        self._probe_wake.set()
        if self.watcher:
            self.watcher.stop()
        if self.responder:
            self.responder.stop()
        if self.reach:
            self.reach.stop()
        if self.watchdog is not None:
            try:
                self.watchdog.disarm()
            except Exception as exc:  # never block shutdown on it
                LOG.warning('watchdog disarm failed: %s', exc)
        self.membership.close(leave=leave)

    # -- probe requests -----------------------------------------------------
    def _probe_loop(self):
        ttl = self.conf.heartbeat.ttl
        poll = max(POLL_SECONDS / 3, 3 * ttl)
        while not self._stop.is_set():
            woken = self._probe_wake.wait(min(poll, self._neighbours_due()))
            self._probe_wake.clear()
            if self._stop.is_set():
                return
            try:
                if self.reach is not None and self._neighbours_due() <= 0:
                    self._refresh_neighbours()
                if woken or time.monotonic() - self._polled_at >= poll:
                    self._polled_at = time.monotonic()
                    self.serve_probe_requests()
            except exceptions.StoreError as exc:
                LOG.debug('probe requests: %s', exc)

    def _neighbours_due(self):
        """Seconds until the neighbours should be read again (<= 0: now)."""
        if self.reach is None:
            return float('inf')
        if self._neighbours_at is None:
            return 0
        return self._neighbours_at + self._neighbours_every - \
            time.monotonic()

    def _refresh_neighbours(self):
        found = self.neighbours()
        self.reach.set_targets(found, self.conf.agent.probe_port)
        self._neighbours_at = time.monotonic()
        # Jittered, so thousands of agents do not read etcd in step; soon
        # again while the ring is still filling up (a cluster starting).
        every = NEIGHBOURS_SECONDS if len(found) >= \
            self.conf.agent.watch_neighbours else self.conf.heartbeat.ttl
        self._neighbours_every = every * random.uniform(0.8, 1.2)
        if sorted(found) != self._neighbours:
            self._neighbours = sorted(found)
            LOG.info('watching neighbours: %s',
                     ', '.join(self._neighbours) or 'none')

    def neighbours(self):
        """``{host: ({network: address}, port)}`` of the live agents this
        one watches: its ``watch_neighbours`` predecessors on the ring
        (:func:`vmr_common.reach.ring.watched_by`).  The leader asks a
        suspect's successors to probe it (``detection.choose_probers``), so
        these are the hosts this agent will be asked about.

        Only the window the ring needs is read — the members just before
        this one and, to wrap around, the last ones — not the whole group:
        thousands of agents do this.
        """
        count = self.conf.agent.watch_neighbours
        prefix = self.store.keys.group(self.conf.heartbeat.group)
        me = prefix + self.host
        # tooz's layout keeps the group itself at the bare prefix: start
        # after it.
        kvs = self.store.get_range(prefix + '\0', me, limit=count,
                                   descend=True)
        if len(kvs) < count:       # wrap around to the last members
            kvs += self.store.get_range(me + '\0', range_end(prefix),
                                        limit=count - len(kvs), descend=True)
        window = {kv.key[len(prefix):]: kv for kv in kvs}
        found = {}
        for name in ring.watched_by(sorted(window), self.host, count):
            try:
                caps = window[name].capabilities()
            except exceptions.CorruptRecord as exc:
                LOG.debug('neighbour %s: %s', name, exc)
                continue
            addresses = caps.get('addresses')
            if isinstance(addresses, dict) and addresses:
                found[name] = (addresses, caps.get('probe_port'))
        return found

    def serve_probe_requests(self):
        """Answer every open probe request that names this host.

        Watched hosts are answered at once from what the watch saw; the
        others are probed for the request's ``timeout`` (all together when
        the watch runs, one after the other without it).
        """
        if not self.membership.joined:
            # refused as a duplicate of this host name: the answers under
            # this name belong to the agent that holds it
            return 0
        keys = self.store.keys
        kvs, _ = self.store.get_prefix(keys.probes)
        requests_, answered = {}, set()
        for kv in kvs:
            parts = keys.probe_parts(kv.key)
            if parts is None:
                continue
            target, req_id, prober = parts
            if prober is None:
                try:
                    requests_[(target, req_id)] = (kv.json(), kv.lease)
                except exceptions.CorruptRecord:
                    continue
            elif prober == self.host:
                answered.add((target, req_id))
        mine = []
        for (target, req_id), (req, lease) in sorted(requests_.items()):
            if (target, req_id) in answered or target == self.host:
                continue
            if self.host not in req.get('probers', []):
                continue
            mine.append((target, req_id, req, lease))
        later = []
        for item in mine:
            result = self._verdict(item[0], item[2], wait=False)
            if result is None:
                later.append(item)
            else:
                self._answer(item, result, 'watch')
        for item in later:
            result = self._verdict(item[0], item[2], wait=True)
            self._answer(item, result, 'probe')
        return len(mine)

    def _verdict(self, target, req, wait):
        return probes.verdict(self.reach, target, req, wait,
                              self.conf.agent.probe_port)

    def _answer(self, item, result, how):
        target, req_id, _, lease = item
        self.store.put(self.store.keys.probe_answer(target, req_id,
                                                    self.host),
                       probes.answer(self.host, result, how),
                       lease=lease or None)


class AgentService(cotyledon.Service):
    """cotyledon wrapper of :class:`Agent`."""

    name = 'vmr-agent'

    def __init__(self, worker_id, conf):
        super().__init__(worker_id)
        self.agent = Agent(conf)

    def run(self):
        self.agent.run()

    def terminate(self):
        LOG.info('vmr-agent: terminating, leaving the group')
        self.agent.stop(leave=True)

    def reload(self):
        self.agent.conf.mutate_config_files()
