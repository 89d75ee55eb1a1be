"""The default policy: cloud readers read the cloud, project readers their
recoveries, only admins write (real oslo.policy)."""

import pytest
from oslo_config import cfg
from oslo_context import context
from oslo_policy import policy as oslo_policy

from vmr_coordinator.api import policy, routing


def _conf():
    conf = cfg.ConfigOpts()
    conf([], project='vmr', default_config_files=[])
    return conf


@pytest.fixture
def enforcer():
    return policy.make_enforcer(_conf())


def allowed(enforcer, rule, roles, system=False):
    ctx = context.RequestContext(roles=roles, user_id='u1',
                                 project_id=None if system else 'p1',
                                 system_scope='all' if system else None)
    try:
        policy.authorize(enforcer, rule, ctx)
    except oslo_policy.PolicyNotAuthorized:
        return False
    return True


def test_every_protected_route_has_a_registered_rule(enforcer):
    names = {r.name for r in policy.list_rules()}
    for route in routing.ROUTES:
        if route.rule is None:
            continue
        rules = [route.rule] if isinstance(route.rule, str) else \
            list(route.rule.rules)
        assert set(rules) <= names, route.name


#: what a project's reader or member may read: its recoveries
PROJECT_READS = ('vmr:recovery:list', 'vmr:recovery:get')


@pytest.mark.parametrize('rule', [r.name for r in policy.API_RULES])
def test_defaults(enforcer, rule):
    reads = rule.endswith((':get', ':list', ':validate'))
    assert allowed(enforcer, rule, ['admin'])
    # a system-scoped reader reads everything, writes nothing
    assert allowed(enforcer, rule, ['reader'], system=True) is reads
    # a project's reader or member reads its recoveries only
    project = rule in PROJECT_READS
    assert allowed(enforcer, rule, ['reader']) is project
    assert allowed(enforcer, rule, ['member']) is project
    assert not allowed(enforcer, rule, ['guest'])
    assert not allowed(enforcer, rule, [])


def test_only_cloud_readers_see_every_project():
    enforcer_ = policy.make_enforcer(_conf())
    ctx = context.RequestContext(roles=['member'], project_id='p1')
    assert not policy.allowed(enforcer_, 'vmr:recovery:all_projects', ctx)
    ctx = context.RequestContext(roles=['admin'], project_id='p1')
    assert policy.allowed(enforcer_, 'vmr:recovery:all_projects', ctx)
    ctx = context.RequestContext(roles=['reader'], system_scope='all')
    assert policy.allowed(enforcer_, 'vmr:recovery:all_projects', ctx)
