"""The real API (cheroot) over a real etcd, for tests of any suite.

:func:`start_harness` starts the API on a fresh VMR cluster name in a given
etcd and returns an :class:`ApiHarness`: the API, a store on the same
cluster and a small HTTP client; :func:`make_conf` is the parsed
configuration it runs with.  The ``api`` fixtures of the API and CLI tests
are built on it.
"""

import json
import uuid

import requests
from oslo_config import cfg

from vmr_client import shell
from vmr_common import conf as vmr_conf
from vmr_common.store import Store
from vmr_coordinator.api import server as server_mod

WEBHOOK_TOKEN = 'test-webhook-secret-' + uuid.uuid4().hex[:8]


def clear_overrides(conf):
    """Drop overrides left by earlier tests.

    oslo.config copies a module-level OptGroup shallowly into each
    ConfigOpts, so overrides set on one test's conf show up in the next.
    """
    for key in list(conf):
        value = conf[key]
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for name in list(value):
                conf.clear_override(name, key)
        else:
            conf.clear_override(key)


def make_conf(endpoint, cluster, **api):
    """A parsed ConfigOpts for one test cluster (no files, no argv)."""
    conf = cfg.ConfigOpts()
    vmr_conf.register_all(conf)
    conf([], project='vmr', default_config_files=[])
    clear_overrides(conf)
    conf.set_override('endpoints', [endpoint], 'etcd')
    conf.set_override('cluster', cluster, 'etcd')
    conf.set_override('host', 'controller-test')
    settings = {'bind_port': 0, 'auth_strategy': 'noauth',
                'webhook_token': WEBHOOK_TOKEN}
    settings.update(api)
    for name, value in settings.items():
        conf.set_override(name, value, 'api')
    return conf


class ApiHarness:
    """A running API plus a store on the same cluster and a small client."""

    #: seconds the client waits for an answer
    timeout = 10

    def __init__(self, conf, store, server):
        self.conf = conf
        self.store = store
        self.server = server
        self.url = server.url
        self.http = requests.Session()

    def close(self):
        self.http.close()
        self.server.stop()

    def call(self, method, path, body=None, raw=None, headers=None,
             **params):
        data = raw if raw is not None else (
            json.dumps(body) if body is not None else None)
        hdrs = {'Content-Type': 'application/json'} if data else {}
        hdrs.update(headers or {})
        return self.http.request(method, self.url + path, data=data,
                                 headers=hdrs, params=params or None,
                                 timeout=self.timeout)

    def get(self, path, **params):
        return self.call('GET', path, **params)

    def post(self, path, body=None, **kw):
        return self.call('POST', path, body, **kw)

    # -- seeding the keyspace as agents and the leader would ---------------
    def add_host(self, name, state='up', **fields):
        record = {'host': name, 'registered_at': 1.0, 'enabled': True,
                  'maintenance': False, 'state': state, 'state_since': 2.0,
                  'reason': 'seeded by the test',
                  'agent': {'boot_id': 'b-' + name, 'zone': 'az1',
                            'addresses': {'management': '127.0.0.1'},
                            'version': '0.1.0'}}
        record.update(fields)
        self.store.put(self.store.keys.host(name), record)
        return record

    def add_member(self, name, **caps):
        """A live agent in the tooz group (as tooz writes it: msgpack)."""
        from tooz import utils as tooz_utils

        key = self.store.keys.member(self.conf.heartbeat.group, name)
        lease = self.store.grant(60)
        self.store.put(key, tooz_utils.dumps(dict(caps, host=name)), lease)

    def add_recovery(self, rid, host, state='acting', **fields):
        record = {
            'id': rid, 'host': host, 'state': state,
            'trigger': {'type': 'host_down', 'host': host},
            'created_at': 100.0, 'updated_at': 130.0,
            'fencing': {'verified': True, 'attempts': [
                {'method': 'ipmi', 'verified': True,
                 'evidence': 'power status off', 'duration': 2.5,
                 'error': None}]},
            'steps': [
                {'server_id': 's1', 'server_name': 'web-1',
                 'contract': 'web-ha', 'action': 'evacuate', 'state': 'done',
                 'attempts': 1, 'started_at': 110.0, 'finished_at': 125.0,
                 'result': 'ACTIVE on compute-2', 'error': None,
                 'request_ids': ['req-1']},
                {'server_id': 's2', 'server_name': 'web-2',
                 'contract': 'web-ha', 'action': 'evacuate',
                 'state': 'running', 'attempts': 1, 'started_at': 111.0,
                 'finished_at': None, 'result': None, 'error': None,
                 'request_ids': []}],
            'timeline': [
                {'at': 100.0, 'event': 'detected',
                 'detail': 'host %s left the agents group' % host},
                {'at': 104.0, 'event': 'fenced',
                 'detail': 'ipmi: power status off'},
                {'at': 125.0, 'event': 'step done', 'detail': 'web-1'}],
        }
        record.update(fields)
        self.store.put(self.store.keys.recovery(rid), record)
        return record


def start_harness(etcd_server, store_cls=Store, coordinator=None,
                  auth_middleware=None, keystone_authtoken=None, **api):
    """An API on a fresh cluster; ``store_cls`` builds the API's store.

    ``keystone_authtoken`` options are set before keystonemiddleware reads
    them.
    """
    from vmr_coordinator.api import app as app_mod
    cluster = 't' + uuid.uuid4().hex[:10]
    conf = make_conf(etcd_server.endpoint, cluster, **api)
    store = Store([etcd_server.endpoint], cluster=cluster)
    api_store = store_cls([etcd_server.endpoint], cluster=cluster)
    if keystone_authtoken:
        app_mod.register_keystone_opts(conf)
        if keystone_authtoken.get('auth_type'):
            # keystonemiddleware registers the plugin's options (auth_url,
            # username...) only when it starts: register them to set them.
            from keystoneauth1 import loading
            conf.register_opts(loading.get_auth_plugin_conf_options(
                keystone_authtoken['auth_type']), group='keystone_authtoken')
        for name, value in keystone_authtoken.items():
            conf.set_override(name, value, 'keystone_authtoken')
    app = app_mod.make_app(conf, api_store, coordinator,
                           auth_middleware=auth_middleware)
    server = server_mod.ApiServer(conf, api_store, coordinator, app=app,
                                  poll_interval=0.05)
    server.start()
    return ApiHarness(conf, store, server)


def archive(api, rid, host, archived_at, **fields):
    """A closed record as the leader leaves it in the history."""
    record = api.add_recovery(rid, host, state='done',
                              archived_at=archived_at, **fields)
    api.store.delete(api.store.keys.recovery(rid))
    api.store.put(api.store.keys.archived(rid), record)
    return record


class Cli:
    """Runs ``vmr --url <api> ...`` in-process and captures its output."""

    def __init__(self, api, capsys):
        self.api = api
        self.capsys = capsys

    def __call__(self, *argv, expect=0):
        self.capsys.readouterr()
        rc = shell.main(['--url', self.api.url] + list(argv))
        out, err = self.capsys.readouterr()
        assert rc == expect, 'vmr %s -> %s\nstdout: %s\nstderr: %s' % (
            ' '.join(argv), rc, out, err)
        return out, err
