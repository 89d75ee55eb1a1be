"""Headless Chromium (Debian's package) driven over its DevTools protocol,
for tests of the web dashboard: navigate, evaluate JavaScript, collect
console errors, take screenshots.  Started and stopped by PID."""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import requests

from vmr_lab.ports import free_port

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'


def available():
    return os.access(CHROMIUM, os.X_OK)


class Chromium:
    """One headless browser with one page."""

    def __init__(self, width=1400, height=1000):
        import websocket   # websocket-client (test requirement)
        self.profile = tempfile.mkdtemp(prefix='vmr-chromium-')
        self.port = free_port()
        self.proc = subprocess.Popen(
            [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu',
             '--no-first-run', '--no-default-browser-check',
             '--disable-extensions', '--disable-dev-shm-usage',
             '--remote-debugging-address=127.0.0.1',
             '--remote-debugging-port=%d' % self.port,
             '--user-data-dir=%s' % self.profile,
             '--window-size=%d,%d' % (width, height), 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.errors = []
        self._id = 0
        self._lock = threading.Lock()
        self._replies = {}
        self._cond = threading.Condition(self._lock)
        try:
            page = self._page_target()
            self.ws = websocket.create_connection(
                page['webSocketDebuggerUrl'], timeout=30,
                suppress_origin=True)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
            for domain in ('Page', 'Runtime', 'Log'):
                self.call(domain + '.enable')
        except Exception:
            self.close()
            raise

    def _page_target(self):
        deadline = time.monotonic() + 30
        while True:
            try:
                targets = requests.get('http://127.0.0.1:%d/json/list'
                                       % self.port, timeout=2).json()
                pages = [t for t in targets if t.get('type') == 'page']
                if pages:
                    return pages[0]
            except (requests.RequestException, ValueError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('chromium did not open its DevTools port '
                                   '(exit status %s)' % self.proc.poll())
            time.sleep(0.2)

    def _read(self):
        while True:
            try:
                message = json.loads(self.ws.recv())
            except Exception:
                return
            if 'id' in message:
                with self._cond:
                    self._replies[message['id']] = message
                    self._cond.notify_all()
                continue
            method, params = message.get('method'), message.get('params', {})
            if method == 'Runtime.exceptionThrown':
                details = params.get('exceptionDetails', {})
                self.errors.append('exception: %s' % (
                    details.get('exception', {}).get('description') or
                    details.get('text')))
            elif method == 'Runtime.consoleAPICalled' and \
                    params.get('type') in ('error', 'assert'):
                self.errors.append('console.%s: %s' % (params['type'], ' '.join(
                    str(a.get('value', a.get('description')))
                    for a in params.get('args', []))))
            elif method == 'Log.entryAdded' and \
                    params.get('entry', {}).get('level') == 'error':
                entry = params['entry']
                self.errors.append('%s: %s (%s)' % (
                    entry.get('source'), entry.get('text'), entry.get('url')))

    def call(self, method, timeout=30, **params):
        with self._cond:
            self._id += 1
            call_id = self._id
        self.ws.send(json.dumps({'id': call_id, 'method': method,
                                 'params': params}))
        deadline = time.monotonic() + timeout
        with self._cond:
            while call_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError('chromium: no answer to %s' % method)
                self._cond.wait(left)
            reply = self._replies.pop(call_id)
        if 'error' in reply:
            raise RuntimeError('chromium: %s: %s' % (method, reply['error']))
        return reply.get('result', {})

    def navigate(self, url):
        self.call('Page.navigate', url=url)

    def evaluate(self, expression):
        """The JSON value of ``expression`` in the page."""
        result = self.call('Runtime.evaluate', expression=expression,
                           returnByValue=True)
        if 'exceptionDetails' in result:
            raise RuntimeError('chromium: %s raised %s' % (
                expression, result['exceptionDetails'].get('text')))
        return result.get('result', {}).get('value')

    def screenshot(self, path):
        data = self.call('Page.captureScreenshot', format='png')['data']
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(base64.b64decode(data))
        return path

    def close(self):
        ws = getattr(self, 'ws', None)
        if ws is not None:
            try:
                ws.close()
            except Exception:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)
