"""Failover segments: the document, membership, and where the servers of a
failed member go in each recovery method (pure, no I/O)."""

import pytest

from tests.support.planning import BIG, SMALL, by_name, contract, host, server
from vmr_coordinator import contracts, planning, segments
from vmr_coordinator.segments import SegmentError, parse_segment


def seg(**doc):
    doc.setdefault('name', 'rack-a')
    return parse_segment(doc)


def plan(servers, hosts, segs, failed='c1', contracts_=None):
    return planning.plan_host_failure(
        failed, servers, contracts_ or [contract('all')], hosts,
        contracts.ServiceVmPolicy(), segments=segs)


# -- the document ----------------------------------------------------------

def test_defaults_and_round_trip():
    s = seg(hosts=['c2', 'c1', 'c1'])
    assert s.recovery_method == 'auto' and s.enabled is True
    assert s.hosts == ('c1', 'c2')     # sorted, once each
    assert parse_segment(s.to_dict()) == s


@pytest.mark.parametrize('doc, field, text', [
    ({'hosts': ['c1'], 'colour': 'red'}, 'colour', "unknown field 'colour'"),
    ({'name': 'bad name!', 'hosts': ['c1']}, 'name', 'name must be'),
    ({'hosts': ['c1'], 'recovery_method': 'fast'}, 'recovery_method',
     "not 'fast'"),
    ({'hosts': ['c1'], 'reserved_hosts': ['c1']}, 'reserved_hosts',
     'host c1 is in both hosts and reserved_hosts'),
    ({}, 'hosts', 'a segment needs members'),
    ({'hosts': ['c1'], 'recovery_method': 'rh_priority'}, 'reserved_hosts',
     'recovery_method rh_priority needs reserved_hosts'),
    ({'hosts': 'c1'}, 'hosts', 'hosts must be a list of host names'),
    ({'hosts': ['c1'], 'enabled': 'yes'}, 'enabled', 'enabled must be true'),
    ({'aggregate': 7}, 'aggregate', 'aggregate must be a string'),
])
def test_a_wrong_document_names_its_field(doc, field, text):
    doc.setdefault('name', 'rack-a')
    with pytest.raises(SegmentError) as err:
        parse_segment(doc)
    assert err.value.field == field
    assert text in str(err.value)


def test_the_url_name_must_agree():
    assert parse_segment({'hosts': ['c1']}, name='rack-b').name == 'rack-b'
    with pytest.raises(SegmentError, match="differs from 'rack-b'"):
        parse_segment({'name': 'rack-a', 'hosts': ['c1']}, name='rack-b')


def test_not_an_object():
    with pytest.raises(SegmentError, match='a JSON object'):
        parse_segment(['c1'])


# -- membership ------------------------------------------------------------

def test_members_come_from_hosts_aggregates_and_zones():
    hosts = [host('c1', aggregates={'fast'}), host('c2', zone='az1'),
             host('c3')]
    assert seg(aggregate='fast').members(hosts) == {'c1'}
    assert seg(availability_zone='az1').members(hosts) == {'c2'}
    assert seg(hosts=['c3', 'c9'], reserved_hosts=['r1']).members(hosts) == {
        'c3', 'c9', 'r1'}


def test_explicit_overlap_is_found_and_a_segment_does_not_overlap_itself():
    a = seg(hosts=['c1', 'c2'])
    b = seg(name='rack-b', hosts=['c3'], reserved_hosts=['c2'])
    assert segments.overlaps(a, [a, b]) == [('c2', 'rack-b')]
    assert segments.overlaps(a, [a]) == []


def test_segment_of_ignores_disabled_ones_and_notes_a_tie():
    hosts = [host('c1', aggregates={'fast'})]
    a = seg(name='b-by-agg', aggregate='fast')
    b = seg(name='a-listed', hosts=['c1'])
    off = seg(name='0-off', hosts=['c1'], enabled=False)
    found, note = segments.segment_of('c1', [a, b, off], hosts)
    assert found.name == 'a-listed'
    assert note == ('c1 is in segments a-listed, b-by-agg: recovering in '
                    'a-listed (the first by name)')
    assert segments.segment_of('c7', [a, b], hosts) == (None, '')


# -- placement -------------------------------------------------------------

def hosts_with_spare(**spare_state):
    """c1 fails; c2 and c3 are members; r1 a disabled spare; x1 outside."""
    return [host('c1'), host('c2', used=(10, 0, 0)), host('c3', vcpus=2),
            host('r1', enabled=False, **spare_state), host('x1', vcpus=64, ram=65536)]


def test_auto_stays_inside_the_segment_and_leaves_reserved_hosts_alone():
    segs = [seg(hosts=['c1', 'c2', 'c3'], reserved_hosts=['r1'])]
    result = plan([server('a'), server('b')], hosts_with_spare(), segs)
    assert {s['destination'] for s in result['steps']} <= {'c2', 'c3'}
    assert result['segment']['name'] == 'rack-a'
    assert result['reserved_hosts_used'] == []
    assert {'host': 'r1', 'reason': 'reserved: recovery_method auto does '
            'not use reserved hosts'} in result['unusable_hosts']
    assert 'x1' not in {h['host'] for h in result['destinations']}
    assert 'in segment rack-a (auto)' in result['summary']


def test_reserved_host_uses_the_disabled_spare_only():
    segs = [seg(hosts=['c1', 'c2', 'c3'], reserved_hosts=['r1'],
                recovery_method='reserved_host')]
    result = plan([server('a'), server('b')], hosts_with_spare(), segs)
    assert [s['destination'] for s in result['steps']] == ['r1', 'r1']
    assert all(s['reserved_host'] for s in result['steps'])
    assert result['reserved_hosts_used'] == ['r1']
    assert 'reserved host(s) r1 enabled' in result['summary']


def test_rh_priority_falls_back_to_members_when_the_spare_is_full():
    segs = [seg(hosts=['c1', 'c2'], reserved_hosts=['r1'],
                recovery_method='rh_priority')]
    hosts = [host('c1'), host('c2'), host('r1', vcpus=8, enabled=False)]
    result = plan([server('big', flavor=BIG), server('small', flavor=SMALL)],
                  hosts, segs)
    steps = by_name(result)
    assert steps['big']['destination'] == 'r1'
    assert steps['small']['destination'] == 'c2'   # r1 has no vCPU left
    assert 'reserved_host' not in steps['small']
    assert result['fits'] is True


def test_auto_priority_uses_the_spare_when_members_are_full():
    segs = [seg(hosts=['c1', 'c2'], reserved_hosts=['r1'],
                recovery_method='auto_priority')]
    hosts = [host('c1'), host('c2', vcpus=2), host('r1', enabled=False)]
    steps = by_name(plan([server('a'), server('b')], hosts, segs))
    assert steps['a']['destination'] == 'c2'
    assert steps['b']['destination'] == 'r1'


def test_a_down_spare_is_not_offered_and_the_reason_says_why():
    segs = [seg(hosts=['c1'], reserved_hosts=['r1'],
                recovery_method='reserved_host')]
    result = plan([server('a')], [host('c1'), host('r1', up=False)], segs)
    step = result['steps'][0]
    assert step['outcome'] == 'no capacity'
    assert result['fits'] is False
    assert {'host': 'r1', 'reason': 'reserved, but its compute service is '
            'down'} in result['unusable_hosts']


def test_with_two_tiers_the_reason_names_the_tier_that_refused():
    segs = [seg(hosts=['c1', 'c2'], reserved_hosts=['r1'],
                recovery_method='rh_priority')]
    hosts = [host('c1'), host('c2', vcpus=1), host('r1', vcpus=1)]
    step = plan([server('a')], hosts, segs)['steps'][0]
    assert step['outcome'] == 'no capacity'
    assert step['reason'].startswith('segment hosts: ')


def test_a_host_in_no_segment_may_go_anywhere_usable():
    segs = [seg(hosts=['c2', 'c3'])]
    result = plan([server('a')], hosts_with_spare(), segs)
    assert result['segment'] is None
    assert result['steps'][0]['destination'] == 'x1'


def test_place_in_segment_shares_room_and_skips_non_placing_steps():
    s = seg(hosts=['c1', 'c2'], reserved_hosts=['r1'],
            recovery_method='rh_priority')
    hosts = [host('c1'), host('c2'), host('r1', vcpus=4, enabled=False)]
    servers = [server('a'), server('b'), server('c'), server('d')]
    steps = [('id-a', 'evacuate', {}), ('id-b', 'evacuate', {}),
             ('id-c', 'evacuate', {}), ('id-d', 'reboot', {}),
             ('id-gone', 'evacuate', {})]
    out = planning.place_in_segment('c1', steps, servers, hosts, s)
    assert out['id-a'][:2] == ('r1', 'reserved')
    assert out['id-b'][:2] == ('r1', 'reserved')
    assert out['id-c'][:2] == ('c2', 'segment')
    assert out['id-c'][2] == 'segment host c2 of segment rack-a (rh_priority)'
    assert 'id-d' not in out
    assert out['id-gone'] == (None, None, 'Nova no longer lists it')
