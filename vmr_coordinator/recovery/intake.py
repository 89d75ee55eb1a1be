"""Triggers other than a dead host: events, maintenance requests, agent
reports and the Nova poll, each turned into one recovery record.

A part of :class:`vmr_coordinator.recovery.Recovery`; it uses the
engine's journal, store, pool and connection.
"""

import logging

from vmr_common import exceptions
from vmr_common.store import Compare, Op
from vmr_coordinator import journal as journal_mod
from vmr_coordinator.detection import HostState
from vmr_coordinator.journal import RecoveryState
from vmr_coordinator.recovery import decide
from vmr_coordinator.triggers.base import TriggerEventError, trigger_class

LOG = logging.getLogger(__name__)


class Intake:
    """The recovery engine's intake of triggers other than a dead host
    (mixed into ``Recovery``)."""

    # -- 1b. other triggers ---------------------------------------------------
    def _intake(self, snap, now):
        """Turn events, maintenance requests, agent reports and Nova polls
        into recovery records (one each, exactly once)."""
        said = []
        open_keys = {(rec.get('trigger', {}).get('type'),
                      rec.get('trigger', {}).get('host'),
                      rec.get('trigger', {}).get('server_id'))
                     for rec, _ in snap.journal.values()
                     if rec.get('state') in RecoveryState.OPEN}
        # queued events: webhooks (alarms), manual requests
        # An alert is re-sent (Alertmanager: every repeat_interval and with
        # every change of its group): one recovery per incident its trigger
        # recognises.
        incidents = {decide.trigger_of(rec)().incident(rec.get('trigger') or {})
                     for rec, _ in snap.journal.values()} - {None}
        kvs, _ = self.store.get_prefix(self.store.keys.events)
        for kv in kvs:
            try:
                raw = kv.json()
            except exceptions.CorruptRecord as exc:
                LOG.error('%s; deleting it', exc)
                self.healer.guarded([Op.delete(kv.key)])
                continue
            events = self._expand(raw)
            ops = [Op.delete(kv.key)]
            for event in events:
                incident = trigger_class(event.get('type'))().incident(event)
                digest = None
                if incident is not None:
                    # An incident is known by the journal's records, and
                    # by its key once its recovery moved to the history.
                    digest = journal_mod.incident_digest(incident)
                    if incident in incidents or self.store.get(
                            self.store.keys.incident(digest)) is not None:
                        LOG.info('%s alarm %r (fingerprint %s, firing since '
                                 '%s) already has a recovery: re-sent alert '
                                 'ignored', event.get('source'),
                                 event.get('name'), event.get('id'),
                                 event.get('starts_at'))
                        continue
                    incidents.add(incident)
                rec = self._event_record(event, now)
                if digest is not None:
                    rec['incident'] = digest
                    ops.append(Op.put(self.store.keys.incident(digest),
                                      {'recovery': rec['id'], 'at': now}))
                ops += [Op.put(self.store.keys.recovery(rec['id']), rec)]
                said.append('%s: recovery %s' % (event['type'], rec['id']))
            # one transaction: the event is consumed exactly once
            self.healer.guarded(ops, [Compare.mod_revision(
                kv.key, kv.mod_revision)])
        # maintenance: drain a host the operator put in maintenance
        for name, record in snap.hosts.items():
            if record.data.get('maintenance') and not record.data.get(
                    'drain') and ('maintenance', name, None) not in open_keys:
                rec = self._event_record({'type': 'maintenance', 'host': name,
                                          'reason': record.data.get(
                                              'maintenance_reason', '')}, now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])
                self._set_host(name, {'drain': rec['id']})
                said.append('draining %s: recovery %s' % (name, rec['id']))
            elif not record.data.get('maintenance') and record.data.get(
                    'drain'):
                self._set_host(name, {'drain': None})
            if not record.data.get('maintenance') and record.data.get(
                    'drain_disabled_compute'):
                self._submit(('enable', name), self._enable_after_drain, name,
                             record.data['drain_disabled_compute'])
        # agents reporting dead local processes (e.g. nova-compute)
        for name, member in snap.members.items():
            for process in member.capabilities.get('processes_down') or []:
                if ('process_down', name, None) in open_keys:
                    continue
                reported = (snap.hosts.get(name).data.get('processes_down')
                            if name in snap.hosts else None) or []
                if process in reported:
                    continue
                rec = self._event_record({'type': 'process_down',
                                          'host': name, 'process': process},
                                         now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])
                self._set_host(name, {'processes_down': sorted(
                    set(reported) | {process})})
                said.append('%s on %s: recovery %s' % (process, name,
                                                       rec['id']))
        for name, record in snap.hosts.items():
            reported = record.data.get('processes_down') or []
            member = snap.members.get(name)
            if reported and member is not None:
                now_down = member.capabilities.get('processes_down') or []
                if set(reported) - set(now_down):
                    self._set_host(name, {'processes_down': sorted(
                        set(reported) & set(now_down)) or None})
        # instances the agents saw crash (libvirt events)
        for name, member in snap.members.items():
            for uuid in member.capabilities.get('instances_down') or []:
                if ('instance_down', name, uuid) in open_keys or \
                        uuid in self._reported_instances:
                    continue
                self._reported_instances.add(uuid)
                rec = self._event_record({
                    'type': 'instance_down', 'server_id': uuid,
                    'status': 'ERROR', 'host': name,
                    'reason': 'libvirt: the domain crashed or failed'}, now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])
                said.append('instance %s down on %s: recovery %s'
                            % (uuid, name, rec['id']))
        live_reports = {u for m in snap.members.values()
                        for u in m.capabilities.get('instances_down') or []}
        self._reported_instances &= live_reports
        said.extend(self._poll_instances(snap, now, open_keys))
        return said

    def _expand(self, raw):
        """A queued event (maybe a raw webhook body) as trigger events:
        its trigger says what it holds."""
        if not raw.get('type'):
            return []
        try:
            return trigger_class(raw['type'])().expand(raw)
        except TriggerEventError as exc:
            LOG.error('queued %s event skipped: %s', raw['type'], exc)
            return []

    def _event_record(self, event, now):
        # A manual request carries the id the API already answered with.
        rid = event.get('recovery_id') or \
            journal_mod.event_recovery_id(event, now)
        return journal_mod.new_record(rid, event.get('host'), event, now,
                                      leader=self.healer.member,
                                      token=self.healer.election.token)

    def _poll_instances(self, snap, now, open_keys):
        """Every ``instance_poll_interval``: servers on live hosts in a
        status an instance_down contract accepts, that nobody stopped on
        purpose and that are not held down, become instance_down events."""
        interval = getattr(self.conf.coordinator, 'instance_poll_interval', 0)
        if not interval or now - getattr(self, '_last_poll', 0) < interval:
            return []
        statuses = decide.polled_statuses(snap.contracts.values())
        if not statuses:
            return []
        self._last_poll = now
        held = decide.held_down(snap.journal, now, self.conf.coordinator.
                         instance_down_hold_down)
        self._submit(('poll',), self._poll_job, snap, open_keys, statuses,
                     held)
        return []

    def _poll_job(self, snap, open_keys, statuses=('ERROR', 'SHUTOFF'),
                  held=None):
        conn = self.conn
        now = self.clock()
        for status in statuses:
            for server in conn.compute.servers(details=True,
                                               all_projects=True,
                                               status=status):
                host = server.compute_host
                record = snap.hosts.get(host)
                if record is None or record.state != HostState.UP:
                    continue   # a dead host's servers belong to host_down
                if ('instance_down', host, server.id) in open_keys:
                    continue
                if server.id in (held or {}):
                    continue   # its last recovery failed: hold-down
                if status != 'ERROR' and self._stopped_on_purpose(
                        conn, server):
                    continue
                rec = self._event_record({
                    'type': 'instance_down', 'server_id': server.id,
                    'status': status, 'host': host}, now)
                self.healer.guarded(
                    [Op.put(self.store.keys.recovery(rec['id']), rec)])

    @staticmethod
    def _stopped_on_purpose(conn, server):
        try:
            actions = list(conn.compute.server_actions(server))
        except Exception:  # no instance-actions API: assume deliberate
            return True
        if not actions:
            return False
        latest = max(actions, key=lambda a: a.start_time or '')
        return latest.action in ('stop', 'suspend', 'pause', 'shelve')
