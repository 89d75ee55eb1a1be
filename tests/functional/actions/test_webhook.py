"""webhook POSTs a signed event to a receiver on 127.0.0.1, once.

The receiver is a real HTTP server; the event and the server facts are
built as the engine builds them, no cloud is needed.
"""

import http.server
import json
import logging
import os
import threading
import time

import pytest
from oslo_config import cfg

from vmr_common.conf import actions as actions_conf
from vmr_coordinator import contracts
from vmr_coordinator.actions import base
from vmr_coordinator.api import webhooks

SECRET = 'test-hmac-key-3c1d9f'


class Receiver(http.server.ThreadingHTTPServer):
    """Records every POST; answers with the queued statuses, then 200."""

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.calls = []
        self.statuses = []
        self.thread = threading.Thread(target=self.serve_forever,
                                       daemon=True)

    @property
    def url(self):
        return 'http://127.0.0.1:%d/hooks/vmr' % self.server_address[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.calls.append((dict(self.headers), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def secrets_file(tmp_path):
    path = tmp_path / 'secrets.yaml'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, 'w') as fh:
        fh.write('secrets:\n  cmdb: %s\n' % SECRET)
    conf = cfg.CONF
    actions_conf.register_opts(conf)
    conf.set_override('secrets_file', str(path), group='actions')
    conf.set_override('webhook_backoff', 0.05, group='actions')
    yield path
    conf.clear_override('secrets_file', group='actions')
    conf.clear_override('webhook_backoff', group='actions')


def _ctx(timeout=10.0, server_id='0b7c7a3e-0000-4000-8000-000000000001'):
    facts = contracts.ServerFacts(id=server_id, name='web-1',
                                  project_id='p1', metadata={'app': 'web'},
                                  host='compute-1')
    return base.ActionContext(
        conn=None, server=facts, host='compute-1',
        event={'type': 'process_down', 'host': 'compute-1',
               'process': 'nova-compute'},
        deadline=time.monotonic() + timeout, poll=0.05)


def _params(receiver, **extra):
    return dict({'url': receiver.url, 'secret_ref': 'cmdb', 'timeout': 5,
                 'headers': {'X-Source': 'vmr'}}, **extra)


def test_signed_delivery_once(receiver, secrets_file, caplog):
    caplog.set_level(logging.DEBUG)
    ctx = _ctx()
    action = base.load_action('webhook', _params(receiver))
    assert action.needs_fence is True
    result = action.run(ctx)
    assert result.startswith('delivered to %s: HTTP 200' % receiver.url)
    assert len(receiver.calls) == 1
    headers, body = receiver.calls[0]
    ok, how = webhooks.check(SECRET, body,
                             signature=headers['X-VMR-Signature'])
    assert (ok, how) == (True, 'signature')
    assert headers['X-Source'] == 'vmr'
    doc = json.loads(body)
    assert doc['event'] == ctx.event
    assert doc['server']['id'] == ctx.server.id
    assert doc['recovery']['delivery'] == headers['X-VMR-Delivery']

    # The same step again (another attempt, a resumed step): not re-sent.
    result = base.load_action('webhook', _params(receiver)).run(_ctx())
    assert result.startswith('already delivered')
    assert len(receiver.calls) == 1
    assert SECRET not in caplog.text and SECRET not in result


def test_retries_5xx_with_backoff(receiver, secrets_file):
    receiver.statuses = [503, 502]
    result = base.load_action('webhook', _params(receiver)).run(
        _ctx(server_id='retry-1'))
    assert 'HTTP 200' in result and '3 attempts' in result
    assert len(receiver.calls) == 3
    # Every attempt carries the same delivery id (receivers dedupe on it).
    assert len({h['X-VMR-Delivery'] for h, _ in receiver.calls}) == 1


def test_down_receiver_is_retryable_4xx_is_final(receiver, secrets_file):
    receiver.statuses = [503] * 50
    with pytest.raises(base.RetryableError, match='HTTP 503 after'):
        base.load_action('webhook', _params(receiver)).run(
            _ctx(timeout=0.5, server_id='down-1'))
    receiver.statuses = [403]
    with pytest.raises(base.ActionError,
                       match='refused the delivery: HTTP 403') as err:
        base.load_action('webhook', _params(receiver)).run(
            _ctx(server_id='refused-1'))
    assert not isinstance(err.value, base.RetryableError)


def test_secret_problems_name_the_fix(receiver, secrets_file):
    with pytest.raises(base.ActionError,
                       match="secret 'crm' is not defined in secrets file"):
        base.load_action('webhook', _params(receiver, secret_ref='crm')).run(
            _ctx(server_id='s-1'))
    os.chmod(secrets_file, 0o644)
    with pytest.raises(base.ActionError, match='chmod 0600') as err:
        base.load_action('webhook', _params(receiver)).run(
            _ctx(server_id='s-2'))
    assert SECRET not in str(err.value)
    assert receiver.calls == []


def test_needs_fence_from_params():
    action = base.load_action('webhook', {'url': 'http://127.0.0.1:9/',
                                          'secret_ref': 'x',
                                          'needs_fence': False})
    assert action.needs_fence is False
