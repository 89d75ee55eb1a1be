"""A throw-away PKI and an etcd that speaks TLS only, with etcd auth.

The CA, server and client certificates are generated per test run with
``cryptography`` (valid one day, 2048-bit RSA); nothing is reused between
runs.  :class:`TlsEtcd` runs the lab's etcd (``vmr_lab.etcd``) with client
and peer URLs on ``https://127.0.0.1`` and ``--client-cert-auth``, so every
client needs a certificate signed by the throw-away CA.
"""

import datetime
import ipaddress
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vmr_lab.etcd import EtcdServer


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path, key):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def _write_cert(path, cert):
    with open(path, 'wb') as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))


class Pki:
    """A CA plus certificates it signs, as files in ``directory``."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        self._not_before = now - datetime.timedelta(minutes=5)
        self._not_after = now + datetime.timedelta(days=1)
        self.ca_key = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             'vmr-test-ca')])
        self.ca_cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(self._not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .sign(self.ca_key, hashes.SHA256()))
        self.ca_file = os.path.join(directory, 'ca.pem')
        _write_cert(self.ca_file, self.ca_cert)

    def issue(self, name, common_name, server=False, client=True):
        """Write ``<name>.pem``/``<name>-key.pem``; their paths.

        ``common_name`` None: a subject without CN, the only kind of client
        certificate etcd's HTTP gateway accepts once auth is enabled.
        """
        key = _key()
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'vmr-test')] +
                ([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
                 if common_name else [])))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(self._not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName('localhost'),
                x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        cert_file = os.path.join(self.dir, '%s.pem' % name)
        key_file = os.path.join(self.dir, '%s-key.pem' % name)
        _write_cert(cert_file, cert)
        _write_key(key_file, key)
        return cert_file, key_file


class TlsEtcd(EtcdServer):
    """:class:`EtcdServer` on https with client-certificate auth."""

    scheme = 'https'

    def __init__(self, pki, **kwargs):
        super().__init__(**kwargs)
        self.pki = pki
        self.cert_file, self.key_file = pki.issue(
            'etcd-server-%s' % self.name, 'etcd-server', server=True)
        # The client that administers etcd (etcdctl, readiness checks).
        self.admin_cert, self.admin_key = pki.issue('root', 'root')

    def extra_args(self):
        return ['--cert-file', self.cert_file, '--key-file', self.key_file,
                '--client-cert-auth', '--trusted-ca-file', self.pki.ca_file]

    def health_request_args(self):
        return {'timeout': 1, 'verify': self.pki.ca_file,
                'cert': (self.admin_cert, self.admin_key)}

    def wait_ready(self, timeout=30):
        super().wait_ready(timeout)

    def etcdctl(self, *args, user=None, stdin=None, check=True):
        """``etcdctl`` against this member with the admin certificate."""
        return etcdctl(self.endpoint, *args, user=user, stdin=stdin,
                       check=check, tls=['--cacert', self.pki.ca_file,
                                         '--cert', self.admin_cert,
                                         '--key', self.admin_key])

    def enable_auth(self, root_password, users):
        enable_auth(self.etcdctl, root_password, users)


def etcdctl(endpoint, *args, user=None, stdin=None, check=True, tls=()):
    """Run ``etcdctl``; credentials travel in the environment
    (``ETCDCTL_USER``) and passwords on stdin, never in argv, which any
    local user can read in /proc."""
    cmd = ['etcdctl', '--endpoints', endpoint, '--command-timeout', '10s']
    env = dict(os.environ, ETCDCTL_API='3')
    env.pop('ETCDCTL_USER', None)
    if user:
        env['ETCDCTL_USER'] = user
    proc = subprocess.run(cmd + list(tls) + list(args), capture_output=True,
                          text=True, errors='replace', env=env, timeout=30,
                          input=stdin)
    if check and proc.returncode:
        raise RuntimeError('etcdctl %s failed: %s'
                           % (' '.join(args[:2]), proc.stderr.strip()[-300:]))
    return proc


def enable_auth(run, root_password, users):
    """Create root, and for each ``(user, password, prefixes)`` a user and a
    role ``<user>-role`` with readwrite on every prefix; enable auth.
    ``run(*args, user=, stdin=)`` runs etcdctl against the member."""
    def add_user(name, password):
        run('user', 'add', name, '--interactive=true',
            stdin='%s\n%s\n' % (password, password))
    add_user('root', root_password)
    run('role', 'add', 'root')
    run('user', 'grant-role', 'root', 'root')
    for user, password, prefixes in users:
        add_user(user, password)
        role = '%s-role' % user
        run('role', 'add', role)
        for prefix in prefixes:
            run('role', 'grant-permission', role, '--prefix=true',
                'readwrite', prefix)
        run('user', 'grant-role', user, role)
    run('auth', 'enable')


class AuthEtcd(EtcdServer):
    """A plain-HTTP :class:`EtcdServer` that enables etcd auth once up."""

    root_password = None
    users = ()

    def start(self, wait=True):
        super().start(wait=True)
        if not getattr(self, '_auth_done', False):
            enable_auth(lambda *a, **k: etcdctl(self.endpoint, *a, **k),
                        self.root_password, self.users)
            self._auth_done = True
        return self
