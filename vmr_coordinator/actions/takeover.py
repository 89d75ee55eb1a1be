"""The data a replacement takes over from the server it replaces: its
data volumes and floating IPs (a part of ``boot_from_snapshot``, see that
module for the order and why).

A volume on its way carries volume metadata ``vmr_replacement=<new id>``
from before it is detached, so a new leader finds it again even once the
dead server no longer lists it; floating IPs still on the dead server's
ports are the ones to move.
"""

from vmr_coordinator.actions import base

VOLUME_KEY = 'vmr_replacement'


class TakeOver:
    """Volume and floating IP moves of :class:`BootFromSnapshot` (a mixin:
    it uses the action's ``params`` and ``wait``)."""

    # -- volumes -------------------------------------------------------------
    @staticmethod
    def _host_down(compute, server):
        """Whether Nova sees the nova-compute of ``server``'s host down
        (forced down or not reporting): Nova then refuses a detach."""
        services = base.call(lambda: list(compute.services(
            binary='nova-compute', host=server.compute_host)))
        return any(s.is_forced_down or s.state == 'down' for s in services)

    def _release_volumes(self, ctx, old, new):
        """Mark ``old``'s data volumes for ``new`` and detach them.

        Returns the ids of those left attached because the host is down:
        only deleting ``old`` frees them, so ``delete_on_termination`` is
        turned off first.
        """
        compute = ctx.conn.compute
        storage = ctx.conn.block_storage
        root = getattr(old, 'root_device_name', None) or '/dev/vda'
        attachments = base.call(lambda: list(
            compute.volume_attachments(old)))
        # not the root disk of a boot-from-volume server
        data = [att for att in attachments if att.device != root]
        if not data:
            return []
        host_down = self._host_down(compute, old)
        held = []
        for att in data:
            # Mark first: once detached, the old server no longer says
            # which volumes were its own.
            base.call(storage.set_volume_metadata, att.volume_id,
                      **{VOLUME_KEY: new.id})
            if not host_down:
                base.call(compute.delete_volume_attachment, old,
                          att.volume_id)
                continue
            if att.delete_on_termination:
                base.call(compute.update_volume_attachment, old,
                          att.volume_id, delete_on_termination=False)
            held.append(att.volume_id)
        return held

    def _check_volumes_can_move(self, compute, old):
        """Refuse to move volumes that only deleting ``old`` frees (its
        host is down) when ``old`` must not be deleted."""
        root = getattr(old, 'root_device_name', None) or '/dev/vda'
        attachments = base.call(lambda: list(
            compute.volume_attachments(old)))
        data = [att for att in attachments if att.device != root]
        if not data or not self._host_down(compute, old):
            return
        others = [att for att in attachments if att.device == root]
        ids = ', '.join(att.volume_id for att in data)
        if not self.params.get('delete_old', True):
            raise base.ActionError(
                'volumes %s of server %s cannot move: its host %s is down, '
                'Nova detaches them only by deleting the server, and the '
                'contract says delete_old: false' % (
                    ids, old.id, old.compute_host))
        if others:
            raise base.ActionError(
                'volumes %s of server %s cannot move: its host %s is down, '
                'where Nova refuses to detach them (409), and deleting %s '
                'would also take its root volume %s; move them by hand or '
                'set reattach_volumes: false' % (
                    ids, old.id, old.compute_host, old.id,
                    ', '.join(att.volume_id for att in others)))

    def _move_volumes(self, ctx, new):
        """Attach every volume marked for ``new`` once it is free."""
        compute = ctx.conn.compute
        storage = ctx.conn.block_storage
        moved = []
        # Cinder parses the metadata filter as a Python literal (what
        # python-cinderclient sends); the SDK passes the string through.
        pending = base.call(lambda: list(storage.volumes(
            details=True, all_projects=True,
            properties=str({VOLUME_KEY: new.id}))))
        for volume in sorted(pending, key=lambda v: v.id):
            if any(a.get('server_id') == new.id
                   for a in volume.attachments or ()):
                continue
            self.wait(ctx, lambda v=volume.id: self._volume_status(
                storage, v, 'available'),
                'volume %s to be detached' % volume.id)
            base.call(compute.create_volume_attachment, new,
                      volume_id=volume.id)
            self.wait(ctx, lambda v=volume.id: self._volume_status(
                storage, v, 'in-use'),
                'volume %s to be attached to %s' % (volume.id, new.id))
            moved.append(volume.id)
        return moved

    @staticmethod
    def _volume_status(storage, volume_id, status):
        volume = base.call(storage.get_volume, volume_id)
        if volume.status in ('error', 'error_detaching', 'error_attaching'):
            raise base.ActionError('volume %s is %s' % (volume_id,
                                                        volume.status))
        return volume if volume.status == status else None

    # -- floating IPs --------------------------------------------------------
    def _move_fips(self, ctx, old, new):
        network = ctx.conn.network
        old_ports = self._ports(network, old.id)
        new_ports = self._ports(network, new.id)
        moved = []
        for port in old_ports:
            fips = base.call(lambda p=port: list(network.ips(port_id=p.id)))
            if not fips:
                continue
            dest = next((p for p in new_ports
                         if p.network_id == port.network_id), None)
            if dest is None:
                raise base.ActionError(
                    'replacement %s has no port on network %s to move '
                    'floating IP %s to' % (new.id, port.network_id, ', '.join(
                        f.floating_ip_address for f in fips)))
            for fip in fips:
                base.call(network.update_ip, fip, port_id=dest.id)
                moved.append(fip.floating_ip_address)
        return moved

    @staticmethod
    def _ports(network, server_id):
        ports = base.call(lambda: list(network.ports(device_id=server_id)))
        return sorted(ports, key=lambda p: (p.created_at or '', p.id))
