"""Which servers a contract selects (pure)."""

from vmr_coordinator.api import dryrun
from vmr_coordinator.contracts import (ServerFacts, ServiceVmPolicy,
                                       parse_contract)


def contract(selector):
    return parse_contract({'name': 'c', 'trigger': {'type': 'host_down'},
                           'selector': selector,
                           'action': {'type': 'evacuate'}})


SERVERS = [
    ServerFacts(id='1', name='web-b', host='h2', metadata={'ha': 'true'}),
    ServerFacts(id='2', name='web-a', host='h1', metadata={'ha': 'true'}),
    ServerFacts(id='3', name='db', host='h1'),
    ServerFacts(id='4', name='amphora-x', host='h1',
                metadata={'ha': 'true'}),
]


def test_selected_sorted_by_name_and_service_vms_skipped():
    result = dryrun.selection(contract({'metadata': {'ha': 'true'}}),
                              SERVERS, ServiceVmPolicy())
    assert [s['name'] for s in result['selected']] == ['web-a', 'web-b']
    assert result['selected'][0] == {'id': '2', 'name': 'web-a',
                                     'host': 'h1', 'project_id': '',
                                     'status': 'ACTIVE'}
    (skipped,) = result['skipped']
    assert skipped['name'] == 'amphora-x'
    assert 'amphora' in skipped['reason']


def test_explicit_selection_includes_service_vms():
    result = dryrun.selection(contract({'servers': ['amphora-x']}), SERVERS,
                              ServiceVmPolicy())
    assert [s['name'] for s in result['selected']] == ['amphora-x']
    assert result['skipped'] == []


def test_nothing_selected():
    result = dryrun.selection(contract({'metadata': {'tier': 'gold'}}),
                              SERVERS, ServiceVmPolicy())
    assert result == {'selected': [], 'skipped': []}
