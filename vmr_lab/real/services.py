"""Run Keystone, Placement, Nova, Glance, Neutron (and Aodh) from their releases.

:class:`RealServices` starts a private MariaDB and RabbitMQ, writes every
service's configuration under ``workdir/etc``, syncs the databases, serves
the APIs under gunicorn on 127.0.0.1, fills the catalog, creates the
networks (``public`` routed to ``private``), then starts nova-conductor,
nova-scheduler and one nova-compute per simulated host (our ``vmrfake``
driver).  Neutron is its API process only: ML2 with our ``vmrfake``
mechanism driver binds every port, the ``router`` plugin keeps routers and
floating IPs; no agent runs.  Every process has its own process group and log file under
``workdir/logs``; :meth:`RealServices.stop` ends all of them by PID.

Aodh runs only when asked for (``services=('aodh',)``): aodh-api under
gunicorn, aodh-evaluator, aodh-notifier and aodh-listener with their own
database, and Nova publishes its notifications, which our event bridge
(``eventbridge.py``, in Ceilometer's place) turns into the events
aodh-listener evaluates.

Cinder runs only when asked for (``services=('cinder',)``): cinder-api
under gunicorn, cinder-scheduler and cinder-volume (``cinder.py``: Cinder's
NFS driver on a local directory), and Nova gets its ``[cinder]`` section.
Mistral too (``services=('mistral',)``, see ``mistral.py``): its api,
engine and executor in one ``mistral-server`` with their own database.
Octavia runs only when asked for (``services=('octavia',)``): octavia-api
under gunicorn and octavia-worker with Octavia's no-op drivers
(:mod:`vmr_lab.real.octavia`), its own database, ``load-balancer`` in the
catalog.  Masakari too (``services=('masakari',)``, see ``masakari.py``):
its API alone, ``instance-ha`` in the catalog.
"""

import atexit
import concurrent.futures
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests
import yaml

from vmr_lab.ports import free_port
from vmr_lab.real import catalog, config
from vmr_lab.real import cinder as cinder_svc
from vmr_lab.real import masakari as real_masakari
from vmr_lab.real import mistral as real_mistral
from vmr_lab.real.infra import DATABASES, MariaDB, RabbitMQ
from vmr_lab.real.install import ensure_installed
from vmr_lab.real.octavia import OctaviaService
from vmr_lab.real.procs import Proc, ReadinessTimeout, run, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
#: Nova's notifications -> Ceilometer-style events on Aodh's topic
EVENT_BRIDGE = os.path.join(HERE, 'eventbridge.py')
#: services that run only when asked for (they cost start-up time)
OPTIONAL_SERVICES = ('aodh', 'cinder', 'masakari', 'mistral', 'octavia')
AODH_DAEMONS = ('aodh-evaluator', 'aodh-notifier', 'aodh-listener')
SERVICE_PASSWORD = 'vmr-service-secret'
#: gunicorn's access log line: method, path, status, bytes, request id, time
ACCESS_LOG_FORMAT = ('%(h)s "%(r)s" status: %(s)s len: %(B)s '
                     '%({x-openstack-request-id}o)s time: %(L)s')
DEMO_PASSWORD = 'vmr-demo-secret'
# Exits 0 once an RPC server consumes the topic's queue.
QUEUE_CHECK = '''
import sys, amqp
c = amqp.Connection(sys.argv[1], userid='guest', password='guest')
c.connect()
_, _, consumers = c.channel().queue_declare(sys.argv[2], passive=True)
sys.exit(0 if consumers else 1)
'''


def _http_answers(url):
    # Any HTTP answer, even an error status, means the server is up.
    requests.get(url, timeout=2).close()
    return True


class RealServices:
    """A small real OpenStack on 127.0.0.1 with fake hypervisors."""

    #: the Glance image every test boots from
    image_name = 'cirros'

    def __init__(self, workdir, hosts=('compute-1', 'compute-2', 'compute-3'),
                 install=None,
                 admin_password='vmr-admin-secret',  # noqa: S107 - lab cloud
                 log=print, services=()):
        unknown = sorted(set(services) - set(OPTIONAL_SERVICES))
        if unknown:
            raise ValueError('unknown optional service(s) %s; the real tier '
                             'can add %s' % (', '.join(unknown),
                                             ', '.join(OPTIONAL_SERVICES)))
        #: the optional services this run starts (``aodh``)
        self.services = tuple(sorted(set(services)))
        self.workdir = os.path.abspath(workdir)
        self.hosts = tuple(hosts)
        self.install = install
        self.admin_password = admin_password
        self.log = log
        self.log_dir = os.path.join(self.workdir, 'logs')
        self.etc = os.path.join(self.workdir, 'etc')
        self.state = os.path.join(self.workdir, 'state')
        self.db = MariaDB(self.workdir, databases=DATABASES + tuple(
            db for db in ('cinder', 'octavia', real_masakari.DATABASE,
                          real_mistral.DATABASE) if db in self.services))
        self.mq = RabbitMQ(self.workdir)
        self.ports = {name: free_port() for name in
                      ('keystone', 'placement', 'nova', 'glance', 'neutron')
                      + self.services}
        self.endpoints = {
            'identity': 'http://127.0.0.1:%d/v3' % self.ports['keystone'],
            'placement': 'http://127.0.0.1:%d' % self.ports['placement'],
            'compute': 'http://127.0.0.1:%d/v2.1' % self.ports['nova'],
            'image': 'http://127.0.0.1:%d' % self.ports['glance'],
            'network': 'http://127.0.0.1:%d' % self.ports['neutron'],
        }
        if self.aodh:
            self.endpoints['alarming'] = ('http://127.0.0.1:%d'
                                          % self.ports['aodh'])
        if self.cinder:
            self.endpoints['block-storage'] = ('http://127.0.0.1:%d/v3'
                                               % self.ports['cinder'])
        if self.mistral:
            self.endpoints[real_mistral.SERVICE_TYPE] = real_mistral.endpoint(
                self.ports['mistral'])
        #: Octavia's processes and files when this run has it, else None
        self.octavia = OctaviaService(self, SERVICE_PASSWORD) \
            if 'octavia' in self.services else None
        if self.octavia:
            self.endpoints['load-balancer'] = ('http://127.0.0.1:%d'
                                               % self.ports['octavia'])
        #: Masakari's API when this run has it, else None
        self.masakari = real_masakari.MasakariService(
            self, SERVICE_PASSWORD) if 'masakari' in self.services else None
        if self.masakari:
            self.endpoints[real_masakari.SERVICE_TYPE] = \
                real_masakari.endpoint(self.ports['masakari'])
        self.procs = {}       # name -> Proc, every long-running child
        self.computes = {}    # host -> Proc
        # host -> TcpProxy: each nova-compute reaches RabbitMQ through its
        # own proxy, so a partition can cut exactly that host.
        self.rabbit_proxies = {}
        self.timings = {}
        self.image_id = None
        #: name -> id of what :func:`catalog.create_networks` made
        self.networks = {}
        self._stopped = False

    @property
    def auth_url(self):
        return self.endpoints['identity']

    @property
    def aodh(self):
        """Whether this run has Aodh."""
        return 'aodh' in self.services

    @property
    def cinder(self):
        """Whether this run has Cinder."""
        return 'cinder' in self.services

    @property
    def mistral(self):
        """Whether this run has Mistral."""
        return 'mistral' in self.services

    # -- helpers -----------------------------------------------------------

    def _phase(self, name, t0):
        self.timings[name] = round(time.monotonic() - t0, 2)
        self.log('real tier: %-22s %6.2f s' % (name, self.timings[name]))

    def _conf(self, service, name='%s.conf'):
        return os.path.join(self.etc, service, name % service)

    def _discover_hosts(self, tries=3):
        """Map the computes to the cell.  nova-scheduler maps new hosts
        every few seconds too, and two discoveries at once collide (Nova's
        HostMappingExists, exit code 2): then the other one mapped them,
        and a run after it finds the rest."""
        for attempt in range(1, tries + 1):
            try:
                self._manage('nova', 'cell_v2', 'discover_hosts')
                return
            except RuntimeError:
                if attempt == tries:
                    raise
                self.log('real tier: cell_v2 discover_hosts met '
                         "nova-scheduler's own discovery; again")

    def _manage(self, service, *args):
        tool = '%s-manage' % service
        run([self.install.bin(tool), '--config-file', self._conf(service)]
            + list(args), os.path.join(self.log_dir, tool + '.log'))

    def _spawn(self, name, argv, env=None):
        proc = Proc(name, argv, os.path.join(self.log_dir, name + '.log'),
                    env=env, cwd=self.workdir).start()
        self.procs[name] = proc
        return proc

    def _gunicorn(self, name, app, port, env, workers=1, access_log=False,
                  argv=None):
        # The apps parse sys.argv with oslo.config, so gunicorn gets its
        # settings (app included) from a config file named in the
        # environment and an argv of its bare name.
        conf = os.path.join(self.etc, 'gunicorn-%s.py' % name)
        with open(conf, 'w') as fh:
            fh.write('wsgi_app = %r\nbind = %r\nworkers = %d\n'
                     'threads = 8\nworker_class = "gthread"\n'
                     'timeout = 120\ngraceful_timeout = 2\n'
                     'control_socket_disable = True\n'
                     # nova-api asks Neutron for the ports of up to 150
                     # servers in one URL (~7 KB): gunicorn's default
                     # 4094 made nova-api answer 500 to lists of ~85+
                     'limit_request_line = 8190\n'
                     % (app, '127.0.0.1:%d' % port, workers))
            if access_log:
                # For an API without a request log of its own (Neutron):
                # one line per request with its x-openstack-request-id.
                fh.write('accesslog = "-"\naccess_log_format = %r\n'
                         % ACCESS_LOG_FORMAT)
            if argv:
                # For an app that reads its options from sys.argv only
                # (Cinder): the workers are forked after this file ran.
                fh.write('import sys\nsys.argv[1:] = %r\n' % list(argv))
        environ = dict(os.environ, GUNICORN_CMD_ARGS='--config ' + conf,
                       **env)
        return self._spawn(name, [self.install.bin('gunicorn')], env=environ)

    def admin(self):
        """An openstacksdk connection as the cloud's admin."""
        return catalog.connect(self.auth_url, 'admin', self.admin_password,
                               'admin')

    # -- start -------------------------------------------------------------

    def start(self):
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        t_all = time.monotonic()
        if self.install is None:
            self.install = ensure_installed(log=self.log)
        for d in (self.log_dir, self.etc, self.state):
            os.makedirs(d, exist_ok=True)
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: s.start(), (self.db, self.mq)))
        self._phase('mariadb+rabbitmq', t0)
        t0 = time.monotonic()
        self._write_configs()
        self._sync_databases()
        self._phase('config+db sync', t0)
        t0 = time.monotonic()
        self._serve_apis()
        self._phase('API servers', t0)
        t0 = time.monotonic()
        conn = self.admin()
        services = [
            ('nova', 'nova', 'compute', self.endpoints['compute']),
            ('placement', 'placement', 'placement',
             self.endpoints['placement']),
            ('glance', 'glance', 'image', self.endpoints['image']),
            ('neutron', 'neutron', 'network', self.endpoints['network'])]
        if self.aodh:
            services.append(('aodh', 'aodh', 'alarming',
                             self.endpoints['alarming']))
        if self.cinder:
            services.extend(('cinder', name, kind,
                             self.endpoints['block-storage'])
                            for name, kind in cinder_svc.CATALOG_TYPES)
        if self.mistral:
            services.append(('mistral', 'mistral', real_mistral.SERVICE_TYPE,
                             self.endpoints[real_mistral.SERVICE_TYPE]))
        if self.octavia:
            services.append(('octavia', 'octavia', 'load-balancer',
                             self.endpoints['load-balancer']))
        if self.masakari:
            services.append(('masakari', 'masakari',
                             real_masakari.SERVICE_TYPE,
                             self.endpoints[real_masakari.SERVICE_TYPE]))
        catalog.register_services(conn, services, SERVICE_PASSWORD)
        catalog.create_demo_project(conn, DEMO_PASSWORD)
        conn = self.admin()  # a new token, whose catalog has the services
        self._phase('catalog+users', t0)
        t0 = time.monotonic()
        nova_conf = ['--config-file', self._conf('nova')]
        for binary in ('nova-conductor', 'nova-scheduler'):
            self._spawn(binary, [self.install.bin(binary)] + nova_conf)
        if self.aodh:
            self._start_aodh_daemons()
        if self.cinder:
            t_cinder = time.monotonic()
            cinder_svc.start_daemons(self)
        if self.mistral:
            self._start_mistral()
        if self.octavia:
            self.octavia.start_worker()
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            flavors = pool.submit(catalog.create_flavors, conn)
            image = pool.submit(catalog.create_image, conn, os.path.join(
                self.state, 'cirros.img'))
            networks = pool.submit(self._create_networks)
            for topic, name in (('conductor', 'nova-conductor'),
                                ('scheduler', 'nova-scheduler')):
                self._wait_consuming(topic, self.procs[name])
            if self.aodh:
                self._wait_aodh_daemons()
            if self.cinder:
                cinder_svc.wait_ready(self)
                self.timings['cinder daemons ready'] = round(
                    time.monotonic() - t_cinder, 2)
            if self.mistral:
                self._wait_mistral()
            if self.octavia:
                self.octavia.wait_worker()
            flavors.result()
            self.image_id = image.result()
            self.networks = networks.result()
        self._phase('conductor+scheduler+networks', t0)
        t0 = time.monotonic()
        for host in self.hosts:
            self.start_compute(host, wait=False)
        for host in self.hosts:
            self.wait_compute_up(host)
        self._discover_hosts()
        self._phase('computes up+mapped', t0)
        self._phase('total', t_all)

    def _write_configs(self):
        inst = self.install
        for service, paste in (('nova', 'api-paste.ini'),
                               ('glance', 'glance-api-paste.ini'),
                               ('neutron', 'api-paste.ini')):
            os.makedirs(os.path.join(self.etc, service), exist_ok=True)
            shutil.copy(os.path.join(inst.etc, service, paste),
                        os.path.join(self.etc, service, paste))
        config.write_ini(self._conf('keystone'), config.keystone(
            self.db.url('keystone'), os.path.join(self.etc, 'keystone')))
        config.write_ini(self._conf('placement'), config.placement(
            self.db.url('placement'), self.auth_url, SERVICE_PASSWORD))
        config.write_ini(self._conf('glance', '%s-api.conf'), config.glance(
            self.db.url('glance'), self.auth_url, SERVICE_PASSWORD,
            os.path.join(self.state, 'glance'),
            os.path.join(self.etc, 'glance', 'glance-api-paste.ini')))
        nova = config.nova(
            {db: self.db.url(db) for db in ('nova_api', 'nova', 'nova_cell0')},
            self.mq.url, self.auth_url, SERVICE_PASSWORD,
            os.path.join(self.state, 'nova'),
            os.path.join(self.etc, 'nova', 'api-paste.ini'))
        if self.aodh:
            nova.update(config.nova_notifications())
        if self.cinder:
            nova.update(cinder_svc.nova_overlay(self.auth_url,
                                                SERVICE_PASSWORD))
            cinder_svc.write_configs(self, SERVICE_PASSWORD)
        config.write_ini(self._conf('nova'), nova)
        if self.aodh:
            paste = os.path.join(self.etc, 'aodh', 'api-paste.ini')
            config.write_ini(self._conf('aodh'), config.aodh(
                self.db.url('aodh'), self.mq.url, self.auth_url,
                SERVICE_PASSWORD, paste))
            with open(os.path.join(inst.site_packages, 'aodh', 'api',
                                   'api-paste.ini')) as fh:
                text = config.aodh_paste(fh.read(), self._conf('aodh'))
            with open(paste, 'w') as fh:
                fh.write(text)
        if self.mistral:
            config.write_ini(self._conf('mistral'), real_mistral.conf(
                self.db.url(real_mistral.DATABASE), self.mq.url,
                self.auth_url, SERVICE_PASSWORD, self.ports['mistral']))
        if self.octavia:
            self.octavia.write_config()
        if self.masakari:
            self.masakari.write_config()
        config.write_ini(self._conf('neutron'), config.neutron(
            self.db.url('neutron'), self.mq.url, self.auth_url,
            SERVICE_PASSWORD, os.path.join(self.state, 'neutron'),
            os.path.join(self.etc, 'neutron', 'api-paste.ini')))
        config.write_ini(os.path.join(self.etc, 'neutron', 'ml2_conf.ini'),
                         config.ml2())

    def _sync_databases(self):
        def keystone():
            self._manage('keystone', 'db_sync')
            for step in ('fernet_setup', 'credential_setup'):
                self._manage('keystone', step, '--keystone-user', 'root',
                             '--keystone-group', 'root')
            url = self.auth_url
            self._manage('keystone', 'bootstrap', '--bootstrap-password',
                         self.admin_password, '--bootstrap-admin-url', url,
                         '--bootstrap-internal-url', url,
                         '--bootstrap-public-url', url,
                         '--bootstrap-region-id', config.REGION)

        def nova():
            self._manage('nova', 'api_db', 'sync')
            self._manage('nova', 'cell_v2', 'map_cell0', '--database_connection',
                         self.db.url('nova_cell0'))
            self._manage('nova', 'cell_v2', 'create_cell', '--name', 'cell1')
            self._manage('nova', 'db', 'sync')

        def glance():
            run([self.install.bin('glance-manage'), '--config-file',
                 self._conf('glance', '%s-api.conf'), 'db_sync'],
                os.path.join(self.log_dir, 'glance-manage.log'))

        def neutron():
            t0 = time.monotonic()
            run([self.install.bin('neutron-db-manage'), '--config-file',
                 self._conf('neutron'), '--config-file',
                 os.path.join(self.etc, 'neutron', 'ml2_conf.ini'),
                 'upgrade', 'heads'],
                os.path.join(self.log_dir, 'neutron-db-manage.log'))
            self.timings['neutron db sync'] = round(time.monotonic() - t0, 2)

        def aodh():
            t0 = time.monotonic()
            run([self.install.bin('aodh-dbsync'), '--config-file',
                 self._conf('aodh')],
                os.path.join(self.log_dir, 'aodh-dbsync.log'))
            self.timings['aodh db sync'] = round(time.monotonic() - t0, 2)

        def cinder():
            t0 = time.monotonic()
            run([self.install.bin('cinder-manage'), '--config-file',
                 cinder_svc.conf_path(self), 'db', 'sync'],
                os.path.join(self.log_dir, 'cinder-manage.log'))
            self.timings['cinder db sync'] = round(time.monotonic() - t0, 2)

        with concurrent.futures.ThreadPoolExecutor(7) as pool:
            jobs = [pool.submit(keystone), pool.submit(nova),
                    pool.submit(glance), pool.submit(neutron),
                    pool.submit(self._manage, 'placement', 'db', 'sync')]
            if self.aodh:
                jobs.append(pool.submit(aodh))
            if self.cinder:
                jobs.append(pool.submit(cinder))
            if self.mistral:
                jobs.append(pool.submit(self._sync_mistral))
            if self.octavia:
                jobs.append(pool.submit(self.octavia.sync_database))
            if self.masakari:
                jobs.append(pool.submit(self.masakari.sync_database))
            for job in jobs:
                job.result()

    def _serve_apis(self):
        p = self.ports
        self._gunicorn('keystone', 'keystone.wsgi.api:application',
                       p['keystone'], {
                           'OS_KEYSTONE_CONFIG_DIR':
                               os.path.join(self.etc, 'keystone'),
                           'OS_KEYSTONE_CONFIG_FILES': 'keystone.conf'})
        self._gunicorn('placement', 'placement.wsgi.api:application',
                       p['placement'], {'OS_PLACEMENT_CONFIG_DIR':
                                        os.path.join(self.etc, 'placement')})
        self._gunicorn('nova-api', 'nova.wsgi.osapi_compute:application',
                       p['nova'], {
                           'OS_NOVA_CONFIG_DIR': os.path.join(self.etc, 'nova'),
                           'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf'},
                       workers=2)
        self._gunicorn('glance-api', 'glance.wsgi.api:application',
                       p['glance'], {'OS_GLANCE_CONFIG_DIR':
                                     os.path.join(self.etc, 'glance')})
        self._gunicorn('neutron-api', 'neutron.wsgi.api:application',
                       p['neutron'], {
                           'OS_NEUTRON_CONFIG_DIR':
                               os.path.join(self.etc, 'neutron'),
                           'OS_NEUTRON_CONFIG_FILES':
                               'neutron.conf;ml2_conf.ini'},
                       # as nova-api, and as Neutron's own api_workers
                       # would on 2 cores: with one, 79 of 578 requests
                       # of an evacuation run took over 0.5 s (2026-12-07)
                       workers=2, access_log=True)
        apis = [('keystone', p['keystone']), ('placement', p['placement']),
                ('nova-api', p['nova']), ('glance-api', p['glance']),
                ('neutron-api', p['neutron'])]
        if self.aodh:
            # Aodh's WSGI module (aodh.wsgi.api) reads only the default
            # config locations (/etc/aodh): gunicorn calls the factory
            # with our file instead.
            self._gunicorn('aodh-api', 'aodh.api.app:build_wsgi_app(argv=%r)'
                           % ['--config-file', self._conf('aodh')],
                           p['aodh'], {}, access_log=True)
            apis.append(('aodh-api', p['aodh']))
        if self.cinder:
            self._gunicorn('cinder-api', 'cinder.wsgi.api:application',
                           p['cinder'], {}, argv=[
                               '--config-file', cinder_svc.conf_path(self)])
            apis.append(('cinder-api', p['cinder']))
        if self.octavia:
            apis.append((self.octavia.serve_api(p['octavia']),
                         p['octavia']))
        if self.masakari:
            apis.append((self.masakari.serve_api(),
                         p['masakari']))
        for name, port in apis:
            url = 'http://127.0.0.1:%d/' % port
            wait_for(name, lambda u=url: _http_answers(u), 120, 0.2,
                     self.procs[name])

    # -- Aodh --------------------------------------------------------------

    def _start_aodh_daemons(self):
        """aodh-evaluator, -notifier and -listener, and the event bridge."""
        self._aodh_t0 = time.monotonic()
        for binary in AODH_DAEMONS:
            self._spawn(binary, [self.install.bin(binary), '--config-file',
                                 self._conf('aodh')])
        self._spawn('eventbridge', [
            self.install.python, EVENT_BRIDGE, '--transport-url', self.mq.url,
            '--topic', config.NOVA_NOTIFICATION_TOPIC,
            '--event-topic', config.AODH_EVENT_TOPIC])

    def _wait_aodh_daemons(self):
        """Until each reads its queue (notifications of priority sample
        for Aodh's two, info for the bridge)."""
        for queue, name in (
                (config.AODH_EVENT_TOPIC + '.sample', 'aodh-listener'),
                (config.AODH_NOTIFIER_TOPIC + '.sample', 'aodh-notifier'),
                (config.NOVA_NOTIFICATION_TOPIC + '.info', 'eventbridge')):
            self._wait_consuming(queue, self.procs[name])
        if not self.procs['aodh-evaluator'].alive():
            raise RuntimeError('aodh-evaluator exited; see %s'
                               % self.procs['aodh-evaluator'].log_path)
        self.timings['aodh daemons consuming'] = round(
            time.monotonic() - self._aodh_t0, 2)

    # -- Mistral -----------------------------------------------------------

    def _sync_mistral(self):
        self.timings['mistral db sync'] = real_mistral.sync_database(
            self.install, self._conf('mistral'), self.log_dir)

    def _start_mistral(self):
        self._mistral_t0 = time.monotonic()
        self._spawn('mistral', real_mistral.server_argv(
            self.install, self._conf('mistral')))

    def _wait_mistral(self):
        """Until the API answers and the engine and executor consume."""
        proc = self.procs['mistral']
        wait_for('mistral-api', lambda: _http_answers(
            self.endpoints[real_mistral.SERVICE_TYPE]), 120, 0.2, proc)
        for topic in (real_mistral.ENGINE_TOPIC, real_mistral.EXECUTOR_TOPIC):
            self._wait_consuming(topic, proc)
        self.timings['mistral up'] = round(
            time.monotonic() - self._mistral_t0, 2)

    def aodh_request(self, method, path, conn=None, **kwargs):
        """A call to Aodh's API (``/v2/alarms``...) as ``conn`` (admin by
        default); keystoneauth raises on an error status."""
        if not self.aodh:
            raise RuntimeError('this real tier runs without Aodh: start it '
                               "with services=('aodh',)")
        conn = conn or self.admin()
        return conn.session.request(self.endpoints['alarming'] + path,
                                    method, **kwargs)

    def create_alarm(self, body, conn=None):
        """POST ``body`` to Aodh's ``/v2/alarms``; the created alarm."""
        return self.aodh_request('POST', '/v2/alarms', conn,
                                 json=body).json()

    def get_alarm(self, alarm_id, conn=None):
        return self.aodh_request('GET', '/v2/alarms/%s' % alarm_id,
                                 conn).json()

    def delete_alarm(self, alarm_id, conn=None):
        self.aodh_request('DELETE', '/v2/alarms/%s' % alarm_id, conn)

    def _create_networks(self):
        t0 = time.monotonic()
        networks = catalog.create_networks(self.admin(),
                                           config.PUBLIC_PHYSNET)
        self.timings['networks'] = round(time.monotonic() - t0, 2)
        return networks

    def _wait_consuming(self, topic, proc, timeout=120):
        def consuming():
            return subprocess.run(
                [self.install.python, '-c', QUEUE_CHECK,
                 '127.0.0.1:%d' % self.mq.port, topic],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0
        wait_for('%s consuming' % proc.name, consuming, timeout, 0.3, proc)

    # -- computes ----------------------------------------------------------

    def compute_state_path(self, host):
        return os.path.join(self.state, host)

    def start_compute(self, host, wait=True, timeout=120, _again=True):
        """Start (or restart) the nova-compute of ``host``."""
        old = self.computes.get(host)
        if old is not None and old.alive():
            raise RuntimeError('nova-compute of %s is already running (pid %d)'
                               % (host, old.pid))
        state = self.compute_state_path(host)
        conf = os.path.join(self.etc, 'nova', 'compute-%s.conf' % host)
        overlay = config.nova_compute(host, state)
        overlay['DEFAULT']['transport_url'] = self.mq.url.replace(
            ':%d/' % self.mq.port,
            ':%d/' % self.compute_rabbit_proxy(host).port)
        config.write_ini(conf, overlay)
        os.makedirs(os.path.join(state, 'instances'), exist_ok=True)
        proc = self._spawn('nova-compute-%s' % host, [
            self.install.bin('nova-compute'), '--config-file',
            self._conf('nova'), '--config-file', conf])
        proc.since = datetime.datetime.utcnow() - datetime.timedelta(
            seconds=1)
        self.computes[host] = proc
        if wait:
            try:
                self.wait_compute_up(host, timeout)
            except ReadinessTimeout:
                # Nova 34's start-up sometimes dies reading CONF.database
                # in a loaded process ("dictionary changed size during
                # iteration"): a race of Nova's, not the test's; once more
                if not _again or proc.alive() or \
                        not self._died_of_start_race(proc):
                    raise
                self.log('real tier: nova-compute of %s died of Nova\'s '
                         'start-up race; starting it again' % host)
                return self.start_compute(host, wait, timeout, _again=False)
        return proc

    @staticmethod
    def _died_of_start_race(proc):
        try:
            with open(proc.log_path, errors='replace') as fh:
                return 'dictionary changed size during iteration' in \
                    fh.read()[-20000:]
        except OSError:
            return False

    def wait_compute_up(self, host, timeout=120):
        """Until ``host`` reports to Nova and has its resource provider."""
        proc = self.computes[host]
        conn = self.admin()

        def reported():
            for svc in conn.compute.services(binary='nova-compute',
                                             host=host):
                updated = datetime.datetime.fromisoformat(
                    str(svc.updated_at).rstrip('Z')) if svc.updated_at \
                    else None
                if svc.state == 'up' or (svc.is_forced_down and updated
                                         and updated > proc.since):
                    return True
            return False

        def has_provider():
            return list(conn.placement.resource_providers(name=host))

        wait_for('nova-compute %s up' % host, reported, timeout, 0.3, proc)
        wait_for('resource provider %s' % host, has_provider, timeout, 0.3,
                 proc)

    def compute_rabbit_proxy(self, host):
        """The TCP proxy ``host``'s nova-compute reaches RabbitMQ through."""
        proxy = self.rabbit_proxies.get(host)
        if proxy is None:
            from vmr_lab.netproxy import TcpProxy
            proxy = TcpProxy(0, '127.0.0.1', self.mq.port)
            proxy.start()
            self.rabbit_proxies[host] = proxy
        return proxy

    def log_text(self, name):
        """The log of process ``name`` (``nova-api``, ``keystone`` ...)."""
        with open(os.path.join(self.log_dir, name + '.log'),
                  errors='replace') as fh:
            return fh.read()

    def compute_pid(self, host):
        proc = self.computes.get(host)
        return proc.pid if proc is not None and proc.alive() else None

    def kill_compute(self, host):
        """SIGKILL ``host``'s nova-compute: the hypervisor and guests die."""
        self.computes[host].kill()

    def stop_compute(self, host):
        """SIGSTOP ``host``'s nova-compute (a hung kernel)."""
        self.computes[host].signal(signal.SIGSTOP)

    def cont_compute(self, host):
        """SIGCONT after :meth:`stop_compute`."""
        self.computes[host].signal(signal.SIGCONT)

    # -- faults of the services themselves (tox -e chaos-real) --------------

    #: what :meth:`restart` knows how to restart and wait for
    #: the HTTP APIs :meth:`restart` waits for, by process: their port
    RESTARTABLE_APIS = {'keystone': 'keystone', 'placement': 'placement',
                        'nova-api': 'nova', 'glance-api': 'glance',
                        'neutron-api': 'neutron'}
    RESTARTABLE = tuple(sorted(('mariadb', 'nova-conductor', 'nova-scheduler',
                                'rabbitmq') + tuple(RESTARTABLE_APIS)))

    def restart(self, name, timeout=120, down=0.0):
        """Stop ``name`` (SIGTERM, SIGKILL after 10 s), wait ``down``
        seconds, start it again on the same port, files and data, and wait
        until it serves again: a service restarted under VMR's recoveries.
        Returns the seconds it was away."""
        if name not in self.RESTARTABLE:
            raise ValueError('cannot restart %r: the real tier restarts %s'
                             % (name, ', '.join(self.RESTARTABLE)))
        t0 = time.monotonic()
        infra = {'mariadb': self.db, 'rabbitmq': self.mq}.get(name)
        if infra is not None:
            infra.stop()
            time.sleep(down)
            infra.start(timeout)
            return round(time.monotonic() - t0, 2)
        proc = self.procs[name]
        proc.stop()
        time.sleep(down)
        proc.start()
        if name in self.RESTARTABLE_APIS:
            url = 'http://127.0.0.1:%d/' % self.ports[
                self.RESTARTABLE_APIS[name]]
            wait_for(name, lambda: _http_answers(url), timeout, 0.2, proc)
        else:
            self._wait_consuming(name.split('-', 1)[1], proc, timeout)
        return round(time.monotonic() - t0, 2)

    def guests_journal(self, host):
        return os.path.join(os.environ.get('VMR_REAL_GUESTS_DIR') or
                            self.compute_state_path(host), 'guests.jsonl')

    # -- stop --------------------------------------------------------------

    def stop(self, timeout=5.0):
        """Stop everything this object started (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        t0 = time.monotonic()
        procs = [p for p in self.procs.values() if p.popen is not None]
        for proc in procs:
            proc.signal(signal.SIGCONT)
            proc.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            proc.kill()
        for proxy in self.rabbit_proxies.values():
            proxy.stop()
        self.rabbit_proxies = {}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: s.stop(), (self.mq, self.db)))
        self.timings['stop'] = round(time.monotonic() - t0, 2)

    # -- clients -----------------------------------------------------------

    def clouds_config(self):
        """clouds.yaml's mapping: vmr-real (admin), vmr-real-member/-reader."""
        def cloud(user, password, project):
            return {'auth': {'auth_url': self.auth_url, 'username': user,
                             'password': password, 'project_name': project,
                             'user_domain_name': 'Default',
                             'project_domain_name': 'Default'},
                    'region_name': config.REGION, 'interface': 'public',
                    'identity_api_version': 3}
        return {'clouds': {
            'vmr-real': cloud('admin', self.admin_password, 'admin'),
            'vmr-real-member': cloud('demo-member', DEMO_PASSWORD, 'demo'),
            'vmr-real-reader': cloud('demo-reader', DEMO_PASSWORD, 'demo'),
        }}

    def write_clouds_yaml(self, path):
        """Write :meth:`clouds_config` to ``path`` (mode 0600).

        Atomically (a temporary file renamed over ``path``): a reader in
        another thread sees the old file or the new one, never an empty one
        ("Cloud vmr-real was not found").
        """
        fd, tmp = tempfile.mkstemp(prefix='.clouds-', suffix='.yaml',
                                   dir=os.path.dirname(path) or '.')
        try:
            with os.fdopen(fd, 'w') as fh:
                yaml.safe_dump(self.clouds_config(), fh,
                               default_flow_style=False)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return path


if __name__ == '__main__':
    sys.exit('use python -m vmr_lab.real.smoke')
