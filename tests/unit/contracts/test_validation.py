"""Every way a contract can be refused names the field and the problem."""

import pytest

from tests.unit.contracts.samples import doc
from vmr_coordinator.contracts import ContractError, parse_contract, validate_many


def refused(document):
    with pytest.raises(ContractError) as info:
        parse_contract(document)
    return info.value


@pytest.mark.parametrize('document, field, words', [
    # document level
    (doc(name=None), 'name', 'is required'),
    (doc(trigger=None), 'trigger', 'is required'),
    (doc(selector=None), 'selector', 'is required'),
    (doc(action=None), 'action', 'is required'),
    (doc(prio=5), 'prio', 'did you mean "priority"'),
    (doc(name='Web HA'), 'name', 'lower-case letters'),
    (doc(name='-web'), 'name', 'starting with a letter or digit'),
    (doc(name='x' * 64), 'name', 'at most 63 characters'),
    (doc(name=5), 'name', 'must be a string'),
    (doc(description=['x']), 'description', 'must be a string'),
    (doc(description='x' * 1025), 'description', 'at most 1024 characters'),
    (doc(priority=1001), 'priority', 'between 0 and 1000'),
    (doc(priority=-1), 'priority', 'between 0 and 1000'),
    (doc(priority='high'), 'priority', 'must be an integer'),
    (doc(priority=True), 'priority', 'must be an integer'),
    (doc(priority=1.5), 'priority', 'must be an integer'),
    (doc(enabled='yes'), 'enabled', 'must be true or false'),
    # trigger
    (doc(trigger={}), 'trigger.type', 'is required; one of: host_down'),
    (doc(trigger='host_down'), 'trigger', 'must be a mapping'),
    (doc(trigger={'type': 'host-down'}), 'trigger.type', 'did you mean "host_down"'),
    (doc(trigger={'type': 'host_down', 'host': 'c1'}), 'trigger.host',
     'host_down" takes no other fields'),
    (doc(trigger={'type': 'instance_down', 'statuses': []}), 'trigger.statuses',
     'must not be empty'),
    (doc(trigger={'type': 'instance_down', 'statuses': ['BROKEN']}), 'trigger.statuses[0]',
     'use one of: ERROR, SHUTOFF'),
    (doc(trigger={'type': 'instance_down', 'statuses': ['ERROR', 'ERROR']}),
     'trigger.statuses', 'duplicate'),
    (doc(trigger={'type': 'process_down', 'process': ''}), 'trigger.process',
     'must not be empty'),
    (doc(trigger={'type': 'alarm'}), 'trigger.name', 'is required'),
    (doc(trigger={'type': 'alarm', 'name': 'x', 'source': 'nagios'}), 'trigger.source',
     'use one of: aodh, alertmanager'),
    (doc(trigger={'type': 'alarm', 'name': 'x', 'labels': {'severity': 2}}),
     'trigger.labels.severity', 'quote it in YAML'),
    (doc(trigger={'type': 'alarm', 'name': 'x', 'labels': {'': 'v'}}), 'trigger.labels',
     'invalid key'),
    # selector
    (doc(selector={}), 'selector', 'selects nothing'),
    (doc(selector={'include_service_vms': True}), 'selector', 'or all: true'),
    (doc(selector={'all': False}), 'selector', 'selects nothing'),
    (doc(selector={'all': True, 'aggregate': 'a'}), 'selector.all', 'cannot be combined'),
    (doc(selector={'project': 'p', 'projects': ['q']}), 'selector.projects',
     'either project or projects'),
    (doc(selector={'metadata': {'ha': True}}), 'selector.metadata.ha',
     'quote it in YAML: "true"'),
    (doc(selector={'metadata': {'ha': 1}}), 'selector.metadata.ha', 'must be a string'),
    (doc(selector={'servers': []}), 'selector.servers', 'must not be empty'),
    (doc(selector={'servers': ['a', 'a']}), 'selector.servers', 'duplicate'),
    (doc(selector={'projects': 'p'}), 'selector.projects', 'must be a list'),
    (doc(selector={'server_group': ''}), 'selector.server_group', 'must not be empty'),
    (doc(selector={'hosts': ['c1']}), 'selector.hosts', 'valid fields: aggregate'),
    (doc(selector={'aggregate': 'a', 'include_service_vms': 'yes'}),
     'selector.include_service_vms', 'true or false'),
    # action
    (doc(action={}), 'action.type', 'is required; one of: evacuate'),
    (doc(action={'type': 'evacute'}), 'action.type', 'did you mean "evacuate"'),
    (doc(action={'type': 'heal'}), 'action.type',
     'valid types: evacuate, live_migrate, boot_from_snapshot'),
    (doc(action={'type': 'evacuate', 'param': {}}), 'action.param', 'did you mean "params"'),
    (doc(action={'type': 'evacuate', 'params': []}), 'action.params', 'must be a mapping'),
    (doc(action={'type': 'evacuate', 'params': {'target': 'c1'}}), 'action.params.target',
     'valid fields: lost_after, on_shared_storage'),
    (doc(action={'type': 'evacuate', 'params': {'on_shared_storage': 'maybe'}}),
     'action.params.on_shared_storage', 'use one of: auto, true, false'),
    (doc(action={'type': 'evacuate',
                 'params': {'target_host': 'c1', 'target_aggregate': 'spares'}}),
     'action.params.target_aggregate', 'not both'),
    (doc(action={'type': 'suspend', 'params': {'now': True}}, trigger={'type': 'manual'}),
     'action.params.now', 'action "suspend" takes no parameters'),
    (doc(action={'type': 'mistral'}), 'action.params', 'mistral needs params: workflow'),
    (doc(action={'type': 'mistral', 'params': {}}), 'action.params.workflow', 'is required'),
    (doc(action={'type': 'mistral', 'params': {'workflow': 'w', 'timeout': 0}}),
     'action.params.timeout', 'between 1 and 86400'),
    (doc(action={'type': 'mistral', 'params': {'workflow': 'w', 'input': 'x'}}),
     'action.params.input', 'must be a mapping'),
    (doc(action={'type': 'lb_failover', 'params': {}}), 'action.params.pool', 'is required'),
    (doc(action={'type': 'lb_failover', 'params': {'pool': 'p', 'standby_metadata': {}}}),
     'action.params.standby_metadata', 'must not be empty'),
    (doc(action={'type': 'fip_failover',
                 'params': {'pair_metadata_key': 'k', 'role_key': 'k'}}),
     'action.params.role_key', 'must differ'),
    (doc(action={'type': 'fip_failover', 'params': {'role_key': 'has space'}}),
     'action.params.role_key', 'must match the pattern'),
    (doc(action={'type': 'boot_from_snapshot', 'params': {'reattach_volumes': 'yes'}}),
     'action.params.reattach_volumes', 'true or false'),
    (doc(action={'type': 'boot_from_snapshot', 'params': {'boot_as': 'admin'}}),
     'action.params.boot_as', '"admin" is not allowed; use one of: owner, vmr'),
    (doc(action={'type': 'boot_from_snapshot', 'params': {'boot_as': 'owners'}}),
     'action.params.boot_as', 'did you mean "owner"? use one of: owner, vmr'),
    (doc(action={'type': 'boot_from_snapshot', 'params': {'boot_as': True}}),
     'action.params.boot_as', 'true is not allowed; use one of: owner, vmr'),
    (doc(on_failure={'type': 'boot_from_snapshot', 'params': {'boot_as': ''}}),
     'on_failure.params.boot_as', '"" is not allowed; use one of: owner, vmr'),
    (doc(action={'type': 'reboot', 'params': {'type': 'warm'}}, trigger={'type': 'manual'}),
     'action.params.type', 'use one of: soft, hard, soft_then_hard'),
    (doc(action={'type': 'live_migrate', 'params': {'block_migration': 'yes'}},
         trigger={'type': 'maintenance'}),
     'action.params.block_migration', 'use one of: auto, true, false'),
    (doc(action={'type': 'webhook', 'params': {'url': 'https://h/x'}}),
     'action.params.secret_ref', 'is required'),
    (doc(action={'type': 'webhook', 'params': {'url': 'ftp://h/x', 'secret_ref': 'k'}}),
     'action.params.url', 'an http:// or https:// URL'),
    (doc(action={'type': 'webhook',
                 'params': {'url': 'https://h/x', 'secret_ref': 'https://vault/x'}}),
     'action.params.secret_ref', 'NAME of a secret'),
    (doc(action={'type': 'webhook',
                 'params': {'url': 'https://h/x', 'secret_ref': 'hunter2 with spaces'}}),
     'action.params.secret_ref', 'never the secret itself'),
    (doc(action={'type': 'webhook',
                 'params': {'url': 'https://h/x', 'secret_ref': 'q8ZfT3kLm9Xw2Rv7Yp4Hs6Jn'}}),
     'action.params.secret_ref', 'looks like a secret value'),
    (doc(action={'type': 'webhook',
                 'params': {'url': 'https://bob:pw@h/x', 'secret_ref': 'cmdb'}}),
     'action.params.url', 'must not carry credentials'),
    (doc(action={'type': 'webhook',
                 'params': {'url': 'https://h/x', 'secret_ref': 'cmdb',
                            'headers': {'Authorization': 'Bearer x'}}}),
     'action.params.headers.Authorization', 'credentials do not belong'),
    (doc(action={'type': 'webhook',
                 'params': {'url': 'https://h/x', 'secret_ref': 'cmdb', 'timeout': 301}}),
     'action.params.timeout', 'between 1 and 300'),
    # trigger/action compatibility
    (doc(action={'type': 'live_migrate'}), 'action.type', 'the source host is dead'),
    (doc(action={'type': 'resume'}), 'action.type', 'cannot follow trigger host_down'),
    (doc(action={'type': 'reboot'}), 'action.type', 'which is dead'),
    (doc(action={'type': 'evacuate'}, trigger={'type': 'instance_down'}), 'action.type',
     'Nova refuses to evacuate'),
    (doc(action={'type': 'suspend'}, trigger={'type': 'instance_down'}), 'action.type',
     'cannot be suspended'),
    (doc(action={'type': 'resume'}, trigger={'type': 'instance_down'}), 'action.type',
     'statuses: [SUSPENDED]'),
    (doc(action={'type': 'evacuate'}, trigger={'type': 'maintenance'}), 'action.type',
     'use live_migrate'),
    (doc(action={'type': 'reboot'}, trigger={'type': 'process_down'}), 'action.type',
     'any process (including nova-compute)'),
    (doc(action={'type': 'live_migrate'},
         trigger={'type': 'process_down', 'process': 'libvirtd'}), 'action.type',
     'libvirtd is down'),
    (doc(action={'type': 'resume'}, trigger={'type': 'process_down', 'process': 'ovsdb'}),
     'action.type', 'nothing was suspended'),
    # on_failure
    (doc(on_failure={'type': 'rebuild'}), 'on_failure.type', 'which is dead'),
    (doc(on_failure=[{'type': 'boot_from_snapshot'}, {'type': 'reboot'}]),
     'on_failure[1].type', 'cannot follow trigger host_down'),
    (doc(on_failure=[]), 'on_failure', 'must not be empty'),
    (doc(on_failure=[{'type': 'noop'}] * 6), 'on_failure', 'at most 5 items'),
    (doc(on_failure='rebuild'), 'on_failure', 'must be a mapping'),
    (doc(on_failure=[{'type': 'nope'}]), 'on_failure[0].type', 'unknown action type'),
    (doc(on_failure=[{'type': 'mistral', 'params': {}}]), 'on_failure[0].params.workflow',
     'is required'),
    (doc(on_failure={'type': 'evacuate'}), 'on_failure', 'repeats the evacuate action'),
    (doc(on_failure=[{'type': 'noop'}, {'type': 'noop'}]), 'on_failure[1]', 'repeats'),
    # limits
    (doc(limits={'concurrency': 0}), 'limits.concurrency', 'between 1 and 1000'),
    (doc(limits={'retries': -1}), 'limits.retries', 'between 0 and 100'),
    (doc(limits={'backoff': 0.5}), 'limits.backoff', 'between 1 and 60'),
    (doc(limits={'backoff': 'fast'}), 'limits.backoff', 'must be a number'),
    (doc(limits={'timeout': 86401}), 'limits.timeout', 'between 1 and 86400'),
    (doc(limits={'parallel': 3}), 'limits.parallel', 'valid fields: backoff, concurrency'),
    (doc(limits=[]), 'limits', 'must be a mapping'),
])
def test_refusal_names_field_and_problem(document, field, words):
    error = refused(document)
    assert error.field == field, str(error)
    assert words in error.problem, str(error)
    # one line: contract, field, problem
    assert str(error).startswith(f"contract '{document.get('name', '')}'") or \
        str(error).startswith('contract (unnamed)')
    assert f'{field}: {error.problem}' in str(error)
    assert '\n' not in str(error)


@pytest.mark.parametrize('boot_as', ['owner', 'vmr'])
def test_boot_as_takes_owner_or_vmr(boot_as):
    contract = parse_contract(doc(action={'type': 'boot_from_snapshot',
                                          'params': {'boot_as': boot_as}}))
    assert contract.action.params['boot_as'] == boot_as


def test_message_format_matches_the_operators_view():
    error = refused(doc(action={'type': 'mistral', 'params': {}}))
    assert str(error) == "contract 'web-ha': action.params.workflow: is required"
    assert error.contract == 'web-ha'


def test_unknown_action_type_lists_every_valid_type():
    error = refused(doc(action={'type': 'heal'}))
    for action in ('evacuate', 'live_migrate', 'boot_from_snapshot', 'rebuild', 'suspend',
                   'resume', 'reboot', 'fip_failover', 'lb_failover', 'mistral', 'webhook',
                   'noop'):
        assert action in error.problem


def test_outermost_problem_is_reported_first():
    error = refused(doc(selector=None, action={'type': 'mistral', 'params': {}}))
    assert error.field == 'selector'


def test_unnamed_contract_is_still_reported():
    error = refused(doc(name=None))
    assert str(error) == 'contract (unnamed): name: is required'


@pytest.mark.parametrize('text, words', [
    ('', 'is empty'),
    ('# only a comment\n', 'is empty'),
    ('name: [unclosed', 'not valid YAML or JSON at line '),
    ('{"name": "x"', 'not valid YAML or JSON'),
    ('- a\n- b\n', 'must be a mapping'),
    ('just text', 'must be a mapping'),
    ('name: a\n---\nname: b\n', 'holds 2 YAML documents'),
    ('x' * (256 * 1024 + 1), 'too large'),
])
def test_text_that_is_not_a_contract(text, words):
    error = refused(text)
    assert error.field == ''
    assert words in error.problem


def test_bytes_that_are_not_utf8():
    assert 'not UTF-8' in refused(b'\xff\xfe name').problem


@pytest.mark.parametrize('value', [None, 5, [], 'null', object()])
def test_non_mapping_documents(value):
    error = refused(value)
    assert error.field == ''


def test_batch_names_must_be_unique():
    with pytest.raises(ContractError) as info:
        validate_many([doc(), doc(selector={'aggregate': 'x'}), doc()])
    error = info.value
    assert (error.field, error.index) == ('name', 1)
    assert 'duplicate name: document 1 already uses it' in error.problem
    assert str(error).startswith("contract 'web-ha' (document 2): name: duplicate")


def test_batch_reports_the_position_of_a_bad_document():
    with pytest.raises(ContractError) as info:
        validate_many([doc(), doc(name='b', priority=-4)])
    assert info.value.index == 1
    assert info.value.field == 'priority'
    assert '(document 2)' in str(info.value)


def test_contract_error_pickles_with_its_fields():
    import pickle
    error = pickle.loads(pickle.dumps(refused(doc(priority=2000))))
    assert (error.field, error.contract) == ('priority', 'web-ha')


def test_yaml_alias_bombs_are_refused_quickly():
    levels = ['l0: &l0 [x, x, x, x, x, x, x, x, x]']
    for i in range(1, 10):
        levels.append(f'l{i}: &l{i} [' + ', '.join([f'*l{i - 1}'] * 9) + ']')
    text = 'name: bomb\n' + '\n'.join(levels) + '\nselector: {servers: *l9}\n'
    error = refused(text)
    assert error.field == '' and 'YAML aliases' in error.problem
    assert error.contract == 'bomb'


@pytest.mark.parametrize('text', ['[' * 5000, '{"a":' * 5000, 'a:\n' + ' - ' * 2000],
                         ids=['json-lists', 'json-mappings', 'yaml-lists'])
def test_absurd_nesting_in_text_is_refused(text):
    assert refused(text).field == ''


def test_deep_nesting_in_params_is_refused():
    deep = current = {}
    for _ in range(100):
        current['k'] = {}
        current = current['k']
    error = refused(doc(action={'type': 'mistral', 'params': {'workflow': 'w', 'input': deep}}))
    assert 'nested more than' in error.problem


def test_values_in_messages_are_short_even_when_the_value_is_not():
    error = refused(doc(name={'k': list(range(10000))}))
    assert error.field == 'name' and len(str(error)) < 200


def test_odd_keys_are_quoted_in_the_field_path():
    error = refused(doc(selector={'metadata': {'bad\nkey': 5}}))
    assert error.field == 'selector.metadata["bad\\nkey"]'
    assert '\n' not in str(error)


def test_yaml_only_types_are_refused_with_their_type():
    error = refused('name: web\ntrigger: {type: host_down}\nselector: {availability_zone: '
                    '2026-01-01}\naction: {type: evacuate}\n')
    assert error.field == 'selector.availability_zone'
    assert 'quote it in YAML: "2026-01-01"' in error.problem
