"""``webhook``: POST the event and the server to a URL, HMAC-signed.

The body is JSON ``{"event", "server", "recovery"}``; the header
``X-VMR-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body
bytes with the secret the contract names by ``secret_ref``.  Secrets live
in the coordinator's ``[actions] secrets_file`` (mode 0600), never in a
contract (contracts are stored in etcd).  The secret never appears in a
log line, an error or the journal.

Delivery is at least once: ``X-VMR-Delivery`` carries a key that is the
same on every attempt and every leader, so a receiver can drop
duplicates; a coordinator also remembers the deliveries it completed and
does not repeat them.
"""

import collections
import json
import logging
import os
import stat
import threading
import time

import requests
import yaml
from oslo_config import cfg

from vmr_common.conf import actions as actions_conf
from vmr_coordinator.actions import base, evidence
from vmr_coordinator.api import webhooks

LOG = logging.getLogger(__name__)

DELIVERY_HEADER = 'X-VMR-Delivery'
#: headers a contract may not set: VMR owns them
RESERVED = {'content-type', webhooks.SIGNATURE_HEADER.lower(),
            DELIVERY_HEADER.lower(), 'content-length', 'host'}

_delivered = collections.OrderedDict()
_delivered_lock = threading.Lock()
_DELIVERED_MAX = 10000


def load_secrets(path):
    """``{name: secret}`` from the secrets file; refuses loose permissions."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise base.ActionError('secrets file %s cannot be read: %s (set '
                               '[actions] secrets_file)'
                               % (path, exc.strerror or exc))
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise base.ActionError('secrets file %s has mode %04o: it must not be '
                               'accessible to group or others; fix: chmod '
                               '0600 %s' % (path, mode, path))
    try:
        with open(path, encoding='utf-8') as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        # Never echo the offending text: it may be a secret.
        raise base.ActionError('secrets file %s cannot be parsed (%s)'
                               % (path, type(exc).__name__))
    secrets = data.get('secrets') if isinstance(data, dict) else None
    if not isinstance(secrets, dict):
        raise base.ActionError("secrets file %s: expected a top-level "
                               "'secrets:' mapping of name -> secret" % path)
    return {str(k): str(v) for k, v in secrets.items() if v is not None}


def _conf():
    conf = cfg.CONF
    actions_conf.register_opts(conf)
    return conf.actions


class Webhook(evidence.RecordedAction):
    """POST the event to ``url`` with an HMAC signature; retry on 5xx.

    Goal: the receiver answered 2xx to this step's delivery.  HTTP 5xx,
    429, timeouts and connection errors are retried with exponential
    backoff until the step's deadline, then raise
    :class:`base.RetryableError`; other answers raise
    :class:`base.ActionError`.  Redirects are not followed (they could send
    the signed event elsewhere).  ``needs_fence`` is the contract's call
    (default true).
    """

    name = 'webhook'

    @property
    def needs_fence(self):
        return bool(self.params.get('needs_fence', True))

    def heal(self, ctx):
        url = self.params['url']
        ref = self.params['secret_ref']
        timeout = float(self.params.get('timeout', 10))
        key = evidence.step_key(ctx, 'webhook', url)
        with _delivered_lock:
            if key in _delivered:
                return 'already delivered to %s (delivery %s, HTTP %s)' % (
                    url, key, _delivered[key])
        opts = _conf()
        secrets = load_secrets(opts.secrets_file)
        if ref not in secrets:
            raise base.ActionError(
                'webhook secret %r is not defined in secrets file %s; add it '
                'under secrets:' % (ref, opts.secrets_file))
        body = json.dumps({
            'event': ctx.event,
            'server': evidence.server_document(ctx.server),
            'recovery': {'host': ctx.host, 'action': self.name,
                         'delivery': key},
        }, sort_keys=True, default=str).encode('utf-8')
        headers = {k: v for k, v in (self.params.get('headers') or
                                     {}).items()
                   if k.lower() not in RESERVED}
        headers.update({
            'Content-Type': 'application/json',
            'User-Agent': 'vmr-coordinator',
            webhooks.SIGNATURE_HEADER: webhooks.sign(secrets[ref], body),
            DELIVERY_HEADER: key,
        })
        del secrets
        delay = opts.webhook_backoff
        attempt = 0
        while True:
            attempt += 1
            problem = self._post(url, body, headers, min(
                timeout, max(0.1, ctx.remaining())))
            if isinstance(problem, int):
                with _delivered_lock:
                    _delivered[key] = problem
                    while len(_delivered) > _DELIVERED_MAX:
                        _delivered.popitem(last=False)
                return 'delivered to %s: HTTP %d (delivery %s, %d attempt%s)' \
                    % (url, problem, key, attempt, '' if attempt == 1 else 's')
            LOG.info('webhook %s attempt %d: %s', url, attempt, problem)
            if ctx.remaining() <= delay:
                raise base.RetryableError('webhook %s: %s after %d attempt%s'
                                          % (url, problem, attempt,
                                             '' if attempt == 1 else 's'))
            time.sleep(delay)
            delay = min(delay * 2, opts.webhook_backoff_max)

    @staticmethod
    def _post(url, body, headers, timeout):
        """HTTP status on success; a sentence when worth retrying."""
        try:
            resp = requests.post(url, data=body, headers=headers,
                                 timeout=timeout, allow_redirects=False)
        except requests.Timeout:
            return 'no answer within %.1f s' % timeout
        except requests.ConnectionError as exc:
            return 'connection failed (%s)' % type(exc).__name__
        except requests.RequestException as exc:
            raise base.ActionError('webhook %s: %s' % (
                url, type(exc).__name__))
        status = resp.status_code
        resp.close()
        if 200 <= status < 300:
            return status
        if status >= 500 or status == 429:
            return 'HTTP %d' % status
        raise base.ActionError('webhook %s refused the delivery: HTTP %d%s'
                               % (url, status, ' (redirects are not '
                                  'followed)' if 300 <= status < 400 else ''))
