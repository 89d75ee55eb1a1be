"""Every trigger besides host_down, end to end on the lab (issue 6):
maintenance drains by live migration without a fence, instance_down
rebuilds, an Aodh alarm reboots, an Alertmanager alert starts a Mistral
workflow and a webhook is delivered signed."""

import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest
import requests

from tests.support.contract_lab import ContractLab
from tests.support.scenario import running_lab


@pytest.fixture
def lab():
    with running_lab(ContractLab, hosts=3, servers=0) as harness:
        yield harness


def put_contract(lab, doc):
    lab.store.put(lab.store.keys.contract(doc['name']), doc)


def wait_record(lab, trigger, timeout=60):
    def done():
        for rec in lab._records():
            if rec['trigger']['type'] == trigger and rec['state'] in (
                    'done', 'failed'):
                return rec
        return None
    return lab.wait(done, timeout, '%s recovery' % trigger)


def test_maintenance_drains_by_live_migration_without_fence(lab):
    put_contract(lab, {
        'name': 'drain', 'trigger': {'type': 'maintenance'},
        'selector': {'all': True}, 'action': {'type': 'live_migrate'}})
    servers = [lab.boot('app-%d' % i, 'compute-1', {}) for i in range(3)]
    resp = requests.post(lab.api_url() + '/v1/hosts/compute-1/maintenance',
                         json={'enabled': True, 'reason': 'kernel update'},
                         timeout=10)
    assert resp.status_code == 200, resp.text
    rec = wait_record(lab, 'maintenance')
    assert rec['state'] == 'done', rec
    assert rec['fencing'] == {}
    for server in servers:
        s = lab.conn.compute.get_server(server.id)
        assert s.compute_host != 'compute-1' and s.status == 'ACTIVE'
    assert lab.lab.hosts['compute-1'].get_power() == 'on'
    assert lab._states()['compute-1'] == 'maintenance'
    assert lab.lab.monitor.violations() == []


def test_instance_down_is_rebuilt(lab):
    put_contract(lab, {
        'name': 'heal-guest', 'trigger': {'type': 'instance_down',
                                          'statuses': ['ERROR']},
        'selector': {'metadata': {'heal': 'rebuild'}},
        'action': {'type': 'rebuild'}})
    server = lab.boot('guest-1', 'compute-2', {'heal': 'rebuild'})
    lab.conn.compute.reset_server_state(server, 'error')
    rec = wait_record(lab, 'instance_down')
    assert rec['state'] == 'done', rec
    assert rec['steps'][0]['action'] == 'rebuild'
    s = lab.conn.compute.get_server(server.id)
    assert s.status == 'ACTIVE' and s.compute_host == 'compute-2'


def test_aodh_alarm_reboots_and_bad_token_is_refused(lab):
    put_contract(lab, {
        'name': 'hung-app', 'trigger': {'type': 'alarm', 'source': 'aodh',
                                        'name': 'app-hung-*'},
        'selector': {'metadata': {'app': 'shop'}},
        'action': {'type': 'reboot', 'params': {'type': 'hard'}}})
    server = lab.boot('shop-1', 'compute-3', {'app': 'shop'})
    body = {'alarm_id': 'a1', 'alarm_name': 'app-hung-shop',
            'current': 'alarm', 'previous': 'ok', 'severity': 'critical',
            'reason': 'no heartbeat from the app',
            'reason_data': {'type': 'event', 'event': {
                'traits': [['resource_id', 1, server.id]]}}}
    bad = requests.post(lab.api_url() + '/v1/alarms/aodh', json=body,
                        headers={'X-VMR-Token': 'wrong'}, timeout=10)
    assert bad.status_code == 401
    assert not lab.store.get_prefix(lab.store.keys.events)[0]
    resp = requests.post(lab.api_url() + '/v1/alarms/aodh', json=body,
                         headers={'X-VMR-Token': lab.webhook_token},
                         timeout=10)
    assert resp.status_code in (200, 202), resp.text
    rec = wait_record(lab, 'alarm')
    assert rec['state'] == 'done', rec
    assert [s['server_id'] for s in rec['steps']] == [server.id]
    reboots = [e for e in lab.lab.events.since(0)
               if e.get('server') == server.id and 'reboot' in e['type']]
    assert reboots or any('reboot' in (s.get('result') or '')
                          for s in rec['steps'])


class Receiver(http.server.BaseHTTPRequestHandler):
    calls = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        Receiver.calls.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_alertmanager_starts_mistral_and_webhook_is_signed(lab):
    server_ = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
    threading.Thread(target=server_.serve_forever, daemon=True).start()
    url = 'http://127.0.0.1:%d/hook' % server_.server_address[1]
    Receiver.calls = []
    try:
        lab.conn.workflow.create_workflow(scope='private', definition=(
            'version: "2.0"\nnotify-team:\n  input: [event, server]\n'
            '  tasks:\n    noop: {action: std.noop}\n'))
        put_contract(lab, {
            'name': 'am-workflow', 'priority': 50,
            'trigger': {'type': 'alarm', 'source': 'alertmanager',
                        'name': 'DiskFull'},
            'selector': {'metadata': {'team': 'storage'}},
            'action': {'type': 'mistral', 'params': {
                'workflow': 'notify-team', 'needs_fence': False}}})
        put_contract(lab, {
            'name': 'am-hook', 'priority': 40,
            'trigger': {'type': 'alarm', 'source': 'alertmanager',
                        'name': 'CpuHot'},
            'selector': {'metadata': {'team': 'storage'}},
            'action': {'type': 'webhook', 'params': {
                'url': url, 'secret_ref': 'demo', 'needs_fence': False}}})
        server = lab.boot('nas-1', 'compute-1', {'team': 'storage'})
        body = {'version': '4', 'status': 'firing', 'receiver': 'vmr',
                'groupLabels': {}, 'commonLabels': {}, 'externalURL': '',
                'alerts': [
                    {'status': 'firing', 'labels': {
                        'alertname': 'DiskFull', 'server_id': server.id},
                     'annotations': {}, 'startsAt': '2026-11-27T12:00:00Z',
                     'fingerprint': 'f1'},
                    {'status': 'firing', 'labels': {
                        'alertname': 'CpuHot', 'server_id': server.id},
                     'annotations': {}, 'startsAt': '2026-11-27T12:00:00Z',
                     'fingerprint': 'f2'},
                    {'status': 'resolved', 'labels': {
                        'alertname': 'DiskFull', 'server_id': server.id},
                     'annotations': {}, 'startsAt': '2026-11-27T11:00:00Z',
                     'fingerprint': 'f3'}]}
        raw = json.dumps(body).encode()
        sig = hmac.new(lab.webhook_token.encode(), raw,
                       hashlib.sha256).hexdigest()
        resp = requests.post(lab.api_url() + '/v1/alarms/alertmanager',
                             data=raw, timeout=10, headers={
                                 'Content-Type': 'application/json',
                                 'X-VMR-Signature': 'sha256=' + sig})
        assert resp.status_code in (200, 202), resp.text

        def finished():
            recs = [r for r in lab._records()
                    if r['trigger']['type'] == 'alarm']
            if len(recs) == 2 and all(r['state'] in ('done', 'failed')
                                      for r in recs):
                return recs
            return None
        recs = lab.wait(finished, 60, 'two alarm recoveries')
        assert all(r['state'] == 'done' for r in recs), [
            (r['state'], [s.get('error') for s in r['steps']]) for r in recs]
        executions = list(lab.conn.workflow.executions())
        assert [e for e in executions
                if e.workflow_name == 'notify-team' and e.status == 'SUCCESS']
        deadline = time.monotonic() + 10
        while not Receiver.calls and time.monotonic() < deadline:
            time.sleep(0.1)
        headers, payload = Receiver.calls[0]
        expected = hmac.new(lab.webhook_secret.encode(), payload,
                            hashlib.sha256).hexdigest()
        assert headers['X-VMR-Signature'] == 'sha256=' + expected
        assert json.loads(payload)['server']['id'] == server.id
    finally:
        server_.shutdown()


def test_process_down_reported_by_the_agent(tmp_path):
    """The agent watches a local process; its death opens a process_down
    recovery that runs the contract (here: a Mistral workflow, no fence)."""
    import shutil
    import subprocess
    daemon = tmp_path / 'shop-daemon'
    shutil.copy('/bin/sleep', daemon)
    proc = subprocess.Popen([str(daemon), '600'])
    try:
        with running_lab(ContractLab, hosts=3, servers=0,
                         agent_options='watched_processes = shop-daemon'
                         ) as d:
            _process_down(d, proc, daemon)
    finally:
        if proc.poll() is None:
            proc.kill()


def _process_down(d, proc, daemon):
    import os
    d.conn.workflow.create_workflow(scope='private', definition=(
        'version: "2.0"\nrestart-shop:\n  input: [event, server]\n'
        '  tasks:\n    noop: {action: std.noop}\n'))
    put_contract(d, {
        'name': 'shop-daemon', 'trigger': {'type': 'process_down',
                                           'process': 'shop-daemon'},
        'selector': {'metadata': {'app': 'shop'}},
        'action': {'type': 'mistral', 'params': {
            'workflow': 'restart-shop', 'needs_fence': False}}})
    server = d.boot('shop-1', 'compute-1', {'app': 'shop'})
    time.sleep(2)
    assert not [r for r in d._records()
                if r['trigger']['type'] == 'process_down']
    proc.kill()
    proc.wait()
    # All agents of this lab share one process table, so each reports
    # the death for its host; the record of compute-1 carries shop-1.

    def on_compute_1():
        for r in d._records():
            if r['trigger']['type'] == 'process_down' and \
                    r['host'] == 'compute-1' and \
                    r['state'] in ('done', 'failed'):
                return r
        return None
    rec = d.wait(on_compute_1, 60, 'process_down on compute-1')
    assert rec['state'] == 'done', rec
    assert [s['server_id'] for s in rec['steps']] == [server.id]
    assert rec['trigger']['process'] == 'shop-daemon'
    assert os.path.exists(daemon)

