"""``/v1/recoveries``: the journal's records, and manual recoveries."""

import logging
import time

from vmr_common import exceptions, models
from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator import journal as journal_mod
from vmr_coordinator.api import routing
from vmr_coordinator.triggers.base import trigger_class, triggers_fed_by
from vmr_coordinator.api.resources.base import (
    ResourceBase, api_error, optional_reason, read_json)

LOG = logging.getLogger(__name__)


def recovery_summary(rid, data):
    """The list view of one journal record."""
    steps = data.get('steps') or []
    by_state = {}
    for step in steps:
        state = step.get('state', 'pending')
        by_state[state] = by_state.get(state, 0) + 1
    return {
        'id': data.get('id', rid),
        'host': data.get('host'),
        'state': data.get('state'),
        'trigger': (data.get('trigger') or {}).get('type'),
        'created_at': data.get('created_at'),
        'updated_at': data.get('updated_at'),
        'archived_at': data.get('archived_at'),
        'fenced': bool((data.get('fencing') or {}).get('verified')),
        'steps': len(steps),
        'steps_by_state': by_state,
    }


def project_view(record, project_id):
    """What a reader of project ``project_id`` sees of a recovery: the steps
    (and skipped servers) of its own servers, and the recovery's id, state,
    trigger type and times -- not the host, the fencing evidence or the
    timeline, which are the cloud's and name other projects' servers.
    None when no server of the project is in it."""
    def mine(entry):
        server = entry.get('server') if isinstance(entry.get('server'),
                                                   dict) else entry
        return isinstance(server, dict) and bool(project_id) and \
            server.get('project_id') == project_id
    steps = [s for s in record.get('steps') or () if isinstance(s, dict)
             and mine(s)]
    skipped = [s for s in record.get('skipped') or () if isinstance(s, dict)
               and mine(s)]
    if not steps and not skipped:
        return None
    trigger = record.get('trigger') or {}
    return {'id': record.get('id'), 'state': record.get('state'),
            'trigger': {'type': trigger.get('type')},
            'created_at': record.get('created_at'),
            'updated_at': record.get('updated_at'),
            'archived_at': record.get('archived_at'),
            'steps': steps, 'skipped': skipped, 'host': None,
            'fencing': {'verified': bool((record.get('fencing') or {}).get(
                'verified'))},
            'timeline': [], 'project_view': project_id}


def _project_filter(req):
    return req.environ.get(routing.PROJECT_FILTER)


class RecoveryResource(ResourceBase):
    """``/v1/recoveries`` and ``/v1/recoveries/{recovery_id}``."""

    def list_recoveries(self, req):
        state = req.GET.get('state')
        host = req.GET.get('host')
        limit = req.GET.get('limit')
        if limit is not None:
            try:
                limit = int(limit)
                if limit < 1:
                    raise ValueError(limit)
            except ValueError:
                raise api_error(400, 'limit must be a positive integer, not %r'
                                % limit, 'limit')
        if state is not None and state not in models.RecoveryState.ALL:
            raise api_error(400, 'unknown recovery state %r; one of: %s'
                            % (state, ', '.join(models.RecoveryState.ALL)), 'state')
        history = req.GET.get('history', 'false').lower()
        if history not in ('true', 'false'):
            raise api_error(400, 'history must be true or false, not %r'
                            % history, 'history')
        project = _project_filter(req)
        out = []
        records = self._journal()
        if history == 'true':
            records += self._history(limit)
        for name, data in records:
            if project is not None:
                data = project_view(dict(data, id=data.get('id', name)),
                                    project)
                if data is None:
                    continue
            summary = recovery_summary(name, data)
            if state is not None and summary['state'] != state:
                continue
            if host is not None and summary['host'] != host:
                continue
            out.append(summary)
        out.sort(key=lambda r: (r['created_at'] or 0, r['id']), reverse=True)
        return 200, {'recoveries': out[:limit] if limit else out}

    def create_recovery(self, req):
        """A manual recovery (``vmr recover``): one contract with a
        ``manual`` trigger, for one server or every server of a host.

        Stored as a ``manual`` event where the leader takes alarm events
        from; it opens the recovery under the id answered here.
        """
        body = read_json(req)
        unknown = sorted(set(body) - {'contract', 'server', 'host', 'reason'})
        if unknown:
            raise api_error(400, 'unknown field %r; allowed: contract, server, '
                            'host, reason' % unknown[0], unknown[0])
        name = body.get('contract')
        if not isinstance(name, str) or not name:
            raise api_error(400, 'field \'contract\' is required: the name of a '
                            'contract whose trigger is manual', 'contract')
        server, host = body.get('server'), body.get('host')
        if (server is None) == (host is None):
            raise api_error(400, 'give either \'server\' (an id or name) or '
                            '\'host\' (every server on it), not %s'
                            % ('both' if server is not None else 'neither'),
                            'server')
        for field, value in (('server', server), ('host', host)):
            if value is not None and (not isinstance(value, str) or not value
                                      or len(value) > 255):
                raise api_error(400, 'field %r must be a non-empty string of at '
                                'most 255 characters' % field, field)
        reason = optional_reason(body)
        kv = self._etcd(self.store.get, self.keys.contract(name))
        if kv is None:
            raise api_error(404, 'no contract named %r; see vmr contract list'
                            % name, 'contract')
        try:
            contract = contracts_mod.parse_contract(self._record(kv))
        except contracts_mod.ContractError as exc:
            raise api_error(409, 'contract %r is stored but invalid: %s'
                            % (name, exc), 'contract')
        if 'api-request' not in trigger_class(contract.trigger_type).sources:
            raise api_error(400, 'contract %r has trigger %s; only a contract '
                            'with trigger %s can be run by hand'
                            % (name, contract.trigger_type,
                               ' or '.join(triggers_fed_by('api-request'))),
                            'contract')
        if not contract.enabled:
            raise api_error(409, 'contract %r is disabled; enable it first'
                            % name, 'contract')
        if host is not None and self._etcd(
                self.store.get, self.keys.host(host)) is None:
            raise api_error(404, 'no host named %r' % host, 'host')
        now = time.time()
        event = {'type': contract.trigger_type, 'contract': name,
                 'requested_by': self._who(req), 'received_at': now}
        if server is not None:
            event['servers'] = [server]
        else:
            event['host'] = host
        if reason:
            event['reason'] = reason
        rid = journal_mod.event_recovery_id(event, now)
        event['recovery_id'] = rid
        if not self._etcd(self.store.create, self.keys.events + rid, event):
            raise api_error(409, 'request id %s is taken (two requests in the '
                            'same second); send it again' % rid)
        LOG.warning('API: %s asked for manual recovery %s (contract %s, %s)',
                    event['requested_by'], rid, name,
                    'server %s' % server if server else 'host %s' % host)
        return 202, {'recovery_id': rid, 'request': event}

    def _history(self, limit):
        """``[(id, record)]`` of the history, the last archived first (the
        last ``limit`` of them when given)."""
        kvs = self._etcd(self.store.get_created, self.keys.history,
                         limit or 0, True)
        out = []
        for kv in kvs:
            try:
                data = kv.json()
            except exceptions.CorruptRecord as exc:
                LOG.warning('API: skipping %s', exc)
                continue
            if isinstance(data, dict):
                out.append((self.keys.name_in(self.keys.history, kv.key),
                            data))
        return out

    def _journal(self):
        """``[(id, record)]`` of the journal, steps assembled (format 2
        keeps them below ``steps/``)."""
        records = self._objects(self.keys.journal)
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.steps)
        steps = journal_mod.steps_by_recovery(self.keys, kvs)
        return [(name, journal_mod.assemble(data, steps.get(name, ({}, {}))[0]))
                for name, data in records]

    def get_recovery(self, req, recovery_id):
        try:
            got = journal_mod.read(self.store, recovery_id, history=True)
        except exceptions.CorruptRecord as exc:
            raise api_error(500, str(exc))
        except exceptions.StoreError as exc:
            raise api_error(503, 'etcd: %s' % exc)
        if got is None:
            raise api_error(404, 'no recovery %r' % recovery_id)
        data = got[0]
        data.setdefault('id', recovery_id)
        project = _project_filter(req)
        if project is not None:
            data = project_view(data, project)
            if data is None:    # not told apart from a missing one
                raise api_error(404, 'no recovery %r' % recovery_id)
        return 200, {'recovery': data}

    def delete_recovery(self, req, recovery_id):
        """Purge a recovery from the history (``vmr recovery purge``).

        Only the history: a record still in the journal is open, or closed
        so recently that the leader may still read it.
        """
        if self._etcd(self.store.get, self.keys.recovery(recovery_id)):
            raise api_error(409, 'recovery %r is still in the journal (open, '
                            'or closed less than [journal] archive_after ago); '
                            'only the history can be purged' % recovery_id)
        kv = self._etcd(self.store.get, self.keys.archived(recovery_id))
        if kv is None:
            raise api_error(404, 'no recovery %r in the history'
                            % recovery_id)
        try:
            record = kv.json()
        except exceptions.CorruptRecord:
            record = {}
        self._etcd(self.store.txn, [],
                   journal_mod.purge_ops(self.keys, recovery_id, record))
        LOG.warning('API: %s purged recovery %s from the history',
                    self._who(req), recovery_id)
        return 204, None
