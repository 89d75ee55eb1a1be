"""Octavia 19 in the real tier: its API and its controller worker, no amphorae.

Octavia's ``noop_driver`` provider never reports back: a load balancer it
is given stays ``PENDING_CREATE`` for ever (its driver only records the
call and nothing updates the database).  The ``amphora`` provider --
Octavia's default, the one operators run -- does the real work in
``octavia-worker``: the API casts each change over RabbitMQ, the worker
runs Octavia's own taskflow flows (create the amphora, plug the VIP, push
the listeners, mark everything ACTIVE).  With Octavia's no-op amphora,
compute, network, image and volume drivers those flows run to the end
without a VM: load balancers really go ``PENDING_CREATE`` -> ``ACTIVE``,
every change really locks the load balancer (``PENDING_UPDATE``, 409 to
anyone else) until the worker has finished it.

What no-op drivers cannot give is health: no amphora sends heartbeats, so
the health manager (not run here) would never change an operating status.
A member keeps what the API gave it at creation: ``NO_MONITOR`` in a pool
without a health monitor (enabled or not), ``OFFLINE`` in one with a
monitor.  The load balancer, listeners and pools stay ``OFFLINE``.

The VIP (no-op network driver) is an address on the subnet asked for but
no Neutron port: nothing here carries traffic.

    rs = RealServices(workdir, services=('octavia',))
"""

import os
import subprocess
import time

from vmr_lab.real import config
from vmr_lab.real.procs import run

#: where the amphora provider's API casts and octavia-worker consumes
WORKER_TOPIC = 'octavia_provisioning_v2'
#: Octavia's own no-op drivers: no Nova VM, no Neutron port, no Glance image
NOOP_DRIVERS = {
    'amphora_driver': 'amphora_noop_driver',
    'compute_driver': 'compute_noop_driver',
    'network_driver': 'network_noop_driver',
    'image_driver': 'image_noop_driver',
    'volume_driver': 'volume_noop_driver',
}
#: 32 URL-safe characters: the Fernet key amphora certificates are kept with
CERTS_PASSPHRASE = 'vmr-real-tier-amphora-cert-key00'


def make_ca(directory):
    """A throw-away CA (certificate and key) for the amphora certificates.

    The worker signs one certificate per amphora it "creates", even with
    the no-op drivers; Octavia's default CA paths are the host's snakeoil
    files, which need not exist.
    """
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, 'ca.pem')
    key = os.path.join(directory, 'ca.key')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-days', '30', '-subj', '/CN=vmr-real-octavia',
                    '-keyout', key, '-out', cert],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


def octavia_conf(db_url, transport_url, auth_url, password, state, ca):
    """octavia.conf of octavia-api and octavia-worker."""
    ca_cert, ca_key = ca
    return {
        'DEFAULT': {'use_stderr': True, 'transport_url': transport_url},
        'database': {'connection': db_url},
        'api_settings': {
            'auth_strategy': 'keystone',
            # Octavia's defaults, said here: the amphora provider (which
            # the worker runs), nothing else.
            'enabled_provider_drivers':
                'amphora:The Octavia Amphora driver.',
            'default_provider_driver': 'amphora',
        },
        'keystone_authtoken': config.authtoken(auth_url, 'octavia',
                                               password),
        # What the real drivers would reach Nova, Neutron and Glance with;
        # the no-op ones never use it.
        'service_auth': config.service_auth(auth_url, 'octavia', password),
        # client_ca: the CA a real amphora would trust the worker's client
        # certificate by; the worker reads it for each amphora it builds.
        'controller_worker': dict(NOOP_DRIVERS, workers=1,
                                  loadbalancer_topology='SINGLE',
                                  client_ca=ca_cert),
        'certificates': {
            'cert_generator': 'local_cert_generator',
            'ca_certificate': ca_cert, 'ca_private_key': ca_key,
            'server_certs_key_passphrase': CERTS_PASSPHRASE,
            'storage_path': os.path.join(state, 'certificates'),
        },
        'oslo_messaging': {'topic': WORKER_TOPIC},
        'oslo_concurrency': {'lock_path': os.path.join(state, 'lock')},
        'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
    }


class OctaviaService:
    """Octavia's part of a :class:`vmr_lab.real.services.RealServices`."""

    def __init__(self, rs, service_password):
        self.rs = rs
        self.service_password = service_password
        self.conf = os.path.join(rs.etc, 'octavia', 'octavia.conf')
        self.state = os.path.join(rs.state, 'octavia')

    def write_config(self):
        rs = self.rs
        ca = make_ca(os.path.join(self.state, 'ca'))
        config.write_ini(self.conf, octavia_conf(
            rs.db.url('octavia'), rs.mq.url, rs.auth_url,
            self.service_password, self.state, ca))

    def sync_database(self):
        t0 = time.monotonic()
        run([self.rs.install.bin('octavia-db-manage'), '--config-file',
             self.conf, 'upgrade', 'head'],
            os.path.join(self.rs.log_dir, 'octavia-db-manage.log'))
        self.rs.timings['octavia db sync'] = round(time.monotonic() - t0, 2)

    def serve_api(self, port):
        """octavia-api under gunicorn (its request log: gunicorn's access
        log, the only place its request ids are written)."""
        # octavia.wsgi.api reads the default config locations
        # (/etc/octavia): gunicorn calls the app factory with our file.
        self.rs._gunicorn('octavia-api', 'octavia.api.app:setup_app(argv=%r)'
                          % ['octavia-api', '--config-file', self.conf],
                          port, {}, access_log=True)
        return 'octavia-api'

    def start_worker(self):
        self._t0 = time.monotonic()
        self.rs._spawn('octavia-worker', [
            self.rs.install.bin('octavia-worker'), '--config-file',
            self.conf])

    def wait_worker(self):
        self.rs._wait_consuming(WORKER_TOPIC, self.rs.procs['octavia-worker'])
        self.rs.timings['octavia worker consuming'] = round(
            time.monotonic() - self._t0, 2)
