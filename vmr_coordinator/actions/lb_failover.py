"""``lb_failover``: active/standby members behind an Octavia pool.

The failed server's member(s) — found by the fixed IPs of its ports — are
disabled, the standby's enabled, and the action waits until Octavia
reports the load balancer ACTIVE and the standby member ONLINE.  Octavia
locks a load balancer while a change is provisioned (``PENDING_UPDATE``)
and answers 409 meanwhile: the action waits for ACTIVE before each change
and tries again on 409 until its deadline.
"""

import time

from vmr_coordinator.actions import base, evidence

#: operating statuses that mean the standby takes traffic; NO_MONITOR is
#: the best Octavia can say about a pool without a health monitor
SERVING = ('ONLINE', 'NO_MONITOR')


class LbFailover(evidence.RecordedAction):
    """Disable the failed server's pool members, enable the standby's.

    The standby is a pool member whose address belongs to another server
    with all of ``standby_metadata`` (default ``vmr_role: standby``) and,
    when the failed server has one, the same ``pair_metadata_key`` value.
    Goal: no enabled member of the failed server, an enabled standby member
    reported ONLINE (NO_MONITOR without a health monitor) within
    ``verify_timeout``, the load balancer ACTIVE.
    """

    name = 'lb_failover'
    needs_fence = True

    def heal(self, ctx):
        lbaas = ctx.conn.load_balancer
        compute = ctx.conn.compute
        network = ctx.conn.network
        pool_ref = self.params['pool']
        pair_key = self.params.get('pair_metadata_key', 'vmr_pair')
        wanted = dict(self.params.get('standby_metadata') or
                      {'vmr_role': 'standby'})
        verify = float(self.params.get('verify_timeout', 120))

        pool = base.call(lbaas.find_pool, pool_ref, ignore_missing=True)
        if pool is None:
            raise base.ActionError('Octavia pool %r not found (check the '
                                   'contract\'s pool)' % pool_ref)
        lb_id = pool.loadbalancers[0]['id']
        failed = base.call(compute.get_server, ctx.server.id)
        failed_ips = self._server_ips(network, failed.id)
        members = base.call(lambda: list(lbaas.members(pool)))
        dead = [m for m in members if m.address in failed_ips]
        if not dead:
            raise base.ActionError(
                'no member of pool %s has an address of server %s (%s)'
                % (pool.name or pool.id, failed.id,
                   ', '.join(sorted(failed_ips)) or 'no fixed IPs'))
        pair = (failed.metadata or {}).get(pair_key)
        standby = self._standby_members(ctx, network, compute, members,
                                        dead, wanted, pair_key, pair)
        if not standby:
            raise base.ActionError(
                'pool %s: no member belongs to a live server with %s%s'
                % (pool.name or pool.id, wanted, ' and %s=%s' % (
                    pair_key, pair) if pair else ''))

        changed = []
        for member in dead:
            if member.is_admin_state_up:
                self._change(ctx, lbaas, lb_id, member, pool, False)
                changed.append('disabled %s' % member.address)
        for member in standby:
            if not member.is_admin_state_up:
                self._change(ctx, lbaas, lb_id, member, pool, True)
                changed.append('enabled %s' % member.address)

        until = min(ctx.deadline, time.monotonic() + verify)
        verify_ctx = base.ActionContext(ctx.conn, ctx.server, ctx.host,
                                        ctx.event, until, ctx.poll)
        self.wait(verify_ctx, lambda: self._lb_active(lbaas, lb_id),
                  'load balancer %s to be ACTIVE' % lb_id)
        serving = self.wait(
            verify_ctx, lambda: self._serving(lbaas, pool, standby),
            'standby member(s) %s of pool %s to be ONLINE' % (
                ', '.join(m.address for m in standby), pool.name or pool.id))
        return '%s; standby %s' % (
            ', '.join(changed) or 'members already flipped',
            ', '.join('%s %s' % (m.address, m.operating_status)
                      for m in serving))

    # -- finding members -----------------------------------------------------
    @staticmethod
    def _server_ips(network, server_id):
        ports = base.call(lambda: list(network.ports(device_id=server_id)))
        return {ip['ip_address'] for p in ports for ip in p.fixed_ips or ()}

    def _standby_members(self, ctx, network, compute, members, dead, wanted,
                         pair_key, pair):
        found = []
        dead_ids = {m.id for m in dead}
        for member in members:
            if member.id in dead_ids:
                continue
            ports = base.call(lambda m=member: list(network.ports(
                fixed_ips='ip_address=%s' % m.address)))
            for port in ports:
                if not port.device_id or port.device_id == ctx.server.id:
                    continue
                server = base.call(compute.find_server, port.device_id,
                                   ignore_missing=True)
                if server is None or not self._is_standby(
                        server, ctx.host, wanted, pair_key, pair):
                    continue
                found.append(member)
                break
        return found

    @staticmethod
    def _is_standby(server, dead_host, wanted, pair_key, pair):
        metadata = server.metadata or {}
        if server.status != 'ACTIVE' or server.compute_host == dead_host:
            return False
        if pair and metadata.get(pair_key) != pair:
            return False
        return all(metadata.get(k) == v for k, v in wanted.items())

    # -- changing and verifying ----------------------------------------------
    def _change(self, ctx, lbaas, lb_id, member, pool, enabled):
        """Flip one member, riding out Octavia's PENDING_* locks (409)."""
        while True:
            self.wait(ctx, lambda: self._lb_active(lbaas, lb_id),
                      'load balancer %s to be ACTIVE' % lb_id)
            try:
                return base.call(lbaas.update_member, member, pool,
                                 admin_state_up=enabled)
            except base.RetryableError as exc:
                if not str(exc).startswith('HTTP 409') or \
                        ctx.remaining() <= 0:
                    raise
                # Someone else's change won the lock first: wait it out.
                time.sleep(min(ctx.poll, max(0.01, ctx.remaining())))

    @staticmethod
    def _lb_active(lbaas, lb_id):
        lb = base.call(lbaas.get_load_balancer, lb_id)
        if lb.provisioning_status == 'ERROR':
            raise base.ActionError('load balancer %s is in provisioning '
                                   'status ERROR' % lb_id)
        return lb if lb.provisioning_status == 'ACTIVE' else None

    @staticmethod
    def _serving(lbaas, pool, standby):
        fresh = [base.call(lbaas.get_member, m.id, pool) for m in standby]
        if all(m.is_admin_state_up and m.operating_status in SERVING
               for m in fresh):
            return fresh
        return None
