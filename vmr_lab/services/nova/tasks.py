"""Policy checks, the records actions leave and the asynchronous machinery.

Every action claims its server (409 while another task runs), records an
instance action (and a migration for a move), then completes after a
tunable delay, only once the compute that must do the work is alive;
boots and evacuations queue for nova-conductor's bounded pool.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import time
import uuid

from vmr_lab.services.base import Fault
from vmr_lab.services.nova.common import _now


class Tasks:
    """Policy checks, action records and the asynchronous machinery (a mixin)."""

    @staticmethod
    def _admin(ctx, rule):
        if not ctx.is_admin:
            raise Fault(403, "Policy doesn't allow %s to be performed." % rule)

    @staticmethod
    def _writer(ctx, rule):
        if not ctx.can_write:
            raise Fault(403, "Policy doesn't allow %s to be performed." % rule)

    def _server(self, ctx, server_id):
        server = self.servers.get(server_id)
        if server is None or (not ctx.is_admin
                              and server['project_id'] != ctx.project_id):
            raise Fault(404, 'Instance %s could not be found.' % server_id)
        return server

    # -- instance actions and migrations --------------------------------------
    def _record_action(self, req, ctx, server, action, event=None):
        now = _now()
        entry = {'action': action, 'instance_uuid': server['id'],
                 'request_id': req.environ.get('openstack.request_id'),
                 'user_id': ctx.user_id, 'project_id': ctx.project_id,
                 'start_time': now, 'updated_at': now, 'message': None,
                 'events': []}
        if event:
            entry['events'].append({'event': event, 'start_time': now,
                                    'finish_time': None, 'result': None,
                                    'host': server['host'],
                                    'hostId': '', 'details': None})
        self.actions.setdefault(server['id'], []).append(entry)
        return entry

    @staticmethod
    def _finish_action(entry, result='Success', message=None):
        if entry is None:
            return
        now = _now()
        entry['updated_at'] = now
        if message:
            entry['message'] = message
        for event in entry['events']:
            if event['finish_time'] is None:
                event['finish_time'] = now
                event['result'] = result

    def _new_migration(self, server, kind, source, dest, status):
        now = _now()
        migration = {'id': next(self._migration_ids),
                     'uuid': str(uuid.uuid4()), 'migration_type': kind,
                     'source_compute': source, 'dest_compute': dest,
                     'source_node': source, 'dest_node': dest,
                     'dest_host': '127.0.0.1', 'status': status,
                     'instance_uuid': server['id'],
                     'old_instance_type_id': server['flavor']['id'],
                     'new_instance_type_id': server['flavor']['id'],
                     'project_id': server['project_id'],
                     'user_id': server['user_id'],
                     'created_at': now, 'updated_at': now}
        self.migrations.append(migration)
        return migration

    # -- async machinery ------------------------------------------------------
    def _start_task(self, server, task_state, action):
        """Claim ``server`` for an action: 409 while another runs."""
        if server['task_state'] is not None:
            raise Fault(409, "Cannot '%s' instance %s while it is in "
                             "task_state %s" % (action, server['id'],
                                                server['task_state']))
        if server['locked']:
            raise Fault(409, 'Instance %s is locked' % server['id'])
        server['task_state'] = task_state
        server['updated'] = _now()
        server['_op'] = uuid.uuid4().hex
        return server['_op']

    @staticmethod
    def _require_vm_state(server, action, allowed):
        if server['vm_state'] not in allowed:
            raise Fault(409, "Cannot '%s' instance %s while it is in "
                             "vm_state %s" % (action, server['id'],
                                              server['vm_state']))

    @staticmethod
    def _require_host(server, action):
        if not server['host']:
            raise Fault(409, "Cannot '%s' instance %s while it has no host "
                             "(it was never scheduled)" % (action,
                                                           server['id']))

    def _later(self, delay_name, server_id, op, worker, needs_host, *args):
        """Run ``worker(server, *args)`` after the action's delay.

        The worker runs under the state lock, only if the server still
        exists and no other operation superseded ``op``.  ``needs_host`` is
        the compute that must do the work: while it is not alive the message
        waits in its queue, as RPC casts to a dead nova-compute do.
        """
        def attempt():
            with self.state_lock:
                server = self.servers.get(server_id)
                if server is None or server.get('_op') != op:
                    return
                host = self.lab.hosts.get(needs_host) if needs_host else None
                if needs_host and (host is None or not host.compute_alive()):
                    self.lab.schedule(0.25, attempt)
                    return
                after = worker(server, *args)
            if after:
                after()
        if isinstance(delay_name, (int, float)):
            delay = delay_name
        else:
            delay = self.lab.delays.get(delay_name, 0.2)
        self.lab.schedule(delay, attempt)

    def _conductor_delay(self, delay_name):
        """Delay of a conductor-bound action, queued behind the others.

        nova-conductor works through heavy requests (boots, evacuations)
        with a bounded pool, so a burst of 20 evacuations finishes over
        seconds, not all at once: each takes the earliest free worker.
        """
        now = time.time()
        per = self.lab.delays.get(delay_name, 0.2)
        slots = self._conductor_slots
        index = min(range(len(slots)), key=slots.__getitem__)
        start = max(now, slots[index])
        slots[index] = start + per
        return slots[index] - now

    def _host_of(self, server):
        return self.lab.hosts.get(server['host']) if server['host'] else None
