"""The REST API served by cheroot in a thread of the coordinator process.

cheroot is a pure-Python, thread-pooled HTTP/1.1 server with no C build and
a clean ``stop()``: it fits a daemon that must shut its listener down when
cotyledon terminates the worker, without a second process manager.
"""

import logging
import threading

from cheroot import wsgi

from vmr_coordinator.api import app as app_mod
from vmr_coordinator.api.authconf import check_auth_config

LOG = logging.getLogger(__name__)


class ApiServer:
    """The API on ``[api] bind_host:bind_port``; ``start()``/``stop()``.

    ``port`` is the bound port once started (useful with ``bind_port = 0``).
    ``poll_interval`` bounds how long ``stop()`` waits for the serving loop
    to notice (tests lower it).
    """

    def __init__(self, conf, store, coordinator=None, app=None,
                 poll_interval=0.5):
        self.conf = conf
        self.host = conf.api.bind_host
        self.app = app or app_mod.make_app(conf, store, coordinator)
        self.port = None
        self._server = wsgi.Server(
            (self.host, conf.api.bind_port), self.app,
            numthreads=conf.api.threads, server_name='vmr-api',
            timeout=10, shutdown_timeout=2)
        self._server.expiration_interval = poll_interval
        self._thread = None

    @property
    def url(self):
        """The base URL of the running API."""
        host = '[%s]' % self.host if ':' in self.host else self.host
        return 'http://%s:%d' % (host, self.port)

    def start(self):
        """Bind (errors surface here, in the caller) and serve in a thread."""
        if self.conf.api.auth_strategy == 'noauth':
            LOG.warning('API: auth_strategy = noauth: anyone who reaches '
                        '%s:%s can change contracts and pause VMR; use it '
                        'in the lab only', self.host, self.conf.api.bind_port)
        self._server.prepare()
        self.port = self._server.bind_addr[1]
        self._thread = threading.Thread(target=self._serve, name='vmr-api',
                                        daemon=True)
        self._thread.start()
        LOG.info('API: listening on %s (auth %s)', self.url,
                 self.conf.api.auth_strategy)
        return self

    def _serve(self):
        try:
            self._server.serve()
        except Exception:
            LOG.exception('API: the server stopped on an error')

    def stop(self):
        """Stop listening and wait for the serving thread."""
        self._server.stop()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        LOG.info('API: stopped')


def start_api(conf, store, coordinator=None):
    """Start the API for ``coordinator`` unless ``[api] enabled`` is false.

    Returns the running :class:`ApiServer` (``.port``, ``.url``, ``.stop()``)
    or None. Raises ``OSError`` when the address cannot be bound and
    :class:`~vmr_common.exceptions.ConfigError` when keystone mode is not
    configured.
    """
    if not conf.api.enabled:
        LOG.info('API: disabled ([api] enabled = false)')
        return None
    check_auth_config(conf)
    return ApiServer(conf, store, coordinator).start()
