"""Python client of the lab control API (:mod:`vmr_lab.control`).

::

    lab = LabClient('http://127.0.0.1:8790/lab/v1')
    lab.fault('compute-2', 'power_loss')
    lab.wait_for(lambda: lab.host('compute-2')['power'] == 'off')
    assert lab.violations() == []
"""

import time

import requests


class LabError(Exception):
    """The control API refused a request (message from the lab)."""


class LabClient:
    """Talks to a lab's control API at ``url`` (``http://...:PORT/lab/v1``)."""

    def __init__(self, url, timeout=10):
        self.url = url.rstrip('/')
        if not self.url.endswith('/lab/v1'):
            self.url += '/lab/v1'
        self.timeout = timeout
        self._session = requests.Session()

    @classmethod
    def from_ready_file(cls, path):
        """A client for the lab that wrote the ready file ``path``."""
        import json
        with open(path) as fh:
            return cls(json.load(fh)['control_url'])

    def _call(self, method, path, body=None, params=None):
        resp = self._session.request(method, self.url + path, json=body,
                                     params=params, timeout=self.timeout)
        if resp.status_code >= 400:
            try:
                message = resp.json()['error']['message']
            except (ValueError, KeyError, TypeError):
                message = resp.text
            raise LabError('%s %s: HTTP %d: %s' % (method, path,
                                                   resp.status_code, message))
        return resp.json() if resp.content else None

    def describe(self):
        """Ports and URLs of the lab (the ready document)."""
        return self._call('GET', '')

    def violations(self):
        """The invariant monitor's violations."""
        return self._call('GET', '/violations')['violations']

    def hosts(self):
        """Every simulated host (power, BMC, nova-compute, servers)."""
        return {h['name']: h for h in self._call('GET', '/hosts')['hosts']}

    def host(self, name):
        """One simulated host."""
        return self._call('GET', '/hosts/%s' % name)['host']

    def fault(self, host, fault_type, **options):
        """Inject ``fault_type`` on ``host`` (power_loss, partition ...)."""
        return self._call('POST', '/hosts/%s/fault' % host,
                          dict(options, type=fault_type))

    def attach_agent(self, host, pid):
        """Tie agent process ``pid`` to ``host`` (killed by power loss)."""
        return self._call('POST', '/hosts/%s/agent' % host, {'pid': pid})

    def service_fault(self, service, status=503, count=1, method=None,
                      path_contains=''):
        """Make ``count`` matching API calls of ``service`` fail."""
        return self._call('POST', '/services/%s/faults' % service, {
            'status': status, 'count': count, 'method': method,
            'path_contains': path_contains})

    def etcd_proxies(self, port, host='127.0.0.1'):
        """Create per-host proxies to etcd; return {host: proxy port}."""
        return self._call('POST', '/etcd-proxies',
                          {'host': host, 'port': port})['proxies']

    def events(self, since=0, type_=None):
        """Timeline events after sequence number ``since``."""
        params = {'since': since}
        if type_:
            params['type'] = type_
        return self._call('GET', '/events', params=params)['events']

    def intervals(self, server=None):
        """Run intervals of every server or of ``server``."""
        params = {'server': server} if server else None
        return self._call('GET', '/intervals', params=params)['intervals']

    def end_scenario(self):
        """Final check (lost servers); return every violation."""
        return self._call('POST', '/scenario/end')['violations']

    def reset_monitor(self):
        """Forget violations so far."""
        return self._call('POST', '/monitor/reset')

    @staticmethod
    def wait_for(predicate, timeout=30.0, interval=0.2, what='condition'):
        """Poll ``predicate`` until true; raise TimeoutError naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError('timed out after %.0fs waiting for %s'
                                   % (timeout, what))
            time.sleep(interval)
