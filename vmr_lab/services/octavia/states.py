"""Octavia's state machines: the provisioning status every change walks
(``PENDING_*`` for ``provisioning_delay``, 409 "immutable" meanwhile) and
the operating status derived from the members' servers (a part of the
lab's Octavia)."""

import copy
import time

from vmr_lab.services.base import Fault
from vmr_lab.services.octavia.validation import (
    _now,
    _SEVERITY,
)


class States:
    """Provisioning and operating status of :class:`OctaviaAPI` (a mixin)."""

    # -- provisioning state machine --------------------------------------
    def _settle(self):
        """Finish every provisioning whose delay has passed."""
        now = time.time()
        for lb_id, ready_at in list(self.pending.items()):
            if now >= ready_at:
                del self.pending[lb_id]
                self._finish(lb_id)

    def _children(self, lb_id):
        for listener in list(self.listeners.values()):
            if listener['loadbalancers'][0]['id'] == lb_id:
                yield 'listener', listener
        for pool in list(self.pools.values()):
            if pool['loadbalancers'][0]['id'] == lb_id:
                yield 'pool', pool
                for member in list(self.members.get(pool['id'], {}).values()):
                    yield 'member', member
                hm = self.healthmonitors.get(pool['healthmonitor_id'])
                if hm is not None:
                    yield 'healthmonitor', hm

    def _finish(self, lb_id):
        lb = self.loadbalancers.get(lb_id)
        if lb is None:
            return
        if lb['provisioning_status'] == 'PENDING_DELETE':
            for kind, obj in list(self._children(lb_id)):
                self._remove(kind, obj)
            if lb.get('vip_port_id'):
                neutron = getattr(self.lab, 'neutron', None)
                if neutron is not None:
                    neutron.delete_port(lb['vip_port_id'])
            del self.loadbalancers[lb_id]
            return
        for kind, obj in list(self._children(lb_id)):
            if obj['provisioning_status'] == 'PENDING_DELETE':
                self._remove(kind, obj)
            elif obj['provisioning_status'].startswith('PENDING_'):
                obj['provisioning_status'] = 'ACTIVE'
        lb['provisioning_status'] = 'ACTIVE'

    def _remove(self, kind, obj):
        if kind == 'listener':
            self.listeners.pop(obj['id'], None)
            for pool in self.pools.values():
                pool['listeners'] = [x for x in pool['listeners']
                                     if x['id'] != obj['id']]
            lb = self.loadbalancers.get(obj['loadbalancers'][0]['id'])
            if lb:
                lb['listeners'] = [x for x in lb['listeners']
                                   if x['id'] != obj['id']]
        elif kind == 'pool':
            self.pools.pop(obj['id'], None)
            self.members.pop(obj['id'], None)
            self.healthmonitors.pop(obj['healthmonitor_id'], None)
            for listener in self.listeners.values():
                if listener['default_pool_id'] == obj['id']:
                    listener['default_pool_id'] = None
            lb = self.loadbalancers.get(obj['loadbalancers'][0]['id'])
            if lb:
                lb['pools'] = [x for x in lb['pools'] if x['id'] != obj['id']]
        elif kind == 'member':
            for pool_id, members in self.members.items():
                if members.pop(obj['id'], None) is not None:
                    pool = self.pools.get(pool_id)
                    if pool:
                        pool['members'] = [x for x in pool['members']
                                           if x['id'] != obj['id']]
        elif kind == 'healthmonitor':
            self.healthmonitors.pop(obj['id'], None)
            for pool in self.pools.values():
                if pool['healthmonitor_id'] == obj['id']:
                    pool['healthmonitor_id'] = None

    def _check_mutable(self, lb_id, pool=None):
        # Octavia checks the pool of a member or health monitor change
        # first: while another such change is provisioned the pool is
        # PENDING_UPDATE and the 409 names the pool.
        if pool is not None and pool['provisioning_status'] != 'ACTIVE':
            raise Fault(409, 'Pool %s is immutable and cannot be updated.'
                        % pool['id'])
        if self.loadbalancers[lb_id]['provisioning_status'] != 'ACTIVE':
            raise Fault(409, 'Load Balancer %s is immutable and cannot be '
                             'updated.' % lb_id)

    def _parent_pool(self, kind, obj):
        """The pool a member or health monitor change locks too."""
        if kind == 'member':
            return self.pools[obj['pool_id']]
        if kind == 'healthmonitor':
            return self.pools[obj['pools'][0]['id']]
        return None

    def _begin(self, lb_id, obj=None, status='PENDING_UPDATE', pool=None):
        """Lock ``lb_id`` for a change or raise 409 immutable.

        A member or health monitor change (``pool``) locks its pool and
        the pool's listeners as well, as Octavia does.
        """
        lb = self.loadbalancers[lb_id]
        self._check_mutable(lb_id, pool)
        if obj is not None:
            obj['provisioning_status'] = status
            obj['updated_at'] = _now()
        if obj is not lb:
            lb['provisioning_status'] = 'PENDING_UPDATE'
        if pool is not None:
            pool['provisioning_status'] = 'PENDING_UPDATE'
            for ref in pool['listeners']:
                listener = self.listeners.get(ref['id'])
                if listener is not None:
                    listener['provisioning_status'] = 'PENDING_UPDATE'
        self._schedule(lb_id)

    def _schedule(self, lb_id):
        self.pending[lb_id] = time.time() + self.provisioning_delay
        if self.provisioning_delay <= 0:
            self._settle()

    # -- operating status ------------------------------------------------
    def _backend_up(self, member):
        """Whether the server holding the member's address runs."""
        neutron = getattr(self.lab, 'neutron', None)
        if neutron is None:
            return True
        address = member.get('monitor_address') or member['address']
        port = neutron.find_port_by_ip(address, member.get('subnet_id')) \
            or neutron.find_port_by_ip(address)
        candidates = [port] if port else []
        if not candidates:
            # A VRRP/keepalived address: any port allowed to hold it.
            with neutron.lock:
                candidates = [copy.deepcopy(p) for p in neutron.ports.values()
                              if any(pair['ip_address'] == address
                                     for pair in p['allowed_address_pairs'])]
        nova = getattr(self.lab, 'nova', None)
        running = getattr(nova, 'server_running', None)
        for port in candidates:
            if not port['admin_state_up'] or not port['device_id']:
                continue
            if running is None:
                if port['status'] == 'ACTIVE':
                    return True
            elif running(port['device_id']):
                return True
        return False

    def _member_status(self, pool, member):
        if not member['admin_state_up']:
            return 'OFFLINE'
        hm = self.healthmonitors.get(pool['healthmonitor_id'])
        if hm is None or not hm['admin_state_up']:
            return 'NO_MONITOR'
        if member['provisioning_status'] == 'PENDING_CREATE':
            return 'OFFLINE'
        return 'ONLINE' if self._backend_up(member) else 'ERROR'

    def _pool_status(self, pool):
        if not pool['admin_state_up']:
            return 'OFFLINE'
        members = list(self.members.get(pool['id'], {}).values())
        if not members:
            return 'ONLINE'
        statuses = [self._member_status(pool, m) for m in members
                    if m['admin_state_up']]
        if not statuses or all(s == 'ERROR' for s in statuses):
            return 'ERROR'
        if 'ERROR' in statuses:
            return 'DEGRADED'
        return 'ONLINE'

    def _listener_status(self, listener):
        if not listener['admin_state_up']:
            return 'OFFLINE'
        pool = self.pools.get(listener['default_pool_id'])
        if pool is None:
            return 'ONLINE'
        status = self._pool_status(pool)
        return 'ONLINE' if status == 'OFFLINE' else status

    def _lb_status(self, lb):
        if not lb['admin_state_up']:
            return 'OFFLINE'
        if lb['provisioning_status'] == 'PENDING_CREATE':
            return 'OFFLINE'
        worst = 'ONLINE'
        for kind, obj in self._children(lb['id']):
            if kind == 'listener':
                status = self._listener_status(obj)
            elif kind == 'pool':
                status = self._pool_status(obj)
                status = 'ONLINE' if status == 'OFFLINE' else status
            else:
                continue
            if _SEVERITY[status] > _SEVERITY[worst]:
                worst = status
        return worst

    def _view(self, kind, obj):
        view = copy.deepcopy(obj)
        if kind == 'loadbalancer':
            view['operating_status'] = self._lb_status(obj)
        elif kind == 'listener':
            view['operating_status'] = self._listener_status(obj)
        elif kind == 'pool':
            view['operating_status'] = self._pool_status(obj)
        elif kind == 'member':
            view['operating_status'] = self._member_status(
                self.pools[obj['pool_id']], obj)
            del view['pool_id']
        elif kind == 'healthmonitor':
            view['operating_status'] = 'ONLINE' if obj['admin_state_up'] \
                else 'OFFLINE'
        return view
