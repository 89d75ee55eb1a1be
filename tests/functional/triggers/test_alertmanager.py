"""A stock Prometheus Alertmanager triggers a VMR contract, end to end.

The real ``/usr/bin/prometheus-alertmanager`` (Debian 12, 0.25) runs with
``etc/prometheus/alertmanager-vmr.yml`` — the receiver doc/contracts.rst
shows — pointed at the lab's VMR API; alerts go in through Alertmanager's own
API (``/api/v2/alerts``), Alertmanager groups them and POSTs its version-4
webhook with ``Authorization: Bearer`` read from a credentials file. The
lab's real coordinators turn each firing alert into a recovery that reboots
the server the alert is about (by host label or by server id); a resolved
alert and a re-sent one start nothing; a wrong token in the credentials file
is a 401 that triggers nothing, until the file holds the right token again.
"""

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
from datetime import datetime, timezone

import pytest
import requests

from tests import procs
from vmr_lab.ports import free_port

BINARY = '/usr/bin/prometheus-alertmanager'
EXAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                       'prometheus', 'alertmanager-vmr.yml')
#: what the test replaces in the example (and nothing else)
EXAMPLE_URL = 'http://vmr-api.example.com:8779'
EXAMPLE_CREDENTIALS = '/etc/prometheus/vmr-webhook-token'

CONTRACT = {
    'name': 'am-app-hung', 'priority': 50,
    'trigger': {'type': 'alarm', 'source': 'alertmanager', 'name': 'AppHung'},
    'selector': {'metadata': {'app': 'shop'}},
    'action': {'type': 'reboot', 'params': {'type': 'hard'}}}


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until it returns something true, or fail."""
    return procs.wait_for(predicate, timeout, interval=0.1, message=what)


def receiver_config(api_url, credentials_file):
    """etc/prometheus/alertmanager-vmr.yml aimed at this test's VMR."""
    with open(EXAMPLE) as fh:
        text = fh.read()
    assert text.count(EXAMPLE_URL) == 1 and EXAMPLE_CREDENTIALS in text, (
        'the example receiver changed: keep its URL and credentials file '
        'placeholders, the test replaces them')
    return text.replace(EXAMPLE_URL, api_url).replace(EXAMPLE_CREDENTIALS,
                                                      credentials_file)


def write_secret(path, text):
    """A credentials file as an operator should make it: mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as fh:
        fh.write(text)


class Alertmanager:
    """One real Alertmanager on 127.0.0.1, stopped by its PID."""

    def __init__(self, workdir, api_url, credentials_file):
        self.workdir = workdir
        self.config = os.path.join(workdir, 'alertmanager.yml')
        with open(self.config, 'w') as fh:
            fh.write(receiver_config(api_url, credentials_file))
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.log_path = os.path.join(workdir, 'alertmanager.log')
        self.proc = None

    def start(self):
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                [BINARY, '--config.file=' + self.config,
                 '--storage.path=' + os.path.join(self.workdir, 'data'),
                 '--web.listen-address=127.0.0.1:%d' % self.port,
                 # no HA gossip: it would listen on 0.0.0.0:9094
                 '--cluster.listen-address='],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError('alertmanager exited with %s: %s'
                                     % (self.proc.returncode, self.log()))
            try:
                return requests.get(self.url + '/-/ready', timeout=2).ok
            except requests.RequestException:
                return False
        wait_for(ready, 30, 'alertmanager ready on %s' % self.url)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log(self):
        with open(self.log_path, errors='replace') as fh:
            return fh.read()

    def post_alerts(self, alerts):
        r = requests.post(self.url + '/api/v2/alerts', json=alerts, timeout=10)
        assert r.status_code == 200, r.text

    def webhook_metric(self, name):
        """The sum of ``name{integration="webhook"...}`` on /metrics."""
        text = requests.get(self.url + '/metrics', timeout=5).text
        pattern = re.compile(r'^%s\{[^}]*integration="webhook"[^}]*\} (\S+)$'
                             % re.escape(name), re.M)
        return sum(float(v) for v in pattern.findall(text))


@pytest.fixture(scope='module')
def alertmanager_binary():
    """The Debian package's binary (else skip; under CI, fail)."""
    if not os.access(BINARY, os.X_OK):
        missing = ('%s is missing: apt-get install prometheus-alertmanager '
                   '(tools/run-tests.sh does)' % BINARY)
        if os.environ.get('CI'):
            pytest.fail(missing)
        pytest.skip(missing)
    return BINARY


@pytest.fixture(scope='module')
def lab(alertmanager_binary):
    """The lab (etcd, lab cloud, 2 agents, 2 coordinators with the API)."""
    from vmr_lab.demo import DEMO_CONTRACT, Demo
    out = io.StringIO()
    harness = Demo(hosts=2, servers=0, out=out)
    try:
        harness.start()
        harness.store.delete(harness.store.keys.contract(DEMO_CONTRACT['name']))
        harness.store.put(harness.store.keys.contract(CONTRACT['name']),
                          CONTRACT)
        yield harness
    finally:
        harness.stop()
        print(out.getvalue())
        shutil.rmtree(harness.workdir, ignore_errors=True)


@contextlib.contextmanager
def running_alertmanager(workdir, api_url, credentials_file):
    am = Alertmanager(str(workdir), api_url, credentials_file)
    try:
        am.start()
        yield am
    finally:
        am.stop()
        print('--- alertmanager log\n' + am.log())


def alarm_records(lab):
    return [r for r in lab._records() if r['trigger']['type'] == 'alarm']


def finished(records):
    return all(r['state'] in ('done', 'failed') for r in records)


def coordinator_logs(lab):
    return '\n'.join(text for name, text in lab.logs().items()
                     if name.startswith('controller-'))


def stored_webhooks(lab):
    return coordinator_logs(lab).count('API: alertmanager alarm webhook stored')


def rebooted(lab, server_id):
    return [e for e in lab.lab.events.since(0)
            if e.get('server') == server_id and 'reboot' in e['type']]


def now_rfc3339():
    return datetime.now(timezone.utc).isoformat()


def test_firing_alerts_reboot_their_servers_resolved_and_resent_do_not(
        lab, tmp_path):
    shop1 = lab.boot('shop-1', 'compute-1', {'app': 'shop'})
    shop2 = lab.boot('shop-2', 'compute-2', {'app': 'shop'})
    credentials = str(tmp_path / 'vmr-webhook-token')
    write_secret(credentials, lab.webhook_token + '\n')
    by_host = {'alertname': 'AppHung', 'instance': 'compute-1:9100',
               'severity': 'critical'}
    by_server = {'alertname': 'AppHung', 'server_id': shop2.id}
    with running_alertmanager(tmp_path, lab.api_url(), credentials) as am:
        am.post_alerts([
            {'labels': by_host, 'annotations': {'summary': 'shop hung'}},
            {'labels': by_server}])

        def two_finished():
            recs = alarm_records(lab)
            return recs if len(recs) == 2 and finished(recs) else None
        recs = wait_for(two_finished, 120, 'two alarm recoveries finished')
        assert [r['state'] for r in recs] == ['done', 'done'], recs
        steps = sorted(((r['host'] or ''), [s['server_id'] for s in r['steps']])
                       for r in recs)
        # The host alert heals the shop server on compute-1 only; the
        # server alert names shop-2 and carries no host.
        assert steps == [('', [shop2.id]), ('compute-1', [shop1.id])], steps
        for rec in recs:
            trigger = rec['trigger']
            assert trigger['source'] == 'alertmanager'
            assert trigger['name'] == 'AppHung'
            assert trigger['receiver'] == 'vmr'
            assert re.match(r'^[0-9a-f]{16}$', trigger['id']), trigger
            assert trigger['starts_at']
        assert rebooted(lab, shop1.id) and rebooted(lab, shop2.id)
        # Both alerts came in one POST (one group, alertname=AppHung).
        assert re.search(r'alertmanager alarm webhook stored as event \S+ '
                         r'\(2 alerts\)', coordinator_logs(lab))
        assert am.webhook_metric('alertmanager_notifications_failed_total') == 0

        # Resolving the host alert changes the group: Alertmanager sends the
        # resolved alert and re-sends the firing one. Neither heals again.
        seen = stored_webhooks(lab)
        am.post_alerts([{'labels': by_host, 'endsAt': now_rfc3339()}])
        wait_for(lambda: stored_webhooks(lab) > seen, 60,
                 'the resolved notification stored by VMR')
        wait_for(lambda: not lab.store.get_prefix(lab.store.keys.events)[0],
                 30, 'the leader to consume the stored notification')
        wait_for(lambda: 're-sent alert ignored' in coordinator_logs(lab), 30,
                 'the leader to ignore the re-sent shop-2 alert')
        assert len(alarm_records(lab)) == 2, alarm_records(lab)
        assert am.webhook_metric('alertmanager_notifications_failed_total') == 0


def test_a_wrong_token_is_401_triggers_nothing_until_fixed(lab, tmp_path):
    shop3 = lab.boot('shop-3', 'compute-2', {'app': 'shop'})
    before = {r['id'] for r in alarm_records(lab)}
    credentials = str(tmp_path / 'vmr-webhook-token')
    write_secret(credentials, 'not-the-webhook-token\n')
    refused = ('refused alertmanager webhook from 127.0.0.1: wrong bearer '
               'token in Authorization: expected Bearer <[api] '
               'webhook_token>')
    with running_alertmanager(tmp_path, lab.api_url(), credentials) as am:
        am.post_alerts([{'labels': {'alertname': 'AppHung',
                                    'server_id': shop3.id}}])
        wait_for(lambda: refused in coordinator_logs(lab), 60,
                 'VMR to refuse the wrong token')
        wait_for(lambda: am.webhook_metric(
            'alertmanager_notifications_failed_total') >= 1, 30,
            'alertmanager to count the failed notification')
        assert 'unexpected status code 401' in am.log()
        assert not lab.store.get_prefix(lab.store.keys.events)[0]
        assert {r['id'] for r in alarm_records(lab)} == before
        assert not rebooted(lab, shop3.id)
        logs = coordinator_logs(lab)
        assert lab.webhook_token not in logs
        assert 'not-the-webhook-token' not in logs

        # Alertmanager re-reads the credentials file on every try and keeps
        # retrying a refused group: fixing the file heals without a restart.
        write_secret(credentials, lab.webhook_token + '\n')

        def healed():
            recs = [r for r in alarm_records(lab) if r['id'] not in before]
            return recs if recs and finished(recs) else None
        (rec,) = wait_for(healed, 120, 'the shop-3 recovery after the fix')
        assert rec['state'] == 'done', rec
        assert [s['server_id'] for s in rec['steps']] == [shop3.id]
        assert rebooted(lab, shop3.id)
