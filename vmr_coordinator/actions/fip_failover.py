"""``fip_failover``: an active/standby pair keeps its floating IP alive.

The pair is the servers sharing metadata ``<pair_metadata_key>=<pair>``;
``<role_key>`` says ``active`` or ``standby``.  When the active server's
host is fenced, its floating IPs move to the standby's port and the roles
swap, so the next failure goes the other way.

In ``mode: vrrp`` the floating IP sits on the pair's VIP port and keepalived
in the guests moves the VIP by itself; this action is the fallback. When the
standby reported MASTER to ``/v1/alarms/keepalived`` the pair agreed: the
floating IP stays on the VIP port and only the roles swap. Otherwise (no
report, or BACKUP/FAULT: the standby never took the VIP) the floating IP
moves from the VIP port to the standby's own port, which works without VRRP.
"""

import logging
import time

from oslo_config import cfg

from vmr_coordinator.actions import base, evidence

LOG = logging.getLogger(__name__)

ACTIVE = 'active'
STANDBY = 'standby'
VRRP = 'vrrp'
#: how long to wait for the standby's MASTER report: keepalived takes over
#: after 3 missed adverts (~3.6 s at advert_int 1, FACTS.md)
VRRP_TAKEOVER_WAIT = 5.0


def vip_port_name(pair):
    """The VIP port ``vmr keepalived setup-pair`` creates for ``pair``."""
    return 'vmr-vip-%s' % pair


def vrrp_states(pair):
    """``{instance: state}`` the pair's guests last reported, or None.

    Read from the coordinator's etcd (``[etcd]`` of the process-wide
    config) where the API's keepalived webhook stores them; None when that
    store cannot be read, which counts as "no report".
    """
    from vmr_common.conf import etcd as etcd_conf
    from vmr_common.store import Store
    try:
        conf = cfg.CONF
        etcd_conf.register_opts(conf)
        store = Store.from_conf(conf)
        directory = '%svrrp/%s/' % (store.keys.root, pair)
        kvs, _rev = store.get_prefix(directory)
        return {kv.key[len(directory):]: (kv.json() or {}).get('state')
                for kv in kvs}
    except Exception as exc:  # config, network, corrupt record: no evidence
        LOG.info('fip_failover: no VRRP states of pair %s: %s', pair, exc)
        return None


class FipFailover(evidence.RecordedAction):
    """Re-associate the failed active server's floating IPs to the standby.

    Goal: every floating IP of the pair is on a port of a live standby,
    which now has role ``active`` (and the failed server ``standby``) when
    ``swap_roles`` is true.  Idempotent: floating IPs already on the
    standby are left alone and only the roles are fixed.
    """

    name = 'fip_failover'
    needs_fence = True

    def heal(self, ctx):
        compute = ctx.conn.compute
        network = ctx.conn.network
        pair_key = self.params.get('pair_metadata_key', 'vmr_pair')
        role_key = self.params.get('role_key', 'vmr_role')
        swap = self.params.get('swap_roles', True)
        failed = base.call(compute.get_server, ctx.server.id)
        pair = (failed.metadata or {}).get(pair_key)
        if not pair:
            raise base.ActionError(
                'server %s has no %s metadata: fip_failover needs an '
                'active/standby pair (set %s=<pair> and %s=active|standby)'
                % (failed.id, pair_key, pair_key, role_key))
        peers = [s for s in base.call(lambda: list(compute.servers(
            details=True, all_projects=True, project_id=failed.project_id)))
            if s.id != failed.id and (s.metadata or {}).get(pair_key) == pair]
        standby = self._standby(peers, role_key, ctx.host, failed.id)
        if standby is None:
            raise base.ActionError(
                'pair %s: no ACTIVE standby of %s on a live host (peers: %s)'
                % (pair, failed.id, ', '.join(
                    '%s %s on %s' % (s.name, s.status, s.compute_host)
                    for s in peers) or 'none'))

        failed_ports = self._ports(network, failed.id)
        standby_ports = self._ports(network, standby.id)
        if not standby_ports:
            raise base.ActionError('standby %s of pair %s has no port to '
                                   'move the floating IP to'
                                   % (standby.id, pair))
        vrrp_note = ''
        if self.params.get('mode', 'api') == VRRP:
            vip_ports = base.call(lambda: list(network.ports(
                name=vip_port_name(pair))))
            on_vip = [fip for port in vip_ports for fip in base.call(
                lambda p=port: list(network.ips(port_id=p.id)))]
            if on_vip:
                state = self._standby_state(ctx, pair, standby.name)
                if state == 'MASTER':
                    roles = self._swap(compute, failed, standby, role_key) \
                        if swap else ''
                    return ('VRRP pair %s agreed: %s reported MASTER, '
                            'floating IP %s stays on the VIP port%s'
                            % (pair, standby.name, ', '.join(
                                f.floating_ip_address for f in on_vip),
                               roles))
                # The pair cannot agree: move the address off the VIP port.
                failed_ports = failed_ports + vip_ports
                vrrp_note = ('VRRP pair %s cannot agree (%s reported %s): '
                             % (pair, standby.name, state or 'nothing'))
        moved = []
        for port in failed_ports:
            for fip in base.call(lambda p=port: list(network.ips(
                    port_id=p.id))):
                dest = self._matching_port(port, standby_ports)
                base.call(network.update_ip, fip, port_id=dest.id)
                moved.append((fip.floating_ip_address, dest.id))
        on_standby = [fip for port in standby_ports for fip in base.call(
            lambda p=port: list(network.ips(port_id=p.id)))]
        if not on_standby:
            raise base.ActionError(
                'pair %s: neither %s nor the standby %s holds a floating IP'
                % (pair, failed.id, standby.id))
        for address, port_id in moved:
            self.wait(ctx, lambda a=address, p=port_id: self._on_port(
                network, a, p), 'floating IP %s on port %s' % (address,
                                                              port_id))
        roles = ''
        if swap:
            roles = self._swap(compute, failed, standby, role_key)
        if moved:
            text = vrrp_note + 'moved %s to %s (%s)' % (
                ', '.join(a for a, _ in moved), standby.name, standby.id)
        else:
            text = 'floating IP %s already on %s (%s)' % (
                ', '.join(f.floating_ip_address for f in on_standby),
                standby.name, standby.id)
        return text + roles

    @staticmethod
    def _standby_state(ctx, pair, standby_name):
        """The standby's reported VRRP state, waiting briefly for MASTER."""
        until = time.monotonic() + min(VRRP_TAKEOVER_WAIT, ctx.remaining())
        while True:
            states = vrrp_states(pair)
            state = (states or {}).get(standby_name)
            if state == 'MASTER' or states is None or time.monotonic() >= until:
                return state
            time.sleep(min(ctx.poll, 0.5))

    @staticmethod
    def _standby(peers, role_key, dead_host, failed_id):
        live = [s for s in peers if s.status == 'ACTIVE'
                and s.compute_host != dead_host]
        # A swapped pair from an earlier run has the standby already
        # marked active: it is still the server to keep the address on.
        for wanted in (STANDBY, ACTIVE):
            found = sorted((s for s in live if (s.metadata or {}).get(
                role_key) == wanted), key=lambda s: (s.name or '', s.id))
            if found:
                return found[0]
        return None

    @staticmethod
    def _ports(network, server_id):
        ports = base.call(lambda: list(network.ports(device_id=server_id)))
        return sorted(ports, key=lambda p: (p.created_at or '', p.id))

    @staticmethod
    def _matching_port(port, candidates):
        # Same network first: the floating IP's router reaches it for sure.
        for other in candidates:
            if other.network_id == port.network_id:
                return other
        return candidates[0]

    @staticmethod
    def _on_port(network, address, port_id):
        found = base.call(lambda: list(network.ips(
            floating_ip_address=address)))
        return bool(found) and found[0].port_id == port_id

    @staticmethod
    def _swap(compute, failed, standby, role_key):
        changed = []
        # The standby first: if we stop half-way the pair has two actives
        # for a moment, never none.
        if (standby.metadata or {}).get(role_key) != ACTIVE:
            base.call(compute.set_server_metadata, standby,
                      **{role_key: ACTIVE})
            changed.append('%s=%s on %s' % (role_key, ACTIVE, standby.name))
        if (failed.metadata or {}).get(role_key) != STANDBY:
            base.call(compute.set_server_metadata, failed,
                      **{role_key: STANDBY})
            changed.append('%s=%s on %s' % (role_key, STANDBY, failed.name))
        return '; roles swapped (%s)' % ', '.join(changed) if changed else \
            '; roles already swapped'
