"""oslo.policy rules of the REST API, with their defaults registered in code.

What the cloud is made of -- hosts, capacity, plans, contracts, the cluster
status -- is seen by ``vmr:cloud_reader``: ``admin``, or ``reader`` with a
system-scoped token.  Recoveries are seen by any ``reader``, ``member`` or
``admin`` of a project, filtered to that project's own servers unless the
caller passes ``vmr:recovery:all_projects`` (a cloud reader).  Every write
— contracts, maintenance, confirm-fenced, manual recoveries, pause, brake
release — needs ``admin``. Operators override rules in the ``[oslo_policy]
policy_file``.
:func:`list_rules` feeds the ``oslo.policy.policies`` entry point
(``oslopolicy-sample-generator --namespace vmr``).
"""

from oslo_policy import policy

ADMIN = 'role:admin'
READER = 'role:reader or role:member or role:admin'
CLOUD_READER = 'role:admin or (role:reader and system_scope:all)'

BASE_RULES = [
    policy.RuleDefault('vmr:admin', ADMIN,
                       description='Who may change what VMR does.'),
    policy.RuleDefault('vmr:reader', READER,
                       description='Who may see what VMR did for their '
                                   'project.'),
    policy.RuleDefault('vmr:cloud_reader', CLOUD_READER,
                       description='Who may see the whole cloud: hosts, '
                                   'capacity, plans, contracts, every '
                                   'project\'s servers.'),
    policy.RuleDefault('vmr:recovery:all_projects', 'rule:vmr:cloud_reader',
                       description='See every project\'s servers in '
                                   'recoveries; other readers see only '
                                   'their own project\'s steps.'),
]


def _rule(name, check, description, method, path):
    return policy.DocumentedRuleDefault(
        name=name, check_str=check, description=description,
        operations=[{'method': method, 'path': path}])


API_RULES = [
    _rule('vmr:status:get', 'rule:vmr:cloud_reader', 'Show the cluster status.',
          'GET', '/v1/status'),
    _rule('vmr:contract:list', 'rule:vmr:cloud_reader', 'List contracts.',
          'GET', '/v1/contracts'),
    _rule('vmr:contract:get', 'rule:vmr:cloud_reader', 'Show a contract.',
          'GET', '/v1/contracts/{name}'),
    _rule('vmr:contract:validate', 'rule:vmr:cloud_reader',
          'Validate a contract without storing it (dry_run=1).',
          'POST', '/v1/contracts?dry_run=1'),
    _rule('vmr:contract:create', 'rule:vmr:admin', 'Create a contract.',
          'POST', '/v1/contracts'),
    _rule('vmr:contract:update', 'rule:vmr:admin',
          'Create or replace a contract.', 'PUT', '/v1/contracts/{name}'),
    _rule('vmr:contract:delete', 'rule:vmr:admin', 'Delete a contract.',
          'DELETE', '/v1/contracts/{name}'),
    _rule('vmr:host:list', 'rule:vmr:cloud_reader', 'List hosts.',
          'GET', '/v1/hosts'),
    _rule('vmr:host:get', 'rule:vmr:cloud_reader', 'Show a host.',
          'GET', '/v1/hosts/{host}'),
    _rule('vmr:host:maintenance', 'rule:vmr:admin',
          'Put a host into or out of maintenance.',
          'POST', '/v1/hosts/{host}/maintenance'),
    _rule('vmr:host:confirm_fenced', 'rule:vmr:admin',
          'Confirm by hand that a host is powered off.',
          'POST', '/v1/hosts/{host}/confirm-fenced'),
    _rule('vmr:host:fence_test', 'rule:vmr:admin',
          'Test a host\'s fence path (power status through every rung; '
          'a confirmed power cycle of a host in maintenance).',
          'POST', '/v1/hosts/{host}/fence-test'),
    _rule('vmr:recovery:list', 'rule:vmr:reader', 'List recoveries.',
          'GET', '/v1/recoveries'),
    _rule('vmr:recovery:create', 'rule:vmr:admin',
          'Ask for a manual recovery with a contract whose trigger is '
          'manual.', 'POST', '/v1/recoveries'),
    _rule('vmr:recovery:get', 'rule:vmr:reader',
          'Show a recovery with its steps and timeline.',
          'GET', '/v1/recoveries/{id}'),
    _rule('vmr:segment:list', 'rule:vmr:cloud_reader',
          'List failover segments.', 'GET', '/v1/segments'),
    _rule('vmr:segment:get', 'rule:vmr:cloud_reader',
          'Show a failover segment.', 'GET', '/v1/segments/{name}'),
    _rule('vmr:segment:create', 'rule:vmr:admin',
          'Create a failover segment.', 'POST', '/v1/segments'),
    _rule('vmr:segment:update', 'rule:vmr:admin',
          'Create or replace a failover segment.', 'PUT',
          '/v1/segments/{name}'),
    _rule('vmr:segment:delete', 'rule:vmr:admin',
          'Delete a failover segment.', 'DELETE', '/v1/segments/{name}'),
    _rule('vmr:recovery:delete', 'rule:vmr:admin',
          'Purge a closed recovery from the history.',
          'DELETE', '/v1/recoveries/{id}'),
    _rule('vmr:plan:get', 'rule:vmr:cloud_reader',
          'Show what VMR would do if a host failed now (a dry run).',
          'GET', '/v1/plan?host={host}'),
    _rule('vmr:capacity:get', 'rule:vmr:cloud_reader',
          'Show how many host failures each aggregate and zone survives.',
          'GET', '/v1/capacity'),
    _rule('vmr:cluster:pause', 'rule:vmr:admin',
          'Pause VMR: the leader keeps observing but does nothing.',
          'POST', '/v1/pause'),
    _rule('vmr:cluster:resume', 'rule:vmr:admin', 'Resume after a pause.',
          'POST', '/v1/resume'),
    _rule('vmr:brake:release', 'rule:vmr:admin',
          'Release the disruption brake.', 'POST', '/v1/brake/release'),
    _rule('vmr:alarm:aodh', 'rule:vmr:admin',
          'Send an Aodh alarm notification with a Keystone token instead of '
          'the webhook token: what an Aodh trust+http action sends, with '
          'the roles its trust delegates from whoever created the alarm.',
          'POST', '/v1/alarms/aodh'),
]


def list_rules():
    """Every default rule (the ``oslo.policy.policies`` entry point)."""
    return BASE_RULES + API_RULES


def make_enforcer(conf):
    """An :class:`oslo_policy.policy.Enforcer` with VMR's defaults."""
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(list_rules())
    return enforcer


def authorize(enforcer, rule, context):
    """Raise :class:`oslo_policy.policy.PolicyNotAuthorized` unless the
    caller (an ``oslo_context`` RequestContext) passes ``rule``."""
    enforcer.authorize(rule, {'project_id': context.project_id},
                       context, do_raise=True)


def allowed(enforcer, rule, context):
    """Whether the caller passes ``rule`` (no exception)."""
    return bool(enforcer.enforce(rule, {'project_id': context.project_id},
                                 context, do_raise=False))
