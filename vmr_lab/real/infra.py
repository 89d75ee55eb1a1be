"""Private MariaDB and RabbitMQ instances for one run of the real tier.

Debian's ``mariadb-server`` and ``rabbitmq-server`` packages only provide the
binaries here: each run gets its own data directory, socket, node name and
port under its work directory, so runs never share state with each other or
with a system-wide instance.
"""

import os
import shutil
import socket
import time

from vmr_lab.ports import free_port
from vmr_lab.real.procs import Proc, run, wait_for

DATABASES = ('keystone', 'placement', 'nova_api', 'nova', 'nova_cell0',
             'glance', 'neutron', 'aodh')
DB_USER = 'openstack'
DB_PASSWORD = 'vmr-db-secret'

MISSING = ('{what} not found: install Debian packages with '
           '"apt-get install -y mariadb-server rabbitmq-server"')


def _which(*names, dirs=('/usr/sbin', '/usr/bin', '/usr/lib/rabbitmq/bin')):
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for d in dirs:
            path = os.path.join(d, name)
            if os.access(path, os.X_OK):
                return path
    return None


def mariadb_binaries():
    """(mariadbd, install_db, client) paths; RuntimeError naming the fix."""
    server = _which('mariadbd', 'mysqld')
    install_db = _which('mariadb-install-db', 'mysql_install_db')
    client = _which('mariadb', 'mysql')
    if not (server and install_db and client):
        raise RuntimeError(MISSING.format(what='MariaDB (mariadbd, '
                                          'mariadb-install-db)'))
    return server, install_db, client


def rabbitmq_binary():
    """Path of RabbitMQ's own start script (not Debian's su wrapper)."""
    # /usr/sbin/rabbitmq-server is a wrapper that su's to the rabbitmq user
    # when run as root; the script under /usr/lib runs as whoever calls it.
    path = '/usr/lib/rabbitmq/bin/rabbitmq-server'
    if os.access(path, os.X_OK):
        return path
    found = shutil.which('rabbitmq-server')
    if not found:
        raise RuntimeError(MISSING.format(what='rabbitmq-server'))
    return found


def check_binaries():
    """Raise RuntimeError with one line naming the fix if any is missing."""
    mariadb_binaries()
    rabbitmq_binary()


class MariaDB:
    """A MariaDB server on a unix socket only (``--skip-networking``)."""

    def __init__(self, workdir, databases=DATABASES):
        self.dir = os.path.join(os.path.abspath(workdir), 'mariadb')
        self.datadir = os.path.join(self.dir, 'data')
        self.socket = os.path.join(self.dir, 'mysqld.sock')
        self.log_path = os.path.join(os.path.abspath(workdir), 'logs',
                                     'mariadb.log')
        self.databases = tuple(databases)
        self.proc = None
        self.timings = {}

    def url(self, database):
        """SQLAlchemy URL of ``database`` for the OpenStack services."""
        return ('mysql+pymysql://%s:%s@localhost/%s?unix_socket=%s'
                '&charset=utf8' % (DB_USER, DB_PASSWORD, database,
                                   self.socket))

    def _client(self, sql):
        client = mariadb_binaries()[2]
        run([client, '--no-defaults', '--socket=' + self.socket, '-uroot',
             '-e', sql], self.log_path, timeout=60)

    def _answers(self):
        # The server greets on connect once it accepts clients.
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(1)
            sock.connect(self.socket)
            return len(sock.recv(4)) == 4

    def start(self, timeout=60):
        server, install_db, _ = mariadb_binaries()
        t0 = time.monotonic()
        fresh = not os.path.isdir(os.path.join(self.datadir, 'mysql'))
        if fresh:
            os.makedirs(self.datadir, exist_ok=True)
            run([install_db, '--no-defaults', '--datadir=' + self.datadir,
                 '--user=root', '--auth-root-authentication-method=socket',
                 '--skip-test-db'], self.log_path, timeout=120)
        self.timings['install_db'] = time.monotonic() - t0
        argv = [server, '--no-defaults', '--datadir=' + self.datadir,
                '--socket=' + self.socket, '--skip-networking',
                '--pid-file=' + os.path.join(self.dir, 'mysqld.pid'),
                '--user=root', '--log-error=' + self.log_path + '.err',
                '--character-set-server=utf8',
                '--collation-server=utf8_general_ci',
                '--max-connections=1000', '--skip-log-bin',
                '--innodb-buffer-pool-size=128M',
                # A lab database: durability of each commit does not matter.
                '--innodb-flush-log-at-trx-commit=0', '--sync-binlog=0',
                '--innodb-doublewrite=0']
        self.proc = Proc('mariadb', argv, self.log_path).start()
        wait_for('MariaDB', self._answers, timeout, proc=self.proc)
        self.timings['ready'] = time.monotonic() - t0
        if fresh:
            sql = ["CREATE USER IF NOT EXISTS '%s'@'localhost' IDENTIFIED BY "
                   "'%s'" % (DB_USER, DB_PASSWORD)]
            for db in self.databases:
                sql.append('CREATE DATABASE IF NOT EXISTS %s' % db)
                sql.append("GRANT ALL PRIVILEGES ON %s.* TO '%s'@'localhost'"
                           % (db, DB_USER))
            self._client('; '.join(sql))
        self.timings['databases'] = time.monotonic() - t0
        return self

    def stop(self, timeout=20):
        if self.proc is not None:
            self.proc.stop(timeout)


class RabbitMQ:
    """A RabbitMQ node of our own: node name, ports, cookie and mnesia dir.

    epmd (Erlang's port mapper) is shared by every Erlang node on the
    machine: the first node starts it and it outlives the node.
    """

    def __init__(self, workdir, user='guest',
                 password='guest'):  # noqa: S107 - RabbitMQ's default user
        self.dir = os.path.join(os.path.abspath(workdir), 'rabbitmq')
        self.log_path = os.path.join(os.path.abspath(workdir), 'logs',
                                     'rabbitmq.log')
        self.port = free_port()
        self.dist_port = free_port()
        self.nodename = 'vmr%d@localhost' % self.port
        self.user = user
        self.password = password
        self.proc = None
        self.timings = {}

    @property
    def url(self):
        """oslo.messaging transport URL."""
        return 'rabbit://%s:%s@127.0.0.1:%d/' % (self.user, self.password,
                                                 self.port)

    def env(self):
        env = dict(os.environ)
        env.update({
            'HOME': self.dir,  # where Erlang looks for .erlang.cookie
            'RABBITMQ_NODENAME': self.nodename,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_MNESIA_BASE': os.path.join(self.dir, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(self.dir, 'log'),
            'RABBITMQ_PID_FILE': os.path.join(self.dir, 'rabbitmq.pid'),
            'RABBITMQ_CONFIG_FILE': os.path.join(self.dir, 'rabbitmq'),
            'RABBITMQ_ADVANCED_CONFIG_FILE':
                os.path.join(self.dir, 'advanced.config'),
            'RABBITMQ_ENABLED_PLUGINS_FILE':
                os.path.join(self.dir, 'enabled_plugins'),
            'RABBITMQ_CONF_ENV_FILE': os.path.join(self.dir, 'rabbitmq-env'),
            'RABBITMQ_USE_LONGNAME': 'false',
        })
        return env

    def _answers(self):
        # Ready once the AMQP listener answers the protocol header with a
        # Connection.Start method frame (frame type 1).
        with socket.create_connection(('127.0.0.1', self.port), 1) as sock:
            sock.settimeout(2)
            sock.sendall(b'AMQP\x00\x00\x09\x01')
            return sock.recv(1) == b'\x01'

    def start(self, timeout=90):
        t0 = time.monotonic()
        for sub in ('mnesia', 'log'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        cookie = os.path.join(self.dir, '.erlang.cookie')
        if not os.path.exists(cookie):
            with open(cookie, 'w') as fh:
                fh.write(os.urandom(16).hex().upper())
            os.chmod(cookie, 0o400)
        with open(os.path.join(self.dir, 'rabbitmq.conf'), 'w') as fh:
            fh.write('loopback_users = none\n'
                     'log.console = true\n'
                     'log.console.level = warning\n'
                     'disk_free_limit.absolute = 50MB\n')
        for name, text in (('advanced.config', '[].\n'),
                           ('enabled_plugins', '[].\n'),
                           ('rabbitmq-env', '')):
            with open(os.path.join(self.dir, name), 'w') as fh:
                fh.write(text)
        self.proc = Proc('rabbitmq', [rabbitmq_binary()], self.log_path,
                         env=self.env(), cwd=self.dir).start()
        wait_for('RabbitMQ', self._answers, timeout, proc=self.proc)
        self.timings['ready'] = time.monotonic() - t0
        return self

    def stop(self, timeout=20):
        if self.proc is not None:
            self.proc.stop(timeout)
