"""``/v1/hosts``: host records, maintenance and confirm-fenced.

The one write into a record the leader also writes — a host's maintenance
flag — is a compare-and-swap on the record's ``mod_revision`` touching only
the ``maintenance*`` fields.
"""

import logging
import time

from vmr_common import exceptions
from vmr_common import models
from vmr_coordinator.fencing import monitor as fence_monitor
from vmr_coordinator.triggers.base import trigger_class
from vmr_coordinator.api.resources.base import (
    CAS_ATTEMPTS, ResourceBase, api_error, optional_reason, read_json)

LOG = logging.getLogger(__name__)


def host_summary(record, snap):
    """The list view of one host record."""
    data = record.data
    return {
        'host': record.name,
        'state': record.state,
        'state_since': data.get('state_since'),
        'reason': data.get('reason'),
        'live': snap.live(record.name),
        'enabled': data.get('enabled', True),
        'maintenance': bool(data.get('maintenance')),
        'zone': record.zone,
        'recovery': data.get('recovery'),
    }


class HostResource(ResourceBase):
    """``/v1/hosts``, ``/v1/hosts/{host}`` and the host requests."""

    def list_hosts(self, req):
        state = req.GET.get('state')
        if state is not None and state not in models.HostState.ALL:
            raise api_error(400, 'unknown host state %r; one of: %s'
                            % (state, ', '.join(models.HostState.ALL)), 'state')
        snap = self._snapshot()
        hosts = [host_summary(r, snap) for _n, r in sorted(snap.hosts.items())
                 if state is None or r.state == state]
        return 200, {'hosts': hosts, 'members': sorted(snap.members)}

    def get_host(self, req, host):
        snap = self._snapshot()
        record = snap.hosts.get(host)
        if record is None:
            raise api_error(404, 'no host named %r' % host)
        member = snap.members.get(host)
        return 200, {'host': dict(record.data, host=host, live=member
                                  is not None, mod_revision=record
                                  .mod_revision),
                     'member': member.capabilities if member else None,
                     'fence': self._fence_view(host)}

    def _fence_view(self, host):
        """Which fence profile applies to ``host`` (its drivers, never its
        options) and the leader's last status-only check of it."""
        from vmr_coordinator.fencing import base as fencing_base
        from vmr_coordinator.fencing.profiles import FenceProfiles
        view = {'profile': None, 'ladder': [], 'post': [], 'error': None,
                'last_check': None}
        try:
            profile = FenceProfiles.load(
                self.conf.fencing.profiles_file).profile_for(host)
        except fencing_base.FenceConfigError as exc:
            view['error'] = str(exc)
        else:
            view.update(profile=profile.name,
                        ladder=[r.driver for r in profile.ladder],
                        post=[r.driver for r in profile.post])
        try:
            kv = self.store.get(self.keys.fence_check(host))
            check = kv.json() if kv is not None else None
        except exceptions.StoreError:
            check = None
        if isinstance(check, dict):
            view['last_check'] = {
                'ok': bool(check.get('ok')),
                'checked_at': check.get('checked_at'),
                'checked_by': check.get('checked_by'),
                'why': None if check.get('ok') else
                fence_monitor.failure_summary(check)}
        return view

    def host_maintenance(self, req, host):
        body = read_json(req)
        enabled = body.get('enabled')
        if not isinstance(enabled, bool):
            raise api_error(400, 'field \'enabled\' is required: true to start '
                            'maintenance, false to end it', 'enabled')
        reason = optional_reason(body)
        unknown = sorted(set(body) - {'enabled', 'reason'})
        if unknown:
            raise api_error(400, 'unknown field %r; allowed: enabled, reason'
                            % unknown[0], unknown[0])
        key = self.keys.host(host)
        by = self._who(req)

        def change(data):
            # Only the maintenance fields change; the leader owns the rest
            # of the record and the compare-and-swap keeps its writes.
            if not isinstance(data, dict):
                raise api_error(500, 'hosts/%s does not hold a JSON object'
                                % host)
            data.update(maintenance=enabled, maintenance_by=by,
                        maintenance_reason=reason,
                        maintenance_at=time.time())
            return data
        try:
            data = self.store.cas_update(key, change, attempts=CAS_ATTEMPTS)
        except exceptions.CompareFailed:
            raise api_error(409, 'host %s changed %d times while being '
                            'updated; try again' % (host, CAS_ATTEMPTS))
        except exceptions.CorruptRecord as exc:
            raise api_error(500, str(exc))
        except exceptions.StoreError as exc:
            raise api_error(503, 'etcd: %s' % exc)
        if data is None:
            raise api_error(404, 'no host named %r' % host)
        LOG.info('API: %s turned maintenance of %s %s (%s)', by, host,
                 'on' if enabled else 'off', reason or 'no reason')
        answer = {'host': dict(data, host=host)}
        if enabled and not self._drains():
            answer['warning'] = (
                'no enabled contract has trigger maintenance: VMR '
                'stops watching %s but moves nothing off it; add one '
                '(e.g. etc/vmr/contracts/live_migrate.yaml) to drain '
                'it' % host)
            LOG.warning('API: %s', answer['warning'])
        return 200, answer

    def _drains(self):
        """Whether an enabled contract's trigger drains a host in
        maintenance."""
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.contracts)
        for kv in kvs:
            try:
                doc = kv.json()
            except exceptions.CorruptRecord:
                continue
            if isinstance(doc, dict) and doc.get('enabled', True) and \
                    trigger_class((doc.get('trigger') or {}).get(
                        'type')).drains_host:
                return True
        return False

    def confirm_fenced(self, req, host):
        body = read_json(req, required=False)
        reason = optional_reason(body)
        snap = self._snapshot()
        if host not in snap.hosts:
            raise api_error(404, 'no host named %r' % host)
        if snap.live(host):
            # A host whose agent still heartbeats is demonstrably running:
            # confirming it off could run its VMs twice.
            raise api_error(409, 'host %s is alive in the agents group; '
                            'confirm-fenced is only for a host that is down and '
                            'that you powered off yourself' % host)
        request = {'by': self._who(req), 'at': time.time(), 'reason': reason}
        self._etcd(self.store.put,
                   self.requests_dir + 'confirm-fenced/' + host, request)
        LOG.warning('API: %s confirmed by hand that %s is powered off (%s)',
                    request['by'], host, reason or 'no reason')
        return 202, {'request': dict(request, host=host,
                                     type='confirm-fenced')}
