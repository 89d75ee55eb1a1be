"""Stage 3: match the fenced host's servers with the contracts, one step
per server, confined to the host's failover segment.

A part of :class:`vmr_coordinator.recovery.Recovery`; it uses the
engine's journal, store, pool and connection.
"""

import logging

import openstack

from vmr_common import models
from vmr_common.models import HostState
from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import segment_records
from vmr_coordinator import segments as segments_mod
from vmr_coordinator.actions import evidence
from vmr_coordinator.journal import RecoveryState, StepState
from vmr_coordinator.segment_records import stored_segments
from vmr_coordinator.triggers.base import trigger_class

LOG = logging.getLogger(__name__)


class Plan:
    """The planning stage of the recovery engine (mixed into ``Recovery``)."""

    # -- 3. plan --------------------------------------------------------------
    def _plan_job(self, rid, snap):
        """Plan (after the fence's post steps that did not go through, run
        again); once planned, dispatch the steps at once."""
        self._post_again(rid, snap)
        rec = self._plan(rid, snap)
        if rec is not None and rec.get('state') == RecoveryState.ACTING:
            self._drive_steps(rid, rec)

    def _plan(self, rid, snap):
        """Match the contracts to the servers; the record as written (None
        when it was not waiting for a plan)."""
        from vmr_coordinator import cloud
        rec = self._current(rid)
        if rec is None or rec.get('state') not in (RecoveryState.FENCED,
                                                   RecoveryState.DETECTED):
            return None   # planned since the snapshot that sent us here
        host = rec.get('host')
        event = {k: v for k, v in rec.get('trigger', {}).items()
                 if k != 'reason'}
        trigger = trigger_class(event.get('type'))
        if trigger.drains_host:
            self._disable_for_drain(rid, host,
                                    rec['trigger'].get('reason') or '')
        facts = self._candidates(cloud, event)
        valid = []
        for name, doc in sorted(snap.contracts.items()):
            try:
                valid.append(contracts_mod.parse_contract(doc))
            except contracts_mod.ContractError as exc:
                LOG.error('contract %s skipped: %s', name, exc)
        plan = contracts_mod.match(valid, event, facts,
                                   self.service_vm_policy)
        now = self.clock()
        steps = []
        for step in plan.steps:
            steps.append({
                'server_id': step.server.id, 'server_name': step.server.name,
                'contract': step.contract.name,
                'priority': step.contract.priority,
                'action': step.action.type, 'params': dict(step.action.params),
                'on_failure': [a.to_dict() for a in step.on_failure],
                'limits': step.contract.limits.to_dict(),
                'state': StepState.PENDING, 'attempts': 0,
                'server': step.server.to_dict()})

        segment, segment_said = None, None
        if trigger.needs_fence and steps:
            segment, segment_said = self._confine_to_segment(rid, host,
                                                             steps, now)

        def mutate(r):
            if r.get('state') not in (RecoveryState.FENCED,
                                      RecoveryState.DETECTED):
                return False
            r['steps'] = steps
            if segment is not None:
                r['segment'] = segment
                journal_mod.add_event(r, now, 'segment', segment_said)
            r['skipped'] = [s.to_dict() for s in plan.skipped] + [
                {'server_id': s.id, 'server_name': s.name,
                 'reason': 'no contract matches'} for s in plan.unmatched]
            r['state'] = RecoveryState.ACTING if steps else \
                RecoveryState.DONE
            journal_mod.add_event(r, now, 'planned', plan.summary())
            if not steps:
                journal_mod.add_event(r, now, 'done', 'nothing to heal')
        written = self.journal.update(rid, mutate)
        LOG.info('recovery %s: %s', rid, plan.summary())
        if not steps and trigger.needs_fence:
            self._finish_host(host, rid, RecoveryState.DONE)
        elif trigger.needs_fence and written and \
                written.get('state') == RecoveryState.ACTING:
            self._set_host(host, {'state': HostState.RECOVERING,
                                  'state_since': now,
                                  'reason': 'recovery %s: healing %d servers'
                                            % (rid, len(steps))})
        return written

    def _confine_to_segment(self, rid, host, steps, now):
        """Keep the servers of failed ``host`` inside its failover segment.

        Each evacuate step gets the segment host it goes to as its
        ``target_host``, chosen for all steps at once in the order of the
        segment's recovery method; a reserved host chosen is enabled in
        Nova first and becomes an ordinary member.  A step with no room in
        the segment fails now, saying why: it is never sent anywhere else.
        Returns ``(segment facts for the record, sentence)``, ``(None,
        None)`` when the host is in no segment.
        """
        from vmr_coordinator import cloud, planning
        segments = stored_segments(self.store, lambda key, why: LOG.error(
            'segment %s ignored: %s', key, why))
        if not segments:
            return None, None
        hosts = cloud.host_view(self.conn)
        segment, note = segments_mod.segment_of(host, segments, hosts)
        if segment is None:
            return None, None
        placed = planning.place_in_segment(
            host, [(s['server_id'], s['action'], s['params']) for s in steps],
            cloud.server_loads(self.conn), hosts, segment)
        said = [note] if note else []
        enabled = []
        for name in sorted({dest for dest, kind, _ in placed.values()
                            if kind == 'reserved'}):
            ids = []
            # An ordinary member first, then enabled: the reserve check
            # (same lock) never disables it again in between.
            with self._reserve_lock:
                segment_records.use_reserved_host(
                    self.store, self.healer.guarded, segment.name, name)
                try:
                    with evidence.collect(self.conn, ids):
                        ok, text = cloud.enable_reserved(self.conn, name)
                except Exception as exc:  # its steps fail below, saying why
                    ok, text = False, 'reserved host %s not enabled: %s' % (
                        name, str(exc).splitlines()[0])
            said.append(evidence.annotate(text, ids))
            if ok:
                enabled.append(name)
        failed = 0
        for step in steps:
            if step['server_id'] not in placed:
                continue
            dest, kind, why = placed[step['server_id']]
            if dest is not None and kind == 'reserved' and \
                    dest not in enabled:
                dest, why = None, 'its reserved host %s could not be ' \
                    'enabled' % dest
            if dest is None:
                failed += 1
                step.update(state=StepState.FAILED, finished_at=now,
                            error='no room for it in segment %s: %s'
                            % (segment.name, why))
            else:
                # evacuate and boot_from_snapshot (the only placing
                # actions) both go to the host chosen in the segment
                step['params']['target_host'] = dest
                step['params'].pop('target_aggregate', None)
                step['placement'] = why
        said.insert(0, 'segment %s (%s): %d placed, %d without room%s' % (
            segment.name, segment.recovery_method, len(placed) - failed,
            failed, '; reserved host(s) %s now ordinary members'
            % ', '.join(enabled) if enabled else ''))
        sentence = '; '.join(said)
        LOG.warning('recovery %s: %s', rid, sentence)
        return {'name': segment.name,
                'recovery_method': segment.recovery_method,
                'reserved_hosts_used': enabled}, sentence

    def _disable_for_drain(self, rid, host, reason):
        """Before a maintenance drain moves anything: disable the host's
        nova-compute so new servers do not land there, and remember that
        VMR did it (only then is it enabled again when maintenance ends)."""
        from vmr_coordinator import cloud
        ids = []
        try:
            with evidence.collect(self.conn, ids):
                disabled, said = cloud.disable_for_maintenance(
                    self.conn, host, reason)
        except Exception as exc:  # drain anyway; say what is at risk
            disabled, said = False, (
                'could not disable nova-compute@%s: %s; new servers may '
                'still land there' % (host, str(exc).splitlines()[0]))
            LOG.error('recovery %s: %s', rid, said)
        if disabled:
            self._set_host(host, {'drain_disabled_compute': rid})
        now = self.clock()

        def mutate(r):
            journal_mod.add_event(r, now, 'nova service disabled' if disabled
                                  else 'nova service not disabled',
                                  evidence.annotate(said, ids))
        self.journal.update(rid, mutate)

    def _enable_after_drain(self, host, rid):
        """Maintenance ended: enable the nova-compute VMR disabled."""
        from vmr_coordinator import cloud
        ids = []
        try:
            with evidence.collect(self.conn, ids):
                done, said = cloud.enable_after_maintenance(self.conn, host)
        except Exception as exc:  # retried at the next cycle
            LOG.warning('maintenance of %s ended; nova-compute not enabled '
                        'yet: %s', host, str(exc).splitlines()[0])
            return
        if not done:
            LOG.info('maintenance of %s ended; %s', host, said)
            return
        self._set_host(host, {'drain_disabled_compute': None})
        LOG.warning('maintenance of %s ended: %s', host, said)
        if rid and self.store.get(self.store.keys.recovery(rid)) is not None:
            now = self.clock()

            def mutate(r):
                journal_mod.add_event(r, now, 'nova service enabled',
                                      evidence.annotate(said, ids))
            self.journal.update(rid, mutate)

    def _candidates(self, cloud, event):
        """ServerFacts of every server the event may concern."""
        conn = self.conn
        ids = list(event.get('server_ids') or [])
        if event.get('server_id'):
            ids.append(event['server_id'])
        names = []
        for ref in event.get('servers') or []:
            (ids if models.looks_like_id(ref) else names).append(ref)
        found = {}
        for sid in ids:
            try:
                server = conn.compute.get_server(sid)
            except openstack.exceptions.NotFoundException as exc:
                # gone: nothing to heal.  Any other error (Nova away)
                # ends this plan: it is made again at the next cycle,
                # never without the server.
                LOG.warning('server %s: %s', sid, str(exc).splitlines()[0])
                continue
            found[server.id] = server
        for name in names:
            for server in conn.compute.servers(details=True,
                                               all_projects=True, name=name):
                if server.name == name:
                    found[server.id] = server
        host = event.get('host')
        if host and not ids and not names:
            for server in cloud.servers_on_host(conn, host):
                found[server.id] = server
        return cloud.describe_servers(conn, found.values())
