"""Cinder 29 in the real tier: cinder-api, -scheduler and -volume.

Started only when a test asks for it (``services=('cinder',)``).  The
volumes are files: Cinder's own NFS driver (``cinder.volume.drivers.nfs``)
keeps each volume as a sparse file on its share.  This machine's kernel has
neither device-mapper (LVM: ``/dev/mapper/control: open failed: No such
device``) nor an NFS client, so the "share" is a local directory that
cinder-volume finds already mounted where the driver mounts its NFS share:
cinder-volume runs in a mount namespace of its own (``unshare --mount``)
where that directory is bind-mounted on the driver's mount point; the bind
mount disappears with the process.  Everything else (creating, attaching,
detaching, deleting volume files, capacity reports) is the driver's own
code.  ``mount.nfs`` must exist (Debian's ``nfs-common``): the driver checks
for it at start-up, though it never runs it here.

Nova's fake virt driver connects nothing: Nova's attach still goes through
Cinder's attachments API (reserve, update with the connector, complete),
and the connection info Cinder answers is the NFS driver's.
"""

import hashlib
import os

from vmr_lab.real import config
from vmr_lab.real.procs import wait_for

#: cinder-api's catalog entries: the current type and the alias Nova's
#: default ``[cinder] catalog_info`` (``volumev3::publicURL``) asks for.
CATALOG_TYPES = (('cinder', 'block-storage'), ('cinderv3', 'volumev3'))
DAEMONS = ('cinder-scheduler', 'cinder-volume')
#: The one backend, and the host name cinder-volume reports as.
BACKEND = 'nfs'
VOLUME_HOST = 'storage'


def share_paths(state):
    """(share directory, share address, mount base, mount point)."""
    share_dir = os.path.join(state, 'cinder', 'share')
    address = '127.0.0.1:%s' % share_dir
    mount_base = os.path.join(state, 'cinder', 'mnt')
    # os-brick's RemoteFsClient: <mount base>/<md5 of the share address>.
    mount_point = os.path.join(mount_base, hashlib.md5(
        address.encode(), usedforsecurity=False).hexdigest())
    return share_dir, address, mount_base, mount_point


def cinder_conf(db_url, transport_url, auth_url, password, state, paste_ini,
                shares_file):
    """cinder.conf of cinder-api, -scheduler and -volume."""
    _, _, mount_base, _ = share_paths(state)
    return {
        'DEFAULT': {
            'use_stderr': True,
            'transport_url': transport_url,
            'state_path': os.path.join(state, 'cinder'),
            'my_ip': '127.0.0.1',
            'host': VOLUME_HOST,
            'auth_strategy': 'keystone',
            'api_paste_config': paste_ini,
            'enabled_backends': BACKEND,
            'report_interval': config.REPORT_INTERVAL,
            # cinder-volume sends its pool's capacity this often; the
            # scheduler places nothing before the first report.
            'backend_stats_polling_interval': 5,
            'periodic_interval': 5,
        },
        'database': {'connection': db_url},
        'keystone_authtoken': config.authtoken(auth_url, 'cinder', password),
        # Cinder calls Nova (external events: volume extended, attachment
        # deleted) as its service user.
        'nova': dict(config.service_auth(auth_url, 'cinder', password),
                     interface='public'),
        'service_user': dict(config.service_auth(auth_url, 'cinder',
                                                 password),
                             send_service_user_token=True),
        BACKEND: {
            'volume_driver': 'cinder.volume.drivers.nfs.NfsDriver',
            'volume_backend_name': BACKEND,
            'nfs_shares_config': shares_file,
            'nfs_mount_point_base': mount_base,
            'nfs_sparsed_volumes': True,
            'nfs_snapshot_support': False,
            # Said, not detected: 'auto' guesses from the files on the share.
            'nas_secure_file_operations': False,
            'nas_secure_file_permissions': False,
        },
        'coordination': {'backend_url': 'file://%s'
                         % os.path.join(state, 'cinder', 'coordination')},
        'oslo_concurrency': {'lock_path': os.path.join(state, 'cinder',
                                                       'lock')},
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
    }


def nova_overlay(auth_url, password):
    """nova.conf's ``[cinder]``: where Nova finds Cinder and how it calls
    it when no user token is at hand."""
    return {'cinder': dict(config.service_auth(auth_url, 'nova', password),
                           os_region_name=config.REGION,
                           catalog_info='volumev3::publicURL')}


def write_configs(rs, password):
    """cinder.conf, the shares file and api-paste.ini under ``rs.etc``."""
    etc = os.path.join(rs.etc, 'cinder')
    os.makedirs(etc, exist_ok=True)
    share_dir, address, mount_base, mount_point = share_paths(rs.state)
    for path in (share_dir, mount_base, mount_point):
        os.makedirs(path, exist_ok=True)
    shares = os.path.join(etc, 'nfs_shares')
    with open(shares, 'w') as fh:
        fh.write(address + '\n')
    paste = os.path.join(etc, 'api-paste.ini')
    with open(os.path.join(rs.install.etc, 'cinder', 'api-paste.ini')) as src, \
            open(paste, 'w') as dst:
        dst.write(src.read())
    config.write_ini(os.path.join(etc, 'cinder.conf'), cinder_conf(
        rs.db.url('cinder'), rs.mq.url, rs.auth_url, password, rs.state,
        paste, shares))


def conf_path(rs):
    return os.path.join(rs.etc, 'cinder', 'cinder.conf')


def volume_argv(rs):
    """cinder-volume in a mount namespace of its own, with the share
    directory bind-mounted where the NFS driver expects its mount."""
    share_dir, _, _, mount_point = share_paths(rs.state)
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
            'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'cinder-volume',
            share_dir, mount_point, rs.install.bin('cinder-volume'),
            '--config-file', conf_path(rs)]


#: What ``sudo`` and ``cinder-rootwrap`` become for cinder-volume: the tier
#: runs as root already, and Debian's minimal images have no sudo.  Cinder
#: runs ``qemu-img`` as root through ``sudo cinder-rootwrap CONF cmd...``
#: and starts its privsep daemon the same way (making a volume from an
#: image needs both); these run ``cmd...`` as it is.
ROOT_SHIMS = {
    'sudo': '#!/bin/sh\n# the real tier runs as root: run the command as it is\n'
            'exec "$@"\n',
    'cinder-rootwrap': '#!/bin/sh\n# drop the rootwrap configuration, run the '
                       'command\nshift\nexec "$@"\n',
}


def root_env(rs):
    """cinder-volume's environment: the root shims, then the tier's
    virtualenv (privsep-helper), then the usual PATH."""
    shims = os.path.join(rs.state, 'cinder', 'bin')
    os.makedirs(shims, exist_ok=True)
    for name, text in ROOT_SHIMS.items():
        path = os.path.join(shims, name)
        with open(path, 'w') as fh:
            fh.write(text)
        os.chmod(path, 0o700)  # root runs them
    return dict(os.environ, PATH=os.pathsep.join([
        shims, os.path.dirname(rs.install.bin('cinder-volume')),
        os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')]))


def start_daemons(rs):
    """cinder-scheduler and cinder-volume (after the database sync)."""
    rs._spawn('cinder-scheduler', [rs.install.bin('cinder-scheduler'),
                                   '--config-file', conf_path(rs)])
    rs._spawn('cinder-volume', volume_argv(rs), env=root_env(rs))


def wait_ready(rs, timeout=180):
    """Until the scheduler knows the backend's pool (it places volumes
    only then)."""
    conn = rs.admin()

    def pools():
        return [p for p in conn.block_storage.backend_pools()
                if p.name.startswith('%s@%s' % (VOLUME_HOST, BACKEND))]
    for name in DAEMONS:
        if not rs.procs[name].alive():
            raise RuntimeError('%s exited; see %s'
                               % (name, rs.procs[name].log_path))
    wait_for('cinder pool %s@%s' % (VOLUME_HOST, BACKEND), pools, timeout,
             0.5, rs.procs['cinder-volume'])
