"""Install the real tier's OpenStack releases into a virtualenv of their own.

The virtualenv lives under a cache directory and is kept between runs: its
name carries a short hash of ``constraints.txt`` (and of the Python
version), so changing a pin builds a new one, and a stamp file written last
marks an install as complete.  The stamp also records the hash of our
drivers -- Nova's ``vmrfake.py`` and Neutron's ML2 ``vmrml2.py`` -- : a
changed driver is copied in again (no pip run).  ``eventbridge.py`` is not
copied: it runs from here with the virtualenv's Python.
A second call with nothing changed returns at once.

Every call marks the virtualenv it returns as used (``last-used``); one
that builds a new virtualenv removes the others of the same cache that
nobody used for :data:`STALE_AFTER` (an old pin's, about 750 MB each).

    python -m vmr_lab.real.install [--home DIR]
"""

import argparse
import dataclasses
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv

from vmr_lab.real import infra

HERE = os.path.dirname(os.path.abspath(__file__))
CONSTRAINTS = os.path.join(HERE, 'constraints.txt')
DRIVER = os.path.join(HERE, 'vmrfake.py')
ML2_DRIVER = os.path.join(HERE, 'vmrml2.py')
#: The distribution whose entry point makes ML2 find our mechanism driver.
ML2_DIST = 'vmr_real_ml2-1.0.dist-info'
ML2_ENTRY_POINTS = ('[neutron.ml2.mechanism_drivers]\n'
                    'vmrfake = neutron.plugins.ml2.drivers.vmrfake:'
                    'VMRFakeMechanismDriver\n')
# What we install by name; every version (and every dependency's) comes
# from constraints.txt.
REQUIREMENTS = ('keystone', 'glance', 'nova', 'openstack-placement',
                'neutron', 'aodh', 'cinder', 'mistral', 'octavia',
                'masakari', 'gunicorn', 'PyMySQL')
STAMP = 'vmr-real-installed'
USED = 'last-used'
#: seconds unused after which another pin's virtualenv is removed
STALE_AFTER = 7 * 86400


@dataclasses.dataclass(frozen=True)
class RealInstall:
    """Where the real tier's OpenStack lives."""

    venv: str
    bin_dir: str
    site_packages: str
    python: str

    def bin(self, name):
        """Path of console script ``name`` in the virtualenv."""
        return os.path.join(self.bin_dir, name)

    @property
    def etc(self):
        """The ``etc`` data files the wheels installed (paste configs)."""
        return os.path.join(self.venv, 'etc')


def default_home():
    if os.environ.get('VMR_REAL_HOME'):
        return os.environ['VMR_REAL_HOME']
    if os.geteuid() == 0:
        return '/var/cache/vmr-real'
    return os.path.join(os.path.expanduser('~'), '.cache', 'vmr-real')


def _hash(*paths, extra=b''):
    digest = hashlib.sha256(extra)
    for path in paths:
        with open(path, 'rb') as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:12]


def fingerprint():
    """Short hash of what decides the virtualenv's packages."""
    return _hash(CONSTRAINTS,
                 extra=('%d.%d' % sys.version_info[:2]).encode())


def _stamp_matches(stamp, driver_hash):
    try:
        with open(stamp) as fh:
            return fh.read().split()[:1] == [driver_hash]
    except FileNotFoundError:
        return False


def _describe(path):
    py = 'python%d.%d' % sys.version_info[:2]
    return RealInstall(
        venv=path, bin_dir=os.path.join(path, 'bin'),
        site_packages=os.path.join(path, 'lib', py, 'site-packages'),
        python=os.path.join(path, 'bin', 'python'))


def _pip(real, args, log):
    cmd = [real.python, '-m', 'pip', '--disable-pip-version-check'] + args
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if res.returncode != 0:
        tail = '\n'.join(res.stdout.splitlines()[-20:])
        raise RuntimeError('pip install into %s failed:\n%s'
                           % (real.venv, tail))
    return res.stdout


def install_driver(real):
    """Copy our Nova driver into nova/virt and our ML2 driver into Neutron.

    ML2 loads mechanism drivers by entry point only, so a small
    distribution (metadata and entry point, nothing to import) registers
    ``vmrfake`` in ``neutron.ml2.mechanism_drivers``.
    """
    dest = os.path.join(real.site_packages, 'nova', 'virt', 'vmrfake.py')
    shutil.copyfile(DRIVER, dest)
    shutil.copyfile(ML2_DRIVER, os.path.join(
        real.site_packages, 'neutron', 'plugins', 'ml2', 'drivers',
        'vmrfake.py'))
    dist = os.path.join(real.site_packages, ML2_DIST)
    os.makedirs(dist, exist_ok=True)
    for name, text in (
            ('METADATA', 'Metadata-Version: 2.1\nName: vmr-real-ml2\n'
                         'Version: 1.0\nSummary: VMR real tier ML2 driver '
                         'entry point\n'),
            ('entry_points.txt', ML2_ENTRY_POINTS),
            ('INSTALLER', 'vmr_lab.real.install\n')):
        with open(os.path.join(dist, name), 'w') as fh:
            fh.write(text)
    return dest


def _write_stamp(stamp, driver_hash):
    with open(stamp + '.tmp', 'w') as fh:
        fh.write('%s %s\n' % (driver_hash, time.strftime('%Y-%m-%d %H:%M:%S')))
    os.replace(stamp + '.tmp', stamp)


def ensure_installed(home=None, log=print):
    """Return the :class:`RealInstall`, building it first if needed.

    Raises RuntimeError with one line naming the fix when MariaDB or
    RabbitMQ is missing or pip fails.
    """
    infra.check_binaries()
    home = os.path.abspath(home or default_home())
    real = _describe(os.path.join(home, 'venv-' + fingerprint()))
    stamp = os.path.join(real.venv, STAMP)
    driver_hash = _hash(DRIVER, ML2_DRIVER,
                        extra=ML2_ENTRY_POINTS.encode())
    if _stamp_matches(stamp, driver_hash):
        return _used(real)
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, '.lock'), 'w') as lock:
        # Another process may be building the same virtualenv right now.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _stamp_matches(stamp, driver_hash):
            return _used(real)
        if os.path.exists(stamp):
            # Same packages, another driver: only copy the driver in.
            install_driver(real)
            _write_stamp(stamp, driver_hash)
            log('real tier: updated the vmrfake drivers in %s' % real.venv)
            return _used(real)
        t0 = time.monotonic()
        if os.path.exists(real.venv):
            shutil.rmtree(real.venv)  # an install that did not finish
        log('real tier: building %s (pip, a few minutes)' % real.venv)
        venv.EnvBuilder(with_pip=True).create(real.venv)
        _pip(real, ['install', '--quiet', '-c', CONSTRAINTS]
             + list(REQUIREMENTS), log)
        install_driver(real)
        subprocess.run([real.python, '-c', 'import nova.virt.vmrfake, '
                        'neutron.plugins.ml2.drivers.vmrfake, neutron.wsgi, '
                        'keystone, glance, placement, aodh.api.app, '
                        'aodh.event, gunicorn, pymysql'],
                       check=True)
        # Apart: Mistral's and Aodh's configs both register [api] max_limit.
        subprocess.run([real.python, '-c', 'import mistral.api.app'],
                       check=True)
        # Cinder and Nova register options of the same name: apart.
        subprocess.run([real.python, '-c', 'import cinder.volume.drivers.nfs'],
                       check=True)
        # Alone: Octavia and Nova both register oslo.config's ``host``.
        subprocess.run([real.python, '-c', 'import octavia.api.app'],
                       check=True)
        subprocess.run([real.python, '-c', 'import masakari.cmd.api'],
                       check=True)
        _write_stamp(stamp, driver_hash)
        log('real tier: installed in %.1f s' % (time.monotonic() - t0))
        _used(real)
        for path in remove_stale(home, keep=real.venv):
            log('real tier: removed %s (unused for %d days)'
                % (path, STALE_AFTER // 86400))
    return real


def _used(real):
    """Mark ``real`` as used now; returns it."""
    try:
        with open(os.path.join(real.venv, USED), 'w') as fh:
            fh.write('%d\n' % time.time())
    except OSError:
        pass    # a read-only cache still works; it is only never pruned
    return real


def remove_stale(home, keep, now=None, stale_after=STALE_AFTER):
    """Remove the ``venv-*`` directories of ``home`` but ``keep`` whose
    last use (their ``last-used`` file, else their stamp, else the
    directory) is older than ``stale_after`` seconds; the removed paths.
    Call with the cache's lock held."""
    now = time.time() if now is None else now
    removed = []
    for name in sorted(os.listdir(home)):
        path = os.path.join(home, name)
        if not name.startswith('venv-') or os.path.abspath(path) == \
                os.path.abspath(keep) or not os.path.isdir(path):
            continue
        for mark in (USED, STAMP, ''):
            try:
                used_at = os.path.getmtime(os.path.join(path, mark))
                break
            except OSError:
                continue
        else:
            continue
        if now - used_at > stale_after:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--home', help='cache directory (default: '
                        '$VMR_REAL_HOME, /var/cache/vmr-real as root, '
                        'else ~/.cache/vmr-real)')
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    try:
        real = ensure_installed(args.home)
    except RuntimeError as exc:
        print('vmr-real install: %s' % exc, file=sys.stderr)
        return 1
    print('real tier ready in %s (%.2f s)' % (real.venv,
                                             time.monotonic() - t0))
    return 0


if __name__ == '__main__':
    sys.exit(main())
