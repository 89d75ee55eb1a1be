"""N+k: how many host failures a group of hosts survives (pure, no I/O)."""

import itertools

import pytest

from vmr_coordinator import planning
from vmr_coordinator.planning import HostCapacity


def host(name, vcpus=16, ram=32768, disk=400, used=(0, 0, 0), **state):
    return HostCapacity(name=name, vcpus=vcpus, ram_mb=ram, disk_gb=disk,
                        vcpus_used=used[0], ram_mb_used=used[1],
                        disk_gb_used=used[2], **state)


def brute_force(hosts):
    """The definition itself: every set of k lost hosts must fit."""
    best = 0
    for k in range(1, len(hosts)):
        for lost in itertools.combinations(hosts, k):
            rest = [h for h in hosts if h not in lost]
            for r in planning.RESOURCES:
                if sum(h.used(r) for h in lost) > sum(h.free(r) for h in rest):
                    return best
        best = k
    return best


def test_half_full_hosts_survive_one_failure_each_half():
    hosts = [host('c%d' % i, used=(8, 16384, 0)) for i in range(4)]
    k, breaking = planning.tolerated_failures(hosts)
    # Losing 2 of 4 half-full hosts needs exactly the room of the other 2.
    assert k == 2
    assert breaking['resource'] == 'vcpus'
    assert len(breaking['lost_hosts']) == 3 and breaking['short_by'] == 16


def test_full_cloud_survives_nothing():
    hosts = [host('c1', used=(16, 1000, 0)), host('c2', used=(16, 1000, 0))]
    k, breaking = planning.tolerated_failures(hosts)
    assert k == 0
    assert breaking['resource'] == 'vcpus' and breaking['short_by'] == 16


def test_empty_hosts_survive_all_but_one():
    assert planning.tolerated_failures([host('a'), host('b'), host('c')]) == \
        (2, None)


def test_one_host_or_none():
    k, breaking = planning.tolerated_failures([host('only')])
    assert k == 0 and breaking['reason'] == 'fewer than two usable hosts'
    assert planning.tolerated_failures([]) == (0, None)


def test_a_big_empty_host_is_the_worst_loss_not_the_busiest():
    # Losing the big empty host loses 64 free vCPUs; the small busy hosts'
    # load then no longer fits anywhere. The "biggest consumer" is small-1,
    # and losing it alone would fit.
    hosts = [host('big', vcpus=64), host('small-1', vcpus=8, used=(8, 0, 0)),
             host('small-2', vcpus=8, used=(4, 0, 0))]
    k, breaking = planning.tolerated_failures(hosts)
    assert k == 1
    assert breaking['lost_hosts'] == ['big', 'small-1']
    assert k == brute_force(hosts)


def test_overcommitted_host_counts_its_whole_load_and_no_free_room():
    hosts = [host('c1', vcpus=8, used=(12, 0, 0)), host('c2', vcpus=16),
             host('c3', vcpus=16, used=(4, 0, 0))]
    assert planning.tolerated_failures(hosts)[0] == brute_force(hosts) == 1


@pytest.mark.parametrize('seed', range(40))
def test_matches_the_definition_on_random_clouds(seed):
    import random
    rnd = random.Random(seed)
    hosts = []
    for i in range(rnd.randint(1, 6)):
        vcpus, ram = rnd.choice([(8, 16384), (16, 32768), (48, 131072)])
        hosts.append(host('h%d' % i, vcpus=vcpus, ram=ram, disk=500,
                          used=(rnd.randint(0, vcpus),
                                rnd.randint(0, ram), rnd.randint(0, 500))))
    assert planning.tolerated_failures(hosts)[0] == brute_force(hosts)


def test_capacity_per_aggregate_zone_and_cloud():
    hypervisors = [host('c1', used=(8, 16384, 100)), host('c2'),
                   host('c3', used=(16, 32768, 0)), host('c4')]
    services = [{'host': 'c1', 'zone': 'az1'}, {'host': 'c2', 'zone': 'az1'},
                {'host': 'c3', 'zone': 'az2'},
                {'host': 'c4', 'zone': 'az2', 'forced_down': True,
                 'up': False}]
    aggregates = [{'name': 'gpu', 'hosts': ['c3', 'c4']},
                  {'name': 'general', 'hosts': ['c1', 'c2']}]
    result = planning.capacity(hypervisors, services, aggregates)
    groups = {(g['kind'], g['name']): g for g in result['groups']}
    assert [key for key in groups] == [('aggregate', 'general'),
                                       ('aggregate', 'gpu'),
                                       ('zone', 'az1'), ('zone', 'az2')]
    general = groups[('aggregate', 'general')]
    assert general['tolerates'] == 1 and general['n_plus'] == 'N+1'
    assert general['resources']['vcpus'] == {'total': 32, 'used': 8,
                                             'free': 24}
    gpu = groups[('aggregate', 'gpu')]
    # c4 is forced down: c3 alone is left, with nowhere to go.
    assert gpu['usable_hosts'] == 1 and gpu['tolerates'] == 0
    assert gpu['unusable'] == [{'host': 'c4',
                                'reason': 'compute service forced down'}]
    assert groups[('zone', 'az2')]['tolerates'] == 0
    cloud = result['cloud']
    assert cloud['hosts'] == 4 and cloud['usable_hosts'] == 3
    # Losing c3 (full) and c1 leaves c2's 16 vCPUs for 24: one failure.
    assert cloud['tolerates'] == 1
    assert result['summary'].startswith(
        'cloud: 3 usable host(s) of 4, survives 1 host failure(s)')
    assert 'weakest: aggregate gpu at N+0' in result['summary']


def test_zones_given_explicitly_override_the_services():
    result = planning.capacity([host('a'), host('b')],
                               [{'host': 'a', 'zone': 'nova'},
                                {'host': 'b', 'zone': 'nova'}],
                               [], zones={'z1': ['a'], 'z2': ['b']})
    assert [g['name'] for g in result['groups']] == ['z1', 'z2']


def _segment(**doc):
    from vmr_coordinator.segments import parse_segment
    doc.setdefault('name', 'rack-a')
    return parse_segment(doc)


def test_a_segment_counts_its_disabled_spare_as_room():
    hosts = [host('c1', used=(16, 0, 0)), host('c2', used=(16, 0, 0)),
             host('spare', enabled=False), host('c9', used=(0, 0, 0))]
    rh = _segment(hosts=['c1', 'c2'], reserved_hosts=['spare'],
                  recovery_method='reserved_host')
    report = planning.capacity(hosts, segments=[rh])
    [group] = [g for g in report['groups'] if g['kind'] == 'segment']
    # c1 or c2 fit on the spare (16 vcpus), both do not: N+1; the other
    # segment-less host c9 is not its room
    assert (group['name'], group['tolerates'], group['host_names']) == (
        'rack-a', 1, ['c1', 'c2', 'spare'])
    assert group['recovery_method'] == 'reserved_host'
    assert group['reserved_hosts'] == ['spare'] and group['unusable'] == []
    # 'auto' never uses the spare: the full members have no room at all
    auto = _segment(hosts=['c1', 'c2'], reserved_hosts=['spare'])
    [group] = [g for g in planning.capacity(hosts, segments=[auto])['groups']
               if g['kind'] == 'segment']
    assert (group['tolerates'], group['host_names']) == (0, ['c1', 'c2'])
    # a disabled segment is not reported
    off = _segment(hosts=['c1'], enabled=False)
    assert [g for g in planning.capacity(hosts, segments=[off])['groups']
            if g['kind'] == 'segment'] == []
