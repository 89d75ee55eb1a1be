"""match(): which contract heals which server, in which order, and why not."""

import types

import pytest

from tests.unit.contracts.samples import contract, server
from vmr_coordinator.contracts import (ContractError, ServerFacts, ServiceVmPolicy, match,
                                       parse_contract)
from vmr_coordinator.triggers.base import TriggerEventError, TriggerNotFound

HOST_DOWN = {'type': 'host_down', 'host': 'compute-3'}


def plan_of(contracts, servers, event=HOST_DOWN, **kwargs):
    return match(contracts, event, servers, **kwargs)


def assignments(plan):
    return [(step.server.name, step.contract.name) for step in plan.steps]


def test_highest_priority_first_then_server_name():
    contracts = [contract('low', 10, selector={'metadata': {'tier': 'low'}}),
                 contract('high', 500, selector={'metadata': {'tier': 'high'}})]
    servers = [server('b', metadata={'tier': 'low'}), server('a', metadata={'tier': 'low'}),
               server('z', metadata={'tier': 'high'}), server('y', metadata={'tier': 'high'})]
    assert assignments(plan_of(contracts, servers)) == [
        ('y', 'high'), ('z', 'high'), ('a', 'low'), ('b', 'low')]


def test_server_matched_twice_gets_the_higher_priority_and_records_the_shadowed():
    contracts = [contract('catch-all', 1), contract('web', 100, selector={'aggregate': 'web'}),
                 contract('web-too', 50, selector={'metadata': {'ha': 'true'}})]
    web = server('web-1', aggregates=['web'], metadata={'ha': 'true'})
    [step] = plan_of(contracts, [web]).steps
    assert step.contract.name == 'web'
    assert step.shadowed == ('web-too', 'catch-all')
    assert step.action == step.contract.action


def test_equal_priorities_are_broken_by_contract_name():
    contracts = [contract('beta', 100), contract('alpha', 100)]
    [step] = plan_of(contracts, [server('a')]).steps
    assert step.contract.name == 'alpha' and step.shadowed == ('beta',)


def test_disabled_contracts_are_skipped():
    contracts = [contract('off', 900, enabled=False), contract('on', 1)]
    [step] = plan_of(contracts, [server('a')]).steps
    assert step.contract.name == 'on' and step.shadowed == ()
    plan = plan_of([contract('off', enabled=False)], [server('a')])
    assert plan.steps == () and [s.name for s in plan.unmatched] == ['a']


def test_contracts_for_other_triggers_do_not_match():
    contracts = [contract('drain', trigger={'type': 'maintenance'},
                          action={'type': 'live_migrate'})]
    plan = plan_of(contracts, [server('a')])
    assert plan.steps == () and len(plan.unmatched) == 1


def test_on_failure_ladder_is_carried_into_the_step():
    c = contract('c', on_failure=[{'type': 'boot_from_snapshot'}, {'type': 'noop'}])
    [step] = plan_of([c], [server('a')]).steps
    assert [rung.type for rung in step.on_failure] == ['boot_from_snapshot', 'noop']


FACTS = dict(metadata={'ha': 'true', 'app': 'web'}, project_id='p1',
             server_groups=['web-group', 'sg-uuid-1'], aggregates=['az1-general'],
             availability_zone='az1')


@pytest.mark.parametrize('selector, hit', [
    ({'all': True}, True),
    ({'metadata': {'ha': 'true'}}, True),
    ({'metadata': {'ha': 'false'}}, False),
    ({'metadata': {'ha': '*'}}, True),
    ({'metadata': {'missing': '*'}}, False),
    ({'metadata': {'ha': 'true', 'app': 'web'}}, True),
    ({'metadata': {'ha': 'true', 'app': 'db'}}, False),
    ({'project': 'p1'}, True),
    ({'project': 'p2'}, False),
    ({'projects': ['p2', 'p1']}, True),
    ({'projects': ['p2', 'p3']}, False),
    ({'server_group': 'web-group'}, True),
    ({'server_group': 'sg-uuid-1'}, True),
    ({'server_group': 'db-group'}, False),
    ({'aggregate': 'az1-general'}, True),
    ({'aggregate': 'gpu'}, False),
    ({'availability_zone': 'az1'}, True),
    ({'availability_zone': 'az2'}, False),
    ({'servers': ['web-1']}, True),
    ({'servers': ['id-web-1']}, True),
    ({'servers': ['web-2']}, False),
    # combined: every criterion must hold
    ({'metadata': {'ha': 'true'}, 'project': 'p1', 'server_group': 'web-group',
      'aggregate': 'az1-general', 'availability_zone': 'az1', 'servers': ['web-1']}, True),
    ({'metadata': {'ha': 'true'}, 'project': 'p1', 'availability_zone': 'az2'}, False),
    ({'aggregate': 'az1-general', 'servers': ['other']}, False),
    ({'project': 'p1', 'metadata': {'ha': 'false'}}, False),
])
def test_selectors_alone_and_combined(selector, hit):
    plan = plan_of([contract('c', selector=selector)], [server('web-1', **FACTS)])
    assert bool(plan.steps) is hit
    assert len(plan.unmatched) == (0 if hit else 1)


def test_servers_outside_the_event_are_skipped_with_a_reason():
    plan = plan_of([contract('c')], [server('a'), server('b', host='compute-9')])
    assert assignments(plan) == [('a', 'c')]
    [skip] = plan.skipped
    assert skip.server.name == 'b'
    assert 'about host compute-3' in skip.reason and 'compute-9' in skip.reason


AMPHORA = dict(name='amphora-1f2e3d4c', id='amp-1', host='compute-3')


@pytest.mark.parametrize('facts, words', [
    (AMPHORA, 'looks like an Octavia amphora (name amphora-1f2e3d4c)'),
    (dict(name='lb-vm', id='x', image_tags=['amphora']), "image tagged 'amphora'"),
    (dict(name='lb-vm', id='x', image_name='amphora-x64-haproxy'),
     'looks like an Octavia amphora (image amphora-x64-haproxy)'),
    (dict(name='lb-vm', id='x', project_id='octavia-project'),
     'belongs to service project octavia-project'),
    (dict(name='k8s-master', id='x', owner='magnum'), 'is managed by magnum'),
])
def test_service_vms_are_skipped_by_default(facts, words):
    policy = ServiceVmPolicy(project_ids={'octavia-project'})
    plan = plan_of([contract('web-ha')], [ServerFacts(**{'host': 'compute-3', **facts})],
                   policy=policy)
    assert plan.steps == ()
    [skip] = plan.skipped
    assert skip.reason.startswith('skipped: ')
    assert words in skip.reason
    assert 'matched by web-ha' in skip.reason
    assert 'select it explicitly' in skip.reason


def test_service_vms_are_healed_when_selected_explicitly():
    amphora = ServerFacts(**AMPHORA)
    by_name = contract('lb-by-name', 10, selector={'servers': ['amphora-1f2e3d4c']})
    by_flag = contract('lb-by-flag', 5, selector={'all': True, 'include_service_vms': True})
    general = contract('general', 900)
    plan = plan_of([general, by_flag], [amphora])
    [step] = plan.steps
    # the higher-priority contract does not select it explicitly, so it does not win
    assert step.contract.name == 'lb-by-flag' and step.shadowed == ()
    [step] = plan_of([general, by_name, by_flag], [amphora]).steps
    assert step.contract.name == 'lb-by-name' and step.shadowed == ('lb-by-flag',)


def test_service_vm_policy_is_configurable():
    amphora = ServerFacts(**AMPHORA)
    relaxed = ServiceVmPolicy(image_tags=(), name_prefixes=(), honour_owner_hint=False)
    assert len(plan_of([contract('c')], [amphora], policy=relaxed).steps) == 1
    strict = ServiceVmPolicy(name_prefixes=('trove-',))
    plan = plan_of([contract('c')], [server('trove-db1')], policy=strict)
    assert "name starts with 'trove-'" in plan.skipped[0].reason


def test_service_vm_policy_from_conf():
    conf = types.SimpleNamespace(cloud=types.SimpleNamespace(
        service_vm_projects=['svc'], service_vm_name_prefixes=['amphora-', 'trove-'],
        service_vm_image_tags=['amphora']))
    policy = ServiceVmPolicy.from_conf(conf)
    assert policy.project_ids == frozenset({'svc'})
    assert policy.name_prefixes == ('amphora-', 'trove-')
    assert policy.image_tags == frozenset({'amphora'})


def test_service_vm_matching_no_contract_is_unmatched():
    plan = plan_of([contract('c', selector={'aggregate': 'x'})], [ServerFacts(**AMPHORA)])
    assert plan.steps == () and plan.skipped == () and len(plan.unmatched) == 1


def test_instance_down_concerns_one_server_and_its_status():
    rebuild = contract('rebuild', trigger={'type': 'instance_down', 'statuses': ['ERROR']},
                       action={'type': 'rebuild'})
    event = {'type': 'instance_down', 'server_id': 'id-a', 'status': 'ERROR'}
    plan = plan_of([rebuild], [server('a'), server('b')], event=event)
    assert assignments(plan) == [('a', 'rebuild')]
    shutoff = dict(event, status='SHUTOFF')
    assert plan_of([rebuild], [server('a')], event=shutoff).steps == ()


def test_alarm_event_matches_by_name_and_labels():
    contracts = [
        contract('disk', trigger={'type': 'alarm', 'name': 'NodeDisk*',
                                  'labels': {'severity': 'critical'}},
                 action={'type': 'live_migrate'}),
        contract('other', trigger={'type': 'alarm', 'name': 'Other'}),
    ]
    event = {'type': 'alarm', 'source': 'alertmanager', 'name': 'NodeDiskFailing',
             'labels': {'severity': 'critical'}, 'host': 'compute-3', 'server_ids': []}
    plan = plan_of(contracts, [server('a'), server('b', host='compute-4')], event=event)
    assert assignments(plan) == [('a', 'disk')]
    assert plan.description == "alertmanager alarm 'NodeDiskFailing' fired on host compute-3"


def test_manual_event_concerns_the_named_servers():
    c = contract('by-hand', trigger={'type': 'manual'}, action={'type': 'reboot'})
    event = {'type': 'manual', 'servers': ['b']}
    assert assignments(plan_of([c], [server('a'), server('b')], event=event)) == [
        ('b', 'by-hand')]


def test_manual_event_naming_a_contract_is_healed_by_that_contract_only():
    high = contract('high', priority=500, trigger={'type': 'manual'},
                    action={'type': 'reboot'})
    low = contract('low', priority=10, trigger={'type': 'manual'},
                   action={'type': 'rebuild'})
    event = {'type': 'manual', 'servers': ['b'], 'contract': 'low'}
    plan = plan_of([high, low], [server('b')], event=event)
    assert assignments(plan) == [('b', 'low')]
    assert plan.steps[0].shadowed == ()
    assert 'with contract low' in plan.description


def test_duplicate_server_facts_are_planned_once():
    plan = plan_of([contract('c')], [server('a'), server('a')])
    assert len(plan.steps) == 1


def test_duplicate_contract_names_are_refused():
    with pytest.raises(ContractError, match='duplicate name'):
        plan_of([contract('c', 1), contract('b', 50), contract('c', 100)], [server('a')])


@pytest.mark.parametrize('event, error', [
    ({'type': 'host_down'}, TriggerEventError),
    ({'type': 'volcano'}, TriggerNotFound),
    ({}, TriggerNotFound),
    ('host_down', TriggerEventError),
])
def test_malformed_events_are_refused(event, error):
    with pytest.raises(error):
        plan_of([contract('c')], [server('a')], event=event)


def test_plan_summary_and_journal_form():
    contracts = [contract('web', 100, selector={'metadata': {'ha': 'true'}}),
                 contract('db', 200, selector={'metadata': {'db': 'true'}})]
    servers = [server('w1', metadata={'ha': 'true'}), server('w2', metadata={'ha': 'true'}),
               server('d1', metadata={'db': 'true'}), server('x'),
               server('amphora-1'), server('far', host='compute-1')]
    plan = plan_of(contracts + [contract('all', 0)], servers)
    assert plan.summary() == ('host compute-3 is down: 4 steps (db ×1, web ×2, all ×1), '
                              '0 unmatched, 2 skipped')
    plan = plan_of(contracts, servers)
    # the amphora matches no contract here: unmatched, not skipped
    assert plan.summary().endswith('3 steps (db ×1, web ×2), 2 unmatched, 1 skipped')
    journal = plan.to_dict()
    assert journal['event'] == HOST_DOWN
    assert journal['steps'][0] == {
        'server_id': 'id-d1', 'server_name': 'd1', 'contract': 'db', 'priority': 200,
        'action': {'type': 'evacuate',
                   'params': {'on_shared_storage': 'auto', 'start_if_shutoff': True,
                                  'lost_after': 300}},
        'on_failure': [], 'shadowed': []}
    assert journal['unmatched'] == [{'server_id': 'id-amphora-1', 'server_name': 'amphora-1'},
                                    {'server_id': 'id-x', 'server_name': 'x'}]
    assert [s['server_name'] for s in journal['skipped']] == ['far']


def test_server_facts_from_and_to_dict():
    facts = ServerFacts.from_dict({'id': 's1', 'name': 'web', 'aggregates': ['b', 'a'],
                                   'status': 'ERROR', 'flavor': 'ignored'})
    assert facts.aggregates == frozenset({'a', 'b'})
    assert facts.to_dict()['aggregates'] == ['a', 'b']
    assert ServerFacts.from_dict(facts.to_dict()) == facts
    assert facts.label() == 'web (s1)'


def test_match_accepts_parsed_contracts_of_every_example_shape():
    fip = parse_contract({'name': 'vpn', 'priority': 500, 'trigger': {'type': 'host_down'},
                          'selector': {'metadata': {'vmr_pair': '*'}},
                          'action': {'type': 'fip_failover'}})
    plan = plan_of([fip, contract('rest', 1)],
                   [server('vpn-a', metadata={'vmr_pair': 'vpn', 'vmr_role': 'active'}),
                    server('web')])
    assert assignments(plan) == [('vpn-a', 'vpn'), ('web', 'rest')]


def test_selector_by_server_tags_needs_every_tag():
    c = contract('tagged', selector={'tags': ['evacuable', 'gold']})
    servers = [server('both', tags={'evacuable', 'gold', 'x'}),
               server('one', tags={'evacuable'}), server('none')]
    assert assignments(plan_of([c], servers)) == [('both', 'tagged')]


@pytest.mark.parametrize('wanted', ['m1.large', 'f-42'])
def test_selector_by_flavor_name_or_id(wanted):
    c = contract('flavored', selector={'flavors': [wanted, 'm1.tiny']})
    servers = [server('big', flavor_id='f-42', flavor_name='m1.large'),
               server('small', flavor_id='f-1', flavor_name='m1.small'),
               server('unknown')]
    assert assignments(plan_of([c], servers)) == [('big', 'flavored')]


@pytest.mark.parametrize('wanted', ['rhel-9', 'img-9'])
def test_selector_by_image_name_or_id(wanted):
    c = contract('imaged', selector={'images': [wanted]})
    servers = [server('vm', image_id='img-9', image_name='rhel-9'),
               server('other', image_id='img-8', image_name='rhel-8'),
               server('from-volume')]    # no image at all
    assert assignments(plan_of([c], servers)) == [('vm', 'imaged')]


def test_tags_flavors_and_images_combine_with_and():
    c = contract('all-three', selector={'tags': ['evacuable'],
                                        'flavors': ['m1.large'],
                                        'images': ['rhel-9']})
    facts = dict(tags={'evacuable'}, flavor_name='m1.large',
                 image_name='rhel-9')
    servers = [server('yes', **facts),
               server('no-tag', **dict(facts, tags=set())),
               server('no-flavor', **dict(facts, flavor_name='m1.small'))]
    assert assignments(plan_of([c], servers)) == [('yes', 'all-three')]
    assert c.selector.to_dict() == {
        'tags': ['evacuable'], 'flavors': ['m1.large'], 'images': ['rhel-9'],
        'include_service_vms': False}
    assert parse_contract(c.to_dict()) == c


def test_service_vm_by_image_owner_project():
    policy = ServiceVmPolicy(project_ids={'svc'})
    c = contract('all')
    servers = [server('lb', image_owner='svc', image_name='lb-image'),
               server('app', image_owner='tenant')]
    plan = plan_of([c], servers, policy=policy)
    assert assignments(plan) == [('app', 'all')]
    (skip,) = plan.skipped
    assert 'runs image lb-image of service project svc' in skip.reason
