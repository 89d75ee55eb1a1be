"""Parsing fills defaults, round-trips, and ships with valid examples and docs."""

import json
import pathlib

import jsonschema
import pytest
import yaml

from tests.unit.contracts.samples import doc
from vmr_coordinator import contracts
from vmr_coordinator.contracts import (ActionSpec, Contract, Limits, Selector, load_schema,
                                       parse_contract, schema_reference_rst, validate_many)

ROOT = pathlib.Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / 'etc' / 'vmr' / 'contracts').glob('*.yaml'))


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema['$schema'].endswith('2020-12/schema')


def test_load_schema_returns_a_fresh_copy():
    load_schema()['properties'].clear()
    assert 'name' in load_schema()['properties']


def test_schema_and_code_agree_on_the_plugin_names():
    assert contracts.trigger_types() == ['host_down', 'instance_down', 'process_down',
                                         'alarm', 'maintenance', 'manual']
    assert set(contracts.action_types()) == {
        'evacuate', 'live_migrate', 'boot_from_snapshot', 'rebuild', 'suspend', 'resume',
        'reboot', 'fip_failover', 'lb_failover', 'mistral', 'webhook', 'noop'}


def test_defaults_are_filled_in():
    contract = parse_contract(doc())
    assert contract == Contract(
        name='web-ha', trigger={'type': 'host_down'},
        selector=Selector(metadata={'ha': 'true'}),
        action=ActionSpec('evacuate', {'on_shared_storage': 'auto', 'start_if_shutoff': True,
                                       'lost_after': 300}),
        on_failure=(), limits=Limits(concurrency=10, retries=3, backoff=2.0, timeout=600),
        priority=100, enabled=True, description='')


@pytest.mark.parametrize('action, params', [
    ({'type': 'live_migrate'}, {'block_migration': 'auto'}),
    ({'type': 'boot_from_snapshot'}, {'image': 'newest_snapshot', 'reattach_volumes': True,
                                      'move_floating_ips': True, 'delete_old': True}),
    ({'type': 'rebuild'}, {'preserve_ephemeral': False}),
    ({'type': 'reboot'}, {'type': 'soft_then_hard', 'soft_timeout': 120}),
    ({'type': 'fip_failover'}, {'pair_metadata_key': 'vmr_pair', 'role_key': 'vmr_role',
                                'swap_roles': True, 'mode': 'api'}),
    ({'type': 'lb_failover', 'params': {'pool': 'p'}},
     {'pool': 'p', 'standby_metadata': {'vmr_role': 'standby'},
      'pair_metadata_key': 'vmr_pair', 'verify_timeout': 120}),
    ({'type': 'mistral', 'params': {'workflow': 'w'}},
     {'workflow': 'w', 'input': {}, 'wait': True, 'timeout': 600,
      'needs_fence': True}),
    ({'type': 'webhook', 'params': {'url': 'https://h/x', 'secret_ref': 'cmdb'}},
     {'url': 'https://h/x', 'secret_ref': 'cmdb', 'timeout': 10,
      'needs_fence': True}),
    ({'type': 'noop'}, {}),
])
def test_action_param_defaults(action, params):
    contract = parse_contract(doc(trigger={'type': 'manual'}, action=action))
    assert contract.action.params == params


def test_trigger_defaults():
    contract = parse_contract(doc(trigger={'type': 'instance_down'}, action={'type': 'rebuild'}))
    assert contract.trigger == {'type': 'instance_down', 'statuses': ['ERROR', 'SHUTOFF']}


def test_single_on_failure_becomes_a_one_rung_ladder():
    contract = parse_contract(doc(on_failure={'type': 'boot_from_snapshot'}))
    assert [rung.type for rung in contract.on_failure] == ['boot_from_snapshot']
    assert contract.to_dict()['on_failure'][0]['type'] == 'boot_from_snapshot'


def test_project_is_normalised_to_projects():
    contract = parse_contract(doc(selector={'project': 'p1'}))
    assert contract.selector.projects == ('p1',)
    assert contract.to_dict()['selector']['projects'] == ['p1']


def test_integral_floats_become_ints():
    contract = parse_contract(doc(priority=7.0, limits={'timeout': 30.0, 'backoff': 3}))
    assert type(contract.priority) is int and contract.priority == 7
    assert type(contract.limits.timeout) is int
    assert contract.limits.backoff == 3.0 and type(contract.limits.backoff) is float


def test_to_dict_round_trips_and_is_json():
    contract = parse_contract(doc(on_failure=[{'type': 'boot_from_snapshot'},
                                              {'type': 'webhook',
                                               'params': {'url': 'https://h',
                                                          'secret_ref': 'k'}}],
                                  limits={'concurrency': 2}, enabled=False))
    as_dict = contract.to_dict()
    assert parse_contract(as_dict) == contract
    assert parse_contract(json.dumps(as_dict)) == contract
    assert parse_contract(yaml.safe_dump(as_dict)) == contract


def test_to_dict_is_a_copy():
    contract = parse_contract(doc())
    contract.to_dict()['action']['params']['start_if_shutoff'] = False
    contract.to_dict()['trigger']['type'] = 'manual'
    assert contract.action.params['start_if_shutoff'] is True
    assert contract.trigger_type == 'host_down'


def test_parse_does_not_modify_its_input():
    document = doc(action={'type': 'reboot'}, trigger={'type': 'manual'})
    before = json.dumps(document, sort_keys=True)
    parse_contract(document)
    assert json.dumps(document, sort_keys=True) == before


def test_yaml_json_and_bytes_are_accepted():
    text = 'name: a\ntrigger: {type: host_down}\nselector: {all: true}\naction: {type: evacuate}\n'
    assert parse_contract(text) == parse_contract(text.encode()) == parse_contract(
        json.dumps(yaml.safe_load(text)))


def test_metadata_star_and_glob_free_values_are_kept_verbatim():
    contract = parse_contract(doc(selector={'metadata': {'vmr_pair': '*'}}))
    assert contract.selector.metadata == {'vmr_pair': '*'}


def test_validate_many_keeps_order():
    names = [c.name for c in validate_many([doc(name='b'), doc(name='a')])]
    assert names == ['b', 'a']


@pytest.mark.parametrize('trigger, action', [
    ({'type': 'host_down'}, 'evacuate'), ({'type': 'host_down'}, 'fip_failover'),
    ({'type': 'process_down', 'process': 'ovs-vswitchd'}, 'live_migrate'),
    ({'type': 'process_down', 'process': 'ovs-vswitchd'}, 'reboot'),
    ({'type': 'process_down'}, 'evacuate'),
    ({'type': 'instance_down', 'statuses': ['SUSPENDED']}, 'resume'),
    ({'type': 'instance_down'}, 'reboot'), ({'type': 'maintenance'}, 'live_migrate'),
    ({'type': 'maintenance'}, 'suspend'), ({'type': 'manual'}, 'resume'),
    ({'type': 'alarm', 'name': 'x'}, 'live_migrate'),
])
def test_compatible_pairs_are_accepted(trigger, action):
    assert parse_contract(doc(trigger=trigger, action={'type': action})).action.type == action


@pytest.mark.parametrize('path', EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_contract_parses(path):
    contract = parse_contract(path.read_text(encoding='utf-8'))
    assert parse_contract(contract.to_dict()) == contract


def test_examples_cover_every_action_and_the_required_scenarios():
    parsed = validate_many(p.read_text(encoding='utf-8') for p in EXAMPLES)
    actions = {c.action.type for c in parsed}
    assert actions >= set(contracts.action_types()) - {'noop'}
    pairs = {(c.trigger_type, c.action.type) for c in parsed}
    assert ('instance_down', 'rebuild') in pairs
    assert ('maintenance', 'live_migrate') in pairs
    sources = {c.trigger.get('source') for c in parsed if c.trigger_type == 'alarm'}
    assert sources >= {'aodh', 'alertmanager'}


def test_reference_doc_is_up_to_date():
    text = (ROOT / 'doc' / 'contracts.rst').read_text(encoding='utf-8')
    generated = text.split('.. BEGIN GENERATED\n', 1)[1].split('\n.. END GENERATED', 1)[0]
    assert generated.strip() == schema_reference_rst().strip(), (
        'doc/contracts.rst is stale: regenerate with python -m vmr_coordinator.contracts rst')


def test_reference_documents_every_field():
    rst = schema_reference_rst()
    schema = load_schema()
    for key in schema['properties']:
        assert f'``{key}``' in rst
    for name, sub in schema['$defs'].items():
        for key in sub.get('properties', {}):
            if key != 'type' or name.startswith('params_') or name == 'action':
                assert f'``{key}``' in rst, (name, key)
    assert 'Trigger and action compatibility' in rst


def test_cli_renders_and_validates(capsys):
    assert contracts.main(['rst']) == 0
    assert 'Contract fields' in capsys.readouterr().out
    assert contracts.main(['validate', str(EXAMPLES[0])]) == 0
    assert ': ok (' in capsys.readouterr().out
    assert contracts.main([]) == 2
