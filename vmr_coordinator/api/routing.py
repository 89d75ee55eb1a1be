"""Every endpoint of the REST API: method, path, handler and policy rule.

The router (:mod:`vmr_coordinator.api.app`) connects these, the OpenAPI
document (:mod:`vmr_coordinator.api.openapi`) describes them and the policy
defaults (:mod:`vmr_coordinator.api.policy`) are checked against them.
Handlers are named, not imported: they are methods of
:class:`vmr_coordinator.api.resources.Resources`.
"""

import dataclasses

#: request environ key the router sets after the policy check: the project
#: whose servers alone the caller may see (absent or None: every project's)
PROJECT_FILTER = 'vmr.project_filter'


@dataclasses.dataclass(frozen=True)
class Route:
    """One endpoint: method, path template, handler and policy rule.

    ``rule`` is None for public endpoints (no Keystone), a rule name, or a
    callable ``rule(req)`` when the rule depends on the request (it returns
    a rule name, or None for no rule, and lists the names it may return in
    its ``rules`` attribute).
    """

    name: str
    method: str
    path: str
    handler: str
    rule: object = None
    requirements: dict = dataclasses.field(default_factory=dict)


def truthy(value):
    """A query flag: ``1``, ``true``, ``yes`` or ``on``."""
    return str(value).lower() in ('1', 'true', 'yes', 'on')


def _contract_create_rule(req):
    return 'vmr:contract:validate' if truthy(req.GET.get('dry_run', '')) \
        else 'vmr:contract:create'


_contract_create_rule.rules = ('vmr:contract:validate', 'vmr:contract:create')


def _aodh_webhook_rule(req):
    """A policy rule only for a call keystonemiddleware validated: Aodh's
    ``trust+http`` actions send a Keystone token (the app routes those
    through keystonemiddleware); its ``http`` ones the webhook token."""
    return 'vmr:alarm:aodh' if req.headers.get('X-Identity-Status') == \
        'Confirmed' else None


_aodh_webhook_rule.rules = ('vmr:alarm:aodh',)


ROUTES = [
    Route('healthz', 'GET', '/healthz', 'healthz'),
    Route('readyz', 'GET', '/readyz', 'readyz'),
    Route('metrics', 'GET', '/metrics', 'metrics'),
    Route('openapi', 'GET', '/v1/openapi.json', 'openapi'),
    Route('status', 'GET', '/v1/status', 'status', 'vmr:status:get'),
    Route('contracts.list', 'GET', '/v1/contracts', 'list_contracts',
          'vmr:contract:list'),
    Route('contracts.create', 'POST', '/v1/contracts', 'create_contract',
          _contract_create_rule),
    Route('contracts.get', 'GET', '/v1/contracts/{name}', 'get_contract',
          'vmr:contract:get'),
    Route('contracts.put', 'PUT', '/v1/contracts/{name}', 'put_contract',
          'vmr:contract:update'),
    Route('contracts.delete', 'DELETE', '/v1/contracts/{name}',
          'delete_contract', 'vmr:contract:delete'),
    Route('hosts.list', 'GET', '/v1/hosts', 'list_hosts', 'vmr:host:list'),
    Route('hosts.get', 'GET', '/v1/hosts/{host}', 'get_host',
          'vmr:host:get'),
    Route('hosts.maintenance', 'POST', '/v1/hosts/{host}/maintenance',
          'host_maintenance', 'vmr:host:maintenance'),
    Route('hosts.confirm_fenced', 'POST', '/v1/hosts/{host}/confirm-fenced',
          'confirm_fenced', 'vmr:host:confirm_fenced'),
    Route('hosts.fence_test', 'POST', '/v1/hosts/{host}/fence-test',
          'fence_test', 'vmr:host:fence_test'),
    Route('recoveries.list', 'GET', '/v1/recoveries', 'list_recoveries',
          'vmr:recovery:list'),
    Route('recoveries.create', 'POST', '/v1/recoveries', 'create_recovery',
          'vmr:recovery:create'),
    Route('recoveries.get', 'GET', '/v1/recoveries/{recovery_id}',
          'get_recovery', 'vmr:recovery:get'),
    Route('recoveries.delete', 'DELETE', '/v1/recoveries/{recovery_id}',
          'delete_recovery', 'vmr:recovery:delete'),
    Route('segments.list', 'GET', '/v1/segments', 'list_segments',
          'vmr:segment:list'),
    Route('segments.create', 'POST', '/v1/segments', 'create_segment',
          'vmr:segment:create'),
    Route('segments.get', 'GET', '/v1/segments/{name}', 'get_segment',
          'vmr:segment:get'),
    Route('segments.put', 'PUT', '/v1/segments/{name}', 'put_segment',
          'vmr:segment:update'),
    Route('segments.delete', 'DELETE', '/v1/segments/{name}',
          'delete_segment', 'vmr:segment:delete'),
    Route('plan', 'GET', '/v1/plan', 'plan', 'vmr:plan:get'),
    Route('capacity', 'GET', '/v1/capacity', 'capacity',
          'vmr:capacity:get'),
    Route('pause', 'POST', '/v1/pause', 'pause', 'vmr:cluster:pause'),
    Route('resume', 'POST', '/v1/resume', 'resume', 'vmr:cluster:resume'),
    Route('brake.release', 'POST', '/v1/brake/release', 'release_brake',
          'vmr:brake:release'),
    Route('alarms.aodh', 'POST', '/v1/alarms/aodh', 'alarm_aodh',
          _aodh_webhook_rule),
    Route('alarms.alertmanager', 'POST', '/v1/alarms/alertmanager',
          'alarm_alertmanager'),
    Route('alarms.keepalived', 'POST', '/v1/alarms/keepalived',
          'alarm_keepalived'),
    Route('dashboard.redirect', 'GET', '/dashboard', 'dashboard_redirect'),
    Route('dashboard', 'GET', '/dashboard/', 'dashboard_index'),
    Route('dashboard.asset', 'GET', '/dashboard/{asset}', 'dashboard_asset',
          requirements={'asset': r'[a-z0-9_-]+\.[a-z]+'}),
]
