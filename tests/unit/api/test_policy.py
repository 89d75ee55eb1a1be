"""The default policy: readers read, only admins write (real oslo.policy)."""

import pytest
from oslo_config import cfg
from oslo_context import context
from oslo_policy import policy as oslo_policy

from vmr_coordinator.api import policy, routing


@pytest.fixture
def enforcer():
    conf = cfg.ConfigOpts()
    conf([], project='vmr', default_config_files=[])
    return policy.make_enforcer(conf)


def allowed(enforcer, rule, roles):
    ctx = context.RequestContext(roles=roles, project_id='p1',
                                 user_id='u1')
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


@pytest.mark.parametrize('rule', [r.name for r in policy.API_RULES])
def test_defaults(enforcer, rule):
    reads = rule.endswith((':get', ':list', ':validate'))
    assert allowed(enforcer, rule, ['admin'])
    assert allowed(enforcer, rule, ['reader']) is reads
    assert allowed(enforcer, rule, ['member']) is reads
    assert not allowed(enforcer, rule, ['guest'])
    assert not allowed(enforcer, rule, [])
