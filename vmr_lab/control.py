"""The lab's control API: fault injection and the monitor, over HTTP.

Tests and demos that run the lab in another process use it (see
:class:`vmr_lab.client.LabClient`).  It listens on 127.0.0.1 only and has no
authentication: it is a test harness, not part of the simulated cloud.

=======  ======================================  =====================================
GET      /lab/v1/violations                      invariant monitor violations
GET      /lab/v1/hosts                           hosts: power, BMC, nova-compute ...
GET      /lab/v1/hosts/<host>                    one host
POST     /lab/v1/hosts/<host>/fault              ``{"type": "power_loss", ...}``
POST     /lab/v1/hosts/<host>/agent              ``{"pid": 1234}``
POST     /lab/v1/services/<name>/faults          ``{"status": 503, "count": 5, ...}``
POST     /lab/v1/etcd-proxies                    ``{"host": "127.0.0.1", "port": 2379}``
GET      /lab/v1/events?since=N&type=T           timeline
GET      /lab/v1/intervals?server=ID             server run intervals
POST     /lab/v1/scenario/end                    final check (lost servers)
POST     /lab/v1/monitor/reset                   forget violations
GET      /lab/v1                                 URLs and ports (the ready document)
=======  ======================================  =====================================
"""

from vmr_lab.services.base import Fault
from vmr_lab.services.base import Service


class ControlAPI(Service):
    """HTTP control plane of a :class:`vmr_lab.cloud.LabCloud`."""

    service_type = 'lab-control'
    name = 'control'

    def fault_body(self, fault):
        return {'error': {'code': fault.status, 'message': fault.message}}

    def setup_routes(self):
        p = '/lab/v1'
        for method, path, handler in (
                ('GET', p, self.describe),
                ('GET', p + '/violations', self.violations),
                ('GET', p + '/hosts', self.list_hosts),
                ('GET', p + '/hosts/{host}', self.show_host),
                ('POST', p + '/hosts/{host}/fault', self.host_fault),
                ('POST', p + '/hosts/{host}/agent', self.attach_agent),
                ('POST', p + '/services/{name}/faults', self.service_fault),
                ('POST', p + '/etcd-proxies', self.etcd_proxies),
                ('GET', p + '/events', self.events),
                ('GET', p + '/intervals', self.intervals),
                ('POST', p + '/scenario/end', self.end_scenario),
                ('POST', p + '/monitor/reset', self.reset_monitor)):
            self.route(method, path, handler, public=True)

    def _host(self, name):
        host = self.lab.hosts.get(name)
        if host is None:
            raise Fault(404, 'No simulated host %s (hosts: %s)'
                        % (name, ', '.join(self.lab.hosts)))
        return host

    def describe(self, req, ctx):
        return 200, self.lab.describe()

    def violations(self, req, ctx):
        return 200, {'violations': self.lab.monitor.violations()}

    def list_hosts(self, req, ctx):
        return 200, {'hosts': [h.to_dict() for h in self.lab.hosts.values()]}

    def show_host(self, req, ctx, host):
        return 200, {'host': self._host(host).to_dict()}

    def host_fault(self, req, ctx, host):
        body = self.json_body(req)
        fault_type = body.pop('type', None)
        sim = self._host(host)
        try:
            state = sim.apply_fault(fault_type, **body)
        except (TypeError, ValueError) as exc:
            raise Fault(400, str(exc))
        return 200, {'host': host, 'fault': fault_type, 'state': state}

    def attach_agent(self, req, ctx, host):
        body = self.json_body(req)
        try:
            pid = int(body['pid'])
        except (KeyError, TypeError, ValueError):
            raise Fault(400, 'Expected {"pid": <integer>}')
        self._host(host).attach_agent(pid)
        return 200, {'host': host, 'agent_pids': self._host(host).agent_pids}

    def service_fault(self, req, ctx, name):
        body = self.json_body(req)
        services = {s.name: s for s in self.lab.services()}
        service = services.get(name)
        if service is None:
            raise Fault(404, 'No service %s (services: %s)'
                        % (name, ', '.join(sorted(services))))
        try:
            service.inject_fault(int(body.get('status', 503)),
                                 count=int(body.get('count', 1)),
                                 method=body.get('method'),
                                 path_contains=body.get('path_contains', ''))
        except (TypeError, ValueError) as exc:
            raise Fault(400, 'Invalid fault: %s' % exc)
        return 200, {'service': name, 'pending': service.injected_faults}

    def etcd_proxies(self, req, ctx):
        body = self.json_body(req)
        try:
            ports = self.lab.create_etcd_proxies(body.get('host', '127.0.0.1'),
                                                 int(body['port']))
        except (KeyError, TypeError, ValueError):
            raise Fault(400, 'Expected {"host": "127.0.0.1", "port": N}')
        return 200, {'proxies': ports}

    def events(self, req, ctx):
        try:
            since = int(req.GET.get('since', 0))
        except ValueError:
            raise Fault(400, 'since must be an integer')
        return 200, {'events': self.lab.events.since(since,
                                                     req.GET.get('type'))}

    def intervals(self, req, ctx):
        return 200, {'intervals': self.lab.monitor.intervals(
            req.GET.get('server'))}

    def end_scenario(self, req, ctx):
        return 200, {'violations': self.lab.monitor.end_scenario()}

    def reset_monitor(self, req, ctx):
        self.lab.monitor.reset()
        return 200, {'violations': []}
