"""Masakari 22 in the real tier: its API, for ``vmr import-masakari``.

Masakari's API keeps failover segments and their hosts in its own
database; that is all VMR's importer reads.  Its engine (which would
evacuate on a host-failure notification) is not run: nothing here sends
Masakari notifications.  The API runs as Masakari's own ``masakari-api``
(an eventlet WSGI server): its WSGI module (``masakari.wsgi.api``) cannot
run under gunicorn's threads, as importing ``masakari.cmd`` monkey-patches
the process for eventlet and the answers then never leave the socket.

Adding a host to a segment makes Masakari look the host up in Nova
(``os-services``) with its privileged user: the tier's ``masakari`` service
user, so a host must be a real nova-compute of the tier.

    rs = RealServices(workdir, services=('masakari',))
"""

import os
import shutil
import time

from vmr_lab.real import config
from vmr_lab.real.procs import run

#: Keystone's service type of Masakari's API (openstacksdk's ``instance_ha``)
SERVICE_TYPE = 'instance-ha'
DATABASE = 'masakari'


def endpoint(port):
    """The catalog URL of Masakari's v1 API on ``port`` (its routes take
    the project id in the path or not; the catalog leaves it out)."""
    return 'http://127.0.0.1:%d/v1' % port


def masakari_conf(db_url, transport_url, auth_url, password, port, paste):
    """masakari.conf of masakari-api."""
    return {
        'DEFAULT': {
            'use_stderr': True,
            'masakari_api_listen': '127.0.0.1',
            'masakari_api_listen_port': port,
            'masakari_api_workers': 1,
            'transport_url': transport_url,
            'auth_strategy': 'keystone',
            # How the API checks a host against Nova: as this user, through
            # the catalog's compute endpoint.
            'os_privileged_user_name': 'masakari',
            'os_privileged_user_password': password,
            'os_privileged_user_tenant': 'service',
            'os_privileged_user_auth_url': auth_url,
            'nova_catalog_admin_info': 'compute:nova:publicURL',
        },
        'wsgi': {'api_paste_config': paste},
        'database': {'connection': db_url},
        # Its engine's taskflow driver is loaded by the API and db sync
        # too, and refuses to load without a persistence database.
        'taskflow': {'connection': db_url},
        'keystone_authtoken': config.authtoken(auth_url, 'masakari',
                                               password),
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
    }


class MasakariService:
    """Masakari's part of a :class:`vmr_lab.real.services.RealServices`."""

    def __init__(self, rs, service_password):
        self.rs = rs
        self.service_password = service_password
        self.etc = os.path.join(rs.etc, 'masakari')
        self.conf = os.path.join(self.etc, 'masakari.conf')

    def write_config(self):
        rs = self.rs
        os.makedirs(self.etc, exist_ok=True)
        # The release's own paste pipeline (installed with its wheel).
        paste = os.path.join(self.etc, 'api-paste.ini')
        shutil.copy(os.path.join(rs.install.etc, 'masakari', 'api-paste.ini'),
                    paste)
        config.write_ini(self.conf, masakari_conf(
            rs.db.url(DATABASE), rs.mq.url, rs.auth_url,
            self.service_password, rs.ports['masakari'], paste))

    def sync_database(self):
        t0 = time.monotonic()
        run([self.rs.install.bin('masakari-manage'), '--config-file',
             self.conf, 'db', 'sync'],
            os.path.join(self.rs.log_dir, 'masakari-manage.log'))
        self.rs.timings['masakari db sync'] = round(time.monotonic() - t0, 2)

    def serve_api(self):
        """masakari-api on the run's ``masakari`` port (its configuration
        says it); the name of its process."""
        self.rs._spawn('masakari-api', [
            self.rs.install.bin('masakari-api'), '--config-file', self.conf])
        return 'masakari-api'
