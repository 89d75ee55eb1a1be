"""The scenarios: inject the failure, follow the recovery in the journal,
judge the outcome (the verdict) and show it as an operator would.

A part of :class:`vmr_lab.demo.Demo`.
"""

import json
import os
import signal
import subprocess
import sys
import time


class Scenarios:
    """The failures a demo run injects and their verdicts (a mixin of
    ``Demo``)."""

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
                        if killed_leader:
                            # read after the journal: a new leader wins
                            # before it resumes, so its election is told
                            # before the events it wrote
                            self._watch_election()
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
        if not self.real:
            # Real Octavia's no-op amphorae report no health: with a
            # monitor its members would stay OFFLINE for ever (the real
            # tier's pool has none: NO_MONITOR is what serves there).
            lbaas.create_health_monitor(pool_id=pool.id, type='HTTP',
                                        delay=5, timeout=3, max_retries=2)
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
        serving = (True, 'ONLINE' if not self.real else 'NO_MONITOR')
        ok = rec['state'] == 'done' and \
            members.get(addresses['api-b']) == serving and \
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
