"""VMR's Nova virt driver for the real tier: fake guests with a journal.

The installer copies this file into the ``nova/virt/`` package of the real
tier's virtualenv (Nova loads compute drivers only from there), so Nova
names it ``compute_driver = vmrfake.VMRFakeDriver``.

It is Nova's ``FakeDriverWithoutFakeNodes`` (one node named after
``CONF.host``, its UUID kept in ``<state_path>/compute_id`` so a restarted
nova-compute is the same hypervisor) with three changes:

* every guest lifecycle change is appended, fsync'd, as one JSON line to
  ``<VMR_REAL_GUESTS_DIR or state_path>/guests.jsonl``::

    {"t": 1.0, "host": "compute-1", "event": "start", "server": "<uuid>",
     "why": "spawn"}

  ``event`` is ``start`` or ``stop`` for a guest; ``why`` says which Nova
  operation did it.  The guests live in this process's memory, so when the
  process dies they die with it: at start the driver writes
  ``{"event": "hypervisor_start", "server": null}`` to say that no guest of
  an earlier life of this host still runs.
* live migration takes ``VMR_REAL_LIVE_MIGRATION_SECONDS`` (default 2) and
  really moves the guest;
* resources are those of a modest hypervisor (``VMR_REAL_VCPUS`` 16,
  ``VMR_REAL_MEMORY_MB`` 32768, ``VMR_REAL_DISK_GB`` 400), and a snapshot
  uploads a few bytes to Glance so the image becomes active.
"""

import io
import json
import os
import threading
import time

from oslo_log import log as logging

from nova.compute import power_state
from nova.compute import task_states
import nova.conf
from nova import exception
from nova.image import glance
from nova.virt import fake

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

_REBUILD_STATES = (task_states.REBUILDING, task_states.REBUILD_SPAWNING,
                   task_states.REBUILD_BLOCK_DEVICE_MAPPING)


def _env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class GuestJournal:
    """Append-only JSON lines of guest starts and stops on this host."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def write(self, event, server, why):
        line = json.dumps({'t': time.time(), 'host': CONF.host,
                           'event': event, 'server': server, 'why': why})
        with self._lock:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o644)
            try:
                os.write(fd, (line + '\n').encode())
                os.fsync(fd)
            finally:
                os.close(fd)


class VMRFakeDriver(fake.FakeDriverWithoutFakeNodes):
    """A single-node fake hypervisor that journals its guests."""

    vcpus = _env_int('VMR_REAL_VCPUS', 16)
    memory_mb = _env_int('VMR_REAL_MEMORY_MB', 32768)
    local_gb = _env_int('VMR_REAL_DISK_GB', 400)

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        where = os.environ.get('VMR_REAL_GUESTS_DIR') or CONF.state_path
        self.journal = GuestJournal(os.path.join(where, 'guests.jsonl'))
        self.migration_seconds = float(
            os.environ.get('VMR_REAL_LIVE_MIGRATION_SECONDS', '2'))

    def init_host(self, host):
        super().init_host(host)
        self.journal.write('hypervisor_start', None, 'nova-compute started')

    # -- the two primitives everything else goes through ------------------

    def _run(self, instance, why, power_on=True, network_info=None):
        """Put ``instance`` on this hypervisor (running unless told not).

        ``network_info`` of a spawn is Nova's asynchronous port allocation:
        Nova's fake driver waits for it (as a real driver plugging the
        VIFs would), so a failed allocation fails the build.
        """
        was_running = self._running(instance)
        super().spawn(None, instance, None, None, None, None,
                      network_info=network_info, power_on=power_on)
        if power_on and not was_running:
            self.journal.write('start', instance.uuid, why)

    def _remove(self, instance, why):
        """Take ``instance`` off this hypervisor, if it is here."""
        was_running = self._running(instance)
        super().destroy(None, instance, None)
        if was_running:
            self.journal.write('stop', instance.uuid, why)

    def _running(self, instance):
        guest = self.instances.get(instance.uuid)
        return guest is not None and guest.state == power_state.RUNNING

    def _set_state(self, instance, state, why):
        guest = self.instances.get(instance.uuid)
        if guest is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        before = guest.state
        guest.state = state
        if before != state and state == power_state.RUNNING:
            self.journal.write('start', instance.uuid, why)
        elif before == power_state.RUNNING and state != before:
            self.journal.write('stop', instance.uuid, why)

    # -- Nova's driver interface -----------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        why = 'spawn'
        if instance.task_state in _REBUILD_STATES:
            # An evacuation is a rebuild elsewhere, with a move claim.
            why = 'evacuate' if instance.migration_context else 'rebuild'
        self._run(instance, why, power_on=power_on,
                  network_info=network_info)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        why = ('rebuild' if instance.task_state in _REBUILD_STATES
               else 'destroy')
        self._remove(instance, why)

    def power_off(self, instance, timeout=0, retry_interval=0):
        why = ('rebuild' if instance.task_state in _REBUILD_STATES
               else 'power_off')
        self._set_state(instance, power_state.SHUTDOWN, why)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._set_state(instance, power_state.RUNNING, 'power_on')

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        # A reboot stops and starts the guest; a hard one recreates it
        # if the hypervisor lost it (like libvirt).
        if instance.uuid in self.instances:
            self._set_state(instance, power_state.SHUTDOWN, 'reboot')
            self._set_state(instance, power_state.RUNNING, 'reboot')
        elif reboot_type.lower() == 'hard':
            self._run(instance, 'reboot')
        else:
            raise exception.InstanceNotFound(instance_id=instance.uuid)

    def suspend(self, context, instance):
        self._set_state(instance, power_state.SUSPENDED, 'suspend')

    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        self._set_state(instance, power_state.RUNNING, 'resume')

    def pause(self, instance):
        self._set_state(instance, power_state.PAUSED, 'pause')

    def unpause(self, instance):
        self._set_state(instance, power_state.RUNNING, 'unpause')

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        self._set_state(instance, power_state.SHUTDOWN, 'rescue')
        self._set_state(instance, power_state.RUNNING, 'rescue')

    def unrescue(self, context, instance):
        self._set_state(instance, power_state.RUNNING, 'unrescue')

    def snapshot(self, context, instance, image_id, update_task_state):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        data = ('VMR fake snapshot of %s\n' % instance.uuid).encode() * 64
        meta = {'disk_format': 'raw', 'container_format': 'bare'}
        glance.API().update(context, image_id, meta, data=io.BytesIO(data),
                            purge_props=False)

    # Cold migration and resize: the guest starts on the destination in
    # finish_migration and leaves the source at confirm (or comes back on
    # revert).
    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        if self._running(instance):
            self._set_state(instance, power_state.SHUTDOWN, 'migrate_out')
        return ''

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        self._run(instance, 'migrate_in', power_on=power_on)

    def confirm_migration(self, context, migration, instance, network_info):
        if migration.source_compute != migration.dest_compute:
            self._remove(instance, 'migrate_out')

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        if instance.uuid in self.instances:
            fake.FakeDriver.destroy(self, context, instance, network_info)
        self._run(instance, 'migrate_revert', power_on=power_on)

    # Live migration: the guest keeps running on the source for
    # ``migration_seconds``, then moves.
    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration=False,
                       migrate_data=None):
        deadline = time.monotonic() + self.migration_seconds
        while time.monotonic() < deadline:
            time.sleep(0.1)
        post_method(context, instance, dest, block_migration, migrate_data)

    def post_live_migration(self, context, instance, block_device_info,
                            migrate_data=None):
        self._remove(instance, 'migrate_out')

    def post_live_migration_at_destination(self, context, instance,
                                           network_info,
                                           block_migration=False,
                                           block_device_info=None):
        self._run(instance, 'migrate_in')

    def get_host_uptime(self):
        return ' 00:00:00 up 0 min,  0 users,  load average: 0.00, 0.00, 0.00'
