"""evacuate's ``target_aggregate``: which host of the aggregate takes a
server, and why (pure, no I/O)."""

from vmr_coordinator import planning
from vmr_coordinator.contracts import ServerFacts
from vmr_coordinator.planning import HostCapacity, ServerLoad


def host(name, free_ram=8192, aggregates=('spares',), **state):
    return HostCapacity(name=name, vcpus=8, ram_mb=8192, disk_gb=100,
                        ram_mb_used=8192 - free_ram,
                        aggregates=frozenset(aggregates), **state)


SERVER = ServerLoad(facts=ServerFacts(id='s1', name='web-1', host='c1'),
                    vcpus=1, ram_mb=2048, disk_gb=10)


def test_most_free_ram_wins_and_the_others_are_named():
    dest = planning.choose_in_aggregate(SERVER, 'spares', 'c1', [
        host('c1'), host('c2', free_ram=4096), host('c3', free_ram=6144),
        host('c4', enabled=False), host('c5', free_ram=1024),
        host('c6', aggregates=())])
    assert dest.host == 'c3'
    assert dest.reason == (
        'spares: c3 has the most free RAM (6144 MiB) of 2 usable hosts; '
        'not c4: compute service disabled; c5: not enough RAM MiB')


def test_no_usable_host_names_each_problem():
    dest = planning.choose_in_aggregate(SERVER, 'spares', 'c1', [
        host('c1'), host('c2', up=False), host('c3', forced_down=True)])
    assert dest.host is None
    assert dest.reason == ('no usable host in aggregate spares (c2: compute '
                           'service down; c3: compute service forced down)')


def test_an_empty_or_unknown_aggregate_says_so():
    dest = planning.choose_in_aggregate(SERVER, 'spares', 'c1', [host('c1')])
    assert dest.host is None
    assert dest.reason.startswith('aggregate spares holds no host other '
                                  'than c1 (or does not exist)')
