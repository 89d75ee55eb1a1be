"""The cluster as a whole: status, pause and resume, the disruption brake."""

import logging
import time

from vmr_common import exceptions
from vmr_common import models
from vmr_common.store import Op
from vmr_coordinator import metrics
from vmr_coordinator.fencing import monitor
from vmr_coordinator.preflight import preflight_view
from vmr_coordinator.api.resources.base import (
    ResourceBase, optional_reason, read_json)

LOG = logging.getLogger(__name__)


def fence_paths_view(fence_checks):
    """What ``/v1/status`` shows of the leader's last fence path checks:
    how many hosts were checked and each whose path failed, with why."""
    failed = [{'host': host, 'checked_at': record.get('checked_at'),
               'why': monitor.failure_summary(record)}
              for host, record in sorted(fence_checks.items())
              if not record.get('ok')]
    times = [r.get('checked_at') for r in fence_checks.values()
             if isinstance(r.get('checked_at'), (int, float))]
    return {'checked': len(fence_checks), 'failed': failed,
            'oldest_check': min(times) if times else None}


class ClusterResource(ResourceBase):
    """``/v1/status``, ``/v1/pause``, ``/v1/resume``, ``/v1/brake/release``."""

    def status(self, req):
        snap = self._snapshot()
        view = metrics.coordinator_view(self.coordinator)
        leader = None
        if snap.leader is not None:
            leader = {'member': snap.leader.value,
                      'token': snap.leader.create_revision}
        return 200, {
            'leader': leader,
            'coordinator': view,
            'paused': snap.paused,
            'brake': snap.brake,
            'hosts': {'total': len(snap.hosts),
                      'by_state': metrics.count_by(
                          (r.state for r in snap.hosts.values()),
                          models.HostState.ALL)},
            'recoveries': {'total': len(snap.journal),
                           'by_state': metrics.count_by(
                               (d.get('state', 'detected') for d, _r in
                                snap.journal.values()), models.RecoveryState.ALL)},
            'coordinators': snap.coordinators,
            'members': sorted(snap.members),
            # live members found only at the old group key (upgrade)
            'legacy_members': snap.legacy_members,
            # how the live agents renew their lease ('unknown': an agent
            # older than the capability)
            'heartbeats': metrics.count_by(
                ((m.capabilities or {}).get('heartbeat') or 'unknown'
                 for m in snap.members.values()), ('grpc', 'gateway')),
            'contracts': len(snap.contracts),
            'revision': snap.revision,
            'corrupt_keys': [key for key, _why in snap.corrupt],
            # agents refused because another live agent holds their name
            'duplicate_agents': snap.duplicates,
            'fence_paths': fence_paths_view(
                self._etcd(monitor.read_results, self.store)),
            'vrrp': self._vrrp_states(),
            'preflight': preflight_view(self.coordinator),
        }

    def _vrrp_states(self):
        """``{pair: {instance: record}}``: the latest state each guest reported."""
        out = {}
        for name, record in self._objects(self.vrrp_dir):
            pair, _sep, instance = name.partition('/')
            out.setdefault(pair, {})[instance] = record
        return out
    def pause(self, req):
        body = read_json(req, required=False)
        record = {'by': self._who(req), 'at': time.time(),
                  'reason': optional_reason(body)}
        self._etcd(self.store.put, self.keys.pause, record)
        LOG.warning('API: %s paused VMR (%s)', record['by'],
                    record['reason'] or 'no reason')
        return 200, {'paused': record}

    def resume(self, req):
        read_json(req, required=False)
        deleted = self._etcd(self.store.delete, self.keys.pause)
        LOG.warning('API: %s resumed VMR', self._who(req))
        return 200, {'paused': None, 'was_paused': bool(deleted)}

    def release_brake(self, req):
        read_json(req, required=False)
        key = self.keys.brake
        result = self._etcd(self.store.txn, [], [Op.get(key),
                                                 Op.delete(key)])
        ranges = result.ranges()
        previous = None
        if ranges and ranges[0]:
            try:
                previous = ranges[0][0].json()
            except exceptions.CorruptRecord:
                previous = ranges[0][0].value
        if previous is not None:
            LOG.warning('API: %s released the disruption brake', self._who(req))
        return 200, {'released': previous is not None, 'brake': previous}
