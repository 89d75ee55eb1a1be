"""Secrets never leak: not in logs, argv, etcd, API answers or errors.

One demo-like run (vmr_lab.demo.Demo, extended here by subclassing) with
four secrets in play:

* the lab BMCs' IPMI password, used by a real fence (first rung with a
  wrong user name and the real password: its failure text is journaled and
  logged; second rung fences for real),
* the etcd password of the limited user ``vmr`` (etcd auth enabled; every
  agent, coordinator and tooz client logs in with it) and etcd's root
  password,
* the alarm webhook token (``[api] webhook_token``), presented right and
  wrong to the API,
* an HMAC key in ``[actions] secrets_file``.

Afterwards every log file, etcd's own log, the ``/proc/*/cmdline`` of every
process on the machine, every key and value in etcd (all prefixes, read as
root), the lab's event list, the API's answers and the error texts of
failed calls are searched for each secret.  Only the files whose job is to
hold them (config files and profiles, mode 0600) may contain them.
"""

import functools
import io
import os
import shutil
import stat

import pytest
import requests
import yaml

from tests.functional.security.tlsetcd import AuthEtcd, etcdctl
from vmr_common import exceptions
import vmr_common.store
from vmr_common.store import Store
import vmr_lab.etcd
from vmr_lab.demo import Demo

ROOT_PASSWORD = 'etcd-root-' + os.urandom(8).hex()
VMR_PASSWORD = 'etcd-vmr-' + os.urandom(8).hex()
WEBHOOK_TOKEN = 'webhook-token-' + os.urandom(8).hex()
HMAC_KEY = 'hmac-key-' + os.urandom(8).hex()

#: files that exist to hold secrets (and must be private)
SECRET_HOLDERS = ('.conf', 'fence-profiles.yaml', 'secrets.yaml',
                  'clouds.yaml')


class _DemoEtcd(AuthEtcd):
    root_password = ROOT_PASSWORD
    users = [('vmr', VMR_PASSWORD, ['/vmr/demo/'])]


class SecretsDemo(Demo):
    """The demo with etcd auth, a webhook token, an HMAC secret and a fence
    ladder whose first rung fails with the real password."""

    def _conf(self, name, kind, clouds, profiles, host=None):
        path = super()._conf(name, kind, clouds, profiles, host)
        secrets = os.path.join(self.workdir, 'secrets.yaml')
        if not os.path.exists(secrets):
            fd = os.open(secrets, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, 'w') as fh:
                yaml.safe_dump({'secrets': {'receiver': HMAC_KEY}}, fh)
        os.chmod(path, 0o600)
        with open(path, 'a') as fh:
            fh.write('[etcd]\nusername = vmr\npassword = %s\n'
                     '[api]\nwebhook_token = %s\n'
                     '[actions]\nsecrets_file = %s\n'
                     % (VMR_PASSWORD, WEBHOOK_TOKEN, secrets))
        return path

    def _fence_profiles(self):
        path = super()._fence_profiles()
        with open(path) as fh:
            data = yaml.safe_load(fh)
        ladder = data['profiles']['lab']['ladder']
        ladder.insert(0, dict(ladder[0], username='not-the-user', timeout=3))
        with open(path, 'w') as fh:
            yaml.safe_dump(data, fh)
        return path


@pytest.fixture
def demo(monkeypatch):
    # Demo.start() builds its etcd and its own Store by name at call time:
    # swap in an etcd with auth and a Store that logs in (restored after).
    monkeypatch.setattr(vmr_lab.etcd, 'EtcdServer', _DemoEtcd)
    monkeypatch.setattr(vmr_common.store, 'Store', functools.partial(
        Store, username='vmr', password=VMR_PASSWORD))
    d = SecretsDemo(hosts=3, servers=4, out=io.StringIO())
    try:
        d.start()
        yield d
    finally:
        d.stop()
        shutil.rmtree(d.workdir, ignore_errors=True)


def _story(demo):
    """What the demo said and the last lines of each coordinator's log:
    the reason when a recovery does not finish."""
    parts = [demo.out.getvalue()]
    for name, text in sorted(demo.logs().items()):
        if not name.startswith('compute'):
            tail = text.splitlines()[-40:]
            parts.append('--- %s.log (last %d lines)\n%s'
                         % (name, len(tail), '\n'.join(tail)))
    return '\n'.join(parts)


def _leaks(text, where, found):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    for secret in SECRETS:
        if secret in text:
            found.append('%s contains %s...' % (where, secret[:12]))


def _secrets(lab):
    return [ROOT_PASSWORD, VMR_PASSWORD, WEBHOOK_TOKEN, HMAC_KEY,
            lab.bmc_password]


SECRETS = []


@pytest.mark.timeout(400)
def test_no_secret_leaks_anywhere(demo):
    SECRETS[:] = _secrets(demo.lab)
    assert len(demo.lab.bmc_password) >= 8
    texts = []   # (where, text) of answers and errors
    api = demo.api_url()

    # The webhook token, presented right and wrong.
    body = {'version': '4', 'status': 'firing', 'alerts': []}
    for token in (WEBHOOK_TOKEN, 'wrong-' + WEBHOOK_TOKEN[::-1]):
        resp = requests.post(api + '/v1/alarms/alertmanager', json=body,
                             headers={'X-VMR-Token': token}, timeout=10)
        texts.append(('alarm webhook answer %d' % resp.status_code,
                      resp.text))

    # A wrong etcd password: the error text.
    bad = Store([demo.etcd.endpoint], cluster='demo', username='vmr',
                password=VMR_PASSWORD[::-1])
    with pytest.raises(exceptions.StoreError) as info:
        bad.get(bad.keys.leader)
    texts.append(('wrong etcd password error', str(info.value)))

    # A real fence (first rung fails with the real password) and recovery.
    assert demo.run('power-loss', 'compute-2', timeout=150), \
        'the recovery did not finish:\n%s' % _story(demo)
    records = demo._records()
    attempts = records[0]['fencing']['attempts']
    assert len(attempts) >= 2 and not attempts[0]['verified'], attempts

    for path in ('/v1/status', '/v1/hosts', '/v1/recoveries',
                 '/v1/hosts/compute-2', '/v1/recoveries/%s' % records[0]['id'],
                 '/metrics'):
        resp = requests.get(api + path, timeout=10)
        texts.append(('GET %s' % path, resp.text))
    texts.append(('lab events', repr(demo.lab.events.since(0))))

    found = []
    for where, text in texts:
        _leaks(text, where, found)

    # Every key and value in etcd, every prefix, read as root.
    dump = etcdctl(demo.etcd.endpoint, 'get', '', '--from-key',
                   user='root:%s' % ROOT_PASSWORD).stdout
    assert '/vmr/demo/journal/' in dump and '/vmr/demo/groups/' in dump
    _leaks(dump, 'etcd', found)

    # Every file of the run: logs (ours, the lab's, etcd's).
    paths = [demo.etcd.log_path]
    for root, _dirs, files in os.walk(demo.workdir):
        paths.extend(os.path.join(root, f) for f in files)
    checked = 0
    for path in paths:
        if not os.path.isfile(path):
            continue
        if path.endswith(SECRET_HOLDERS):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert not mode & 0o077, '%s has mode %o' % (path, mode)
            continue
        with open(path, 'rb') as fh:
            _leaks(fh.read(), path, found)
        checked += 1
    assert checked >= 6   # 3 agents + 2 coordinators + etcd, at least

    # argv of every process on the machine, while ours still run.
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as fh:
                    _leaks(fh.read().replace(b'\0', b' '),
                           'argv of pid %s' % pid, found)
            except OSError:
                continue
    assert found == []
