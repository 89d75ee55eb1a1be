"""Property tests: the parser never crashes, valid contracts round-trip, and
matching does not depend on the order of its inputs."""

import json
import string

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.unit.contracts.samples import BASE
from vmr_coordinator.contracts import (REFUSED_PAIRS, ContractError, ServerFacts,
                                       ServiceVmPolicy, incompatibility, match,
                                       parse_contract)

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# -- arbitrary input --------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats()
                | st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
contract_keys = st.sampled_from(['name', 'description', 'priority', 'enabled', 'trigger',
                                 'selector', 'action', 'on_failure', 'limits', 'type',
                                 'params', 'metadata', 'all', 'servers', 'statuses'])
# Dicts shaped like contracts, so the fuzzing gets past the first `required`.
contractish = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(contract_keys | st.text(max_size=8), children, max_size=6),
    max_leaves=25)


def parses_or_refuses(document):
    try:
        contract = parse_contract(document)
    except ContractError as error:
        assert isinstance(error.field, str) and error.problem
        assert '\n' not in str(error)
        return None
    return contract


@SETTINGS
@given(json_values)
def test_random_values_only_raise_contract_error(value):
    parses_or_refuses(value)


@SETTINGS
@given(contractish)
def test_random_contract_shaped_dicts_only_raise_contract_error(value):
    parses_or_refuses(value)


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_only_raises_contract_error(text):
    parses_or_refuses(text)


@SETTINGS
@given(json_values)
def test_random_json_text_only_raises_contract_error(value):
    parses_or_refuses(json.dumps(value))


def _paths(document, prefix=()):
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _paths(value, prefix + (index,))


def _replace(document, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copy


# -- valid contracts --------------------------------------------------------

names = st.from_regex(r'\A[a-z0-9][a-z0-9_.-]{0,20}\Z')
words = st.text(alphabet=string.ascii_letters + string.digits + '-_.', min_size=1,
                max_size=12)
strmaps = st.dictionaries(words, words, max_size=3)

PARAMS = {
    'evacuate': st.fixed_dictionaries({}, optional={
        'target_host': words, 'on_shared_storage': st.sampled_from(['auto', True, False]),
        'start_if_shutoff': st.booleans()}),
    'live_migrate': st.fixed_dictionaries({}, optional={
        'block_migration': st.sampled_from(['auto', True, False]), 'target_host': words}),
    'boot_from_snapshot': st.fixed_dictionaries({}, optional={
        'image': words, 'reattach_volumes': st.booleans(), 'move_floating_ips': st.booleans(),
        'delete_old': st.booleans(), 'max_snapshot_age': st.integers(1, 31536000)}),
    'rebuild': st.fixed_dictionaries({}, optional={'image': words,
                                                   'preserve_ephemeral': st.booleans()}),
    'suspend': st.just({}),
    'resume': st.just({}),
    'reboot': st.fixed_dictionaries({}, optional={
        'type': st.sampled_from(['soft', 'hard', 'soft_then_hard']),
        'soft_timeout': st.integers(1, 3600)}),
    'fip_failover': st.fixed_dictionaries({}, optional={
        'pair_metadata_key': st.just('pair'), 'role_key': st.just('role'),
        'swap_roles': st.booleans()}),
    'lb_failover': st.fixed_dictionaries({'pool': words}, optional={
        'standby_metadata': st.dictionaries(words, words, min_size=1, max_size=2),
        'verify_timeout': st.integers(1, 3600)}),
    'mistral': st.fixed_dictionaries({'workflow': words}, optional={
        'input': strmaps, 'wait': st.booleans(), 'timeout': st.integers(1, 86400)}),
    'webhook': st.fixed_dictionaries(
        {'url': words.map(lambda w: f'https://{w}.example/hook'),
         'secret_ref': st.from_regex(r'\A[A-Za-z][a-z_.-]{0,10}\Z')},
        optional={'timeout': st.integers(1, 300), 'headers': st.just({'X-Source': 'vmr'})}),
    'noop': st.just({}),
}

TRIGGERS = st.one_of(
    st.just({'type': 'host_down'}),
    st.fixed_dictionaries({'type': st.just('instance_down')}, optional={
        'statuses': st.lists(st.sampled_from(['ERROR', 'SHUTOFF', 'SUSPENDED', 'PAUSED']),
                             min_size=1, max_size=4, unique=True)}),
    st.fixed_dictionaries({'type': st.just('process_down')}, optional={
        'process': st.sampled_from(['nova-compute', 'ovs-vswitchd', 'libvirtd'])}),
    st.fixed_dictionaries({'type': st.just('alarm'), 'name': words}, optional={
        'source': st.sampled_from(['aodh', 'alertmanager']), 'labels': strmaps}),
    st.just({'type': 'maintenance'}),
    st.just({'type': 'manual'}),
)

SELECTORS = st.one_of(
    st.fixed_dictionaries({'all': st.just(True)},
                          optional={'include_service_vms': st.booleans()}),
    st.fixed_dictionaries({}, optional={
        'metadata': st.dictionaries(words, words | st.just('*'), min_size=1, max_size=2),
        'projects': st.lists(words, min_size=1, max_size=3, unique=True),
        'server_group': words, 'aggregate': words, 'availability_zone': words,
        'servers': st.lists(words, min_size=1, max_size=3, unique=True),
        'include_service_vms': st.booleans()}).filter(
            lambda s: set(s) - {'include_service_vms'}),
)


@st.composite
def actions(draw, trigger):
    allowed = [a for a in PARAMS if not incompatibility(trigger, a)]
    kind = draw(st.sampled_from(allowed))
    action = {'type': kind}
    params = draw(PARAMS[kind])
    if params or draw(st.booleans()):
        action['params'] = params
    return action


@st.composite
def contracts(draw, name=None):
    trigger = draw(TRIGGERS)
    document = {'name': name or draw(names), 'trigger': trigger,
                'selector': draw(SELECTORS), 'action': draw(actions(trigger))}
    optional = {
        'description': st.text(max_size=30),
        'priority': st.integers(0, 1000),
        'enabled': st.booleans(),
        'limits': st.fixed_dictionaries({}, optional={
            'concurrency': st.integers(1, 1000), 'retries': st.integers(0, 100),
            'backoff': st.floats(1, 60), 'timeout': st.integers(1, 86400)}),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            document[key] = draw(strategy)
    ladder = draw(st.lists(actions(trigger), max_size=3))
    if ladder:
        document['on_failure'] = ladder if len(ladder) > 1 or draw(st.booleans()) \
            else ladder[0]
    return document


def _has_repeated_rung(document):
    rungs = document.get('on_failure')
    rungs = rungs if isinstance(rungs, list) else [rungs] if rungs else []
    chain = [document['action']] + rungs
    return any(parse_contract({**BASE, 'trigger': document['trigger'], 'action': a}).action
               == parse_contract({**BASE, 'trigger': document['trigger'], 'action': b}).action
               for a, b in zip(chain, chain[1:], strict=False))


@SETTINGS
@given(contracts())
def test_valid_contracts_round_trip(document):
    assume(not _has_repeated_rung(document))
    contract = parse_contract(document)
    assert parse_contract(contract.to_dict()) == contract
    assert parse_contract(json.dumps(contract.to_dict())) == contract
    assert contract.to_dict() == parse_contract(contract.to_dict()).to_dict()


@SETTINGS
@given(contracts(), st.data())
def test_mutated_valid_contracts_only_raise_contract_error(document, data):
    path = data.draw(st.sampled_from(list(_paths(document))))
    parses_or_refuses(_replace(document, path, data.draw(json_values)))


def test_refused_pairs_are_never_generated():
    for trigger, action in REFUSED_PAIRS:
        assert incompatibility({'type': trigger, 'statuses': ['ERROR']}, action)


# -- matching ---------------------------------------------------------------

HOSTS = ['compute-1', 'compute-2']
server_facts = st.builds(
    ServerFacts,
    id=st.sampled_from([f'id-{i}' for i in range(8)]),
    name=st.sampled_from(['web-1', 'web-2', 'db-1', 'amphora-9', '']),
    project_id=st.sampled_from(['p1', 'p2']),
    metadata=st.dictionaries(st.sampled_from(['ha', 'app']), st.sampled_from(['true', 'x']),
                             max_size=2),
    host=st.sampled_from(HOSTS),
    availability_zone=st.sampled_from(['az1', 'az2']),
    server_groups=st.lists(st.sampled_from(['g1', 'g2']), max_size=2),
    aggregates=st.lists(st.sampled_from(['a1', 'a2']), max_size=2),
    image_tags=st.lists(st.sampled_from(['amphora', 'golden']), max_size=1),
)
simple_selectors = st.one_of(
    st.just({'all': True}),
    st.just({'all': True, 'include_service_vms': True}),
    st.fixed_dictionaries({}, optional={
        'metadata': st.dictionaries(st.sampled_from(['ha', 'app']),
                                    st.sampled_from(['true', 'x', '*']), min_size=1,
                                    max_size=2),
        'projects': st.lists(st.sampled_from(['p1', 'p2']), min_size=1, max_size=2,
                             unique=True),
        'server_group': st.sampled_from(['g1', 'g2']),
        'aggregate': st.sampled_from(['a1', 'a2']),
        'availability_zone': st.sampled_from(['az1', 'az2']),
        'servers': st.lists(st.sampled_from(['web-1', 'id-3', 'amphora-9']), min_size=1,
                            max_size=2, unique=True),
    }).filter(bool),
)


@st.composite
def host_down_contracts(draw):
    count = draw(st.integers(0, 5))
    result = []
    for index in range(count):
        result.append(parse_contract({
            'name': f'c{index}', 'priority': draw(st.sampled_from([0, 50, 100])),
            'enabled': draw(st.booleans()),
            'trigger': {'type': draw(st.sampled_from(['host_down', 'maintenance']))},
            'selector': draw(simple_selectors),
            'action': {'type': 'noop'}}))
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host_down_contracts(), st.lists(server_facts, max_size=8), st.randoms(),
       st.sampled_from(HOSTS))
def test_matching_is_deterministic_and_order_independent(contract_list, servers, rnd, host):
    # Duplicate ids with different facts would make "which one" a matter of order.
    by_id = {}
    for facts in servers:
        by_id.setdefault(facts.id, facts)
    servers = list(by_id.values())
    event = {'type': 'host_down', 'host': host}
    policy = ServiceVmPolicy()
    first = match(contract_list, event, servers, policy)
    again = match(list(contract_list), event, list(servers), policy)
    assert first == again
    shuffled_contracts, shuffled_servers = list(contract_list), list(servers)
    rnd.shuffle(shuffled_contracts)
    rnd.shuffle(shuffled_servers)
    assert match(shuffled_contracts, event, shuffled_servers, policy).to_dict() == \
        first.to_dict()
    # every server is accounted for exactly once
    seen = [s.server.id for s in first.steps] + [s.id for s in first.unmatched] + \
        [s.server.id for s in first.skipped]
    assert sorted(seen) == sorted(by_id)
    # steps are in priority order and only from enabled host_down contracts
    priorities = [step.contract.priority for step in first.steps]
    assert priorities == sorted(priorities, reverse=True)
    assert all(step.contract.enabled and step.contract.trigger_type == 'host_down'
               for step in first.steps)
