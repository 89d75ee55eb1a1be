"""plan_host_failure: which contract heals which server, in what order,
where it goes, and whether everything fits (pure, no I/O)."""

from tests.support.planning import BIG, SMALL, by_name, contract, host, server
from vmr_coordinator import contracts, planning


def plan(servers, contracts_, hosts, failed='c1'):
    return planning.plan_host_failure(failed, servers, contracts_, hosts,
                                      contracts.ServiceVmPolicy())


def test_order_follows_priority_then_name_and_most_free_ram_wins():
    servers = [server('web-2'), server('web-1'),
               server('db-1', metadata={'tier': 'db'}),
               server('elsewhere', on='c2')]
    result = plan(servers, [contract('web', priority=100),
                            contract('db', priority=500,
                                     metadata={'tier': 'db'})],
                  [host('c1'), host('c2', used=(4, 8192, 0)), host('c3')])
    assert [(s['order'], s['server_name'], s['contract'])
            for s in result['steps']] == [
        (1, 'db-1', 'db'), (2, 'web-1', 'web'), (3, 'web-2', 'web')]
    # c3 is emptier; after db-1 and web-1 land there c2 has more free RAM.
    assert [s['destination'] for s in result['steps']] == ['c3', 'c3', 'c2']
    assert result['fits'] is True and result['placed'] == 3
    assert result['servers_on_host'] == 3    # 'elsewhere' is not planned
    assert 'fits: yes' in result['summary']


def test_no_capacity_is_reported_per_server_and_overall():
    servers = [server('big-1', flavor=BIG), server('big-2', flavor=BIG),
               server('small', flavor=SMALL)]
    result = plan(servers, [contract('all')],
                  [host('c1'), host('c2', vcpus=12, ram=24576)])
    steps = by_name(result)
    assert steps['big-1']['destination'] == 'c2'
    assert steps['big-2']['outcome'] == 'no capacity'
    assert steps['big-2']['destination'] is None
    assert 'c2: not enough vCPU, RAM MiB' in steps['big-2']['reason']
    # The small one still fits in what big-2 could not use.
    assert steps['small']['destination'] == 'c2'
    assert result['fits'] is False and result['without_capacity'] == 1
    assert '1 WITHOUT CAPACITY' in result['summary']


def test_disk_counts_too():
    result = plan([server('s', flavor={'vcpus': 1, 'ram': 512, 'disk': 500})],
                  [contract('all')], [host('c1'), host('c2', disk=400)])
    assert 'not enough disk GiB' in result['steps'][0]['reason']


def test_only_enabled_up_not_forced_down_hosts_take_servers():
    hosts = [host('c1'), host('c2', enabled=False), host('c3', up=False),
             host('c4', forced_down=True)]
    result = plan([server('web-1')], [contract('web')], hosts)
    (step,) = result['steps']
    assert step['outcome'] == 'no capacity'
    assert step['reason'] == 'no usable destination host'
    assert {(h['host'], h['reason']) for h in result['unusable_hosts']} == {
        ('c2', 'compute service disabled'), ('c3', 'compute service down'),
        ('c4', 'compute service forced down')}
    assert result['fits'] is False


def test_target_host_and_target_aggregate_are_respected():
    hosts = [host('c1'), host('c2'), host('spare-1', aggregates={'spares'}),
             host('spare-2', aggregates={'spares'}, used=(0, 30000, 0))]
    result = plan([server('a', metadata={'k': 'a'}),
                   server('b', metadata={'k': 'b'}),
                   server('c', metadata={'k': 'c'})],
                  [contract('to-spares', params={'target_aggregate': 'spares'},
                            metadata={'k': 'a'}),
                   contract('to-c2', params={'target_host': 'c2'},
                            metadata={'k': 'b'}),
                   contract('to-gone', params={'target_host': 'nowhere'},
                            metadata={'k': 'c'})], hosts)
    steps = by_name(result)
    assert steps['a']['destination'] == 'spare-1'
    assert steps['b']['destination'] == 'c2'
    assert steps['c']['reason'] == ('target_host nowhere is not a usable '
                                    'destination')


def test_anti_affinity_needs_distinct_hosts():
    group = {'group': 'g1', 'group_policy': 'anti-affinity'}
    servers = [server('n1', **group), server('n2', **group),
               server('n3', on='c2', **group)]
    result = plan(servers, [contract('web')],
                  [host('c1'), host('c2'), host('c3'), host('c4')])
    steps = by_name(result)
    assert {steps['n1']['destination'], steps['n2']['destination']} == {
        'c3', 'c4'}
    # One host fewer: the second member has nowhere to go.
    result = plan(servers, [contract('web')],
                  [host('c1'), host('c2'), host('c3')])
    steps = by_name(result)
    assert steps['n1']['destination'] == 'c3'
    assert steps['n2']['outcome'] == 'no capacity'
    assert 'anti-affinity' in steps['n2']['reason']


def test_affinity_follows_the_group():
    group = {'group': 'g1', 'group_policy': 'affinity'}
    result = plan([server('a1', **group), server('a2', on='c3', **group)],
                  [contract('web')], [host('c1'), host('c2'), host('c3',
                                      used=(0, 20000, 0))])
    assert result['steps'][0]['destination'] == 'c3'


def test_failover_actions_move_nothing_and_service_vms_are_skipped():
    servers = [server('pair-a', metadata={'vmr_pair': 'p'}),
               server('amphora-1234'), server('lonely', metadata={'x': '1'})]
    result = plan(servers, [contract('fip', action='fip_failover',
                                     metadata={'vmr_pair': '*'}),
                            contract('web')],
                  [host('c1'), host('c2', vcpus=0, ram=0, disk=0)])
    (step,) = result['steps']
    assert step['outcome'] == 'moves nothing' and step['destination'] is None
    assert result['fits'] is True
    (skipped,) = result['skipped']
    assert skipped['server_name'] == 'amphora-1234'
    assert 'amphora' in skipped['reason']
    assert [u['server_name'] for u in result['unmatched']] == ['lonely']


def test_boot_from_snapshot_needs_room_like_evacuate():
    result = plan([server('s', flavor=BIG)],
                  [contract('snap', action='boot_from_snapshot')],
                  [host('c1'), host('c2', vcpus=4)])
    assert result['steps'][0]['outcome'] == 'no capacity'


def test_a_host_without_servers_plans_nothing():
    result = plan([server('x', on='c2')], [contract('web')],
                  [host('c1'), host('c2')], failed='c9')
    assert result['steps'] == [] and result['fits'] is True
    assert result['known_host'] is False
    assert 'no servers to heal (not a known compute host)' in \
        result['summary']


def test_host_view_merges_services_aggregates_and_zones():
    hosts = planning.host_view(
        [{'name': 'c1', 'vcpus': 4}, {'host': 'c2', 'vcpus': 4}],
        [{'host': 'c1', 'up': False, 'zone': 'nova'},
         {'host': 'c3', 'zone': 'nova'}],
        [{'name': 'fast', 'hosts': ['c1', 'c2'], 'availability_zone': 'az1'}])
    by = {h.name: h for h in hosts}
    assert by['c1'].up is False and by['c1'].zone == 'az1'
    assert by['c2'].aggregates == frozenset({'fast'})
    # A service without usage data can take nothing.
    assert by['c3'].vcpus == 0 and by['c3'].source == 'no usage data'


def test_a_server_pinned_to_a_zone_stays_in_it():
    hosts = [host('c1', zone='az1'), host('c2', zone='az2'),
             host('c3', zone='az1', used=(0, 30000, 0))]
    result = plan([server('pinned', pinned_zone='az1', flavor={
        'vcpus': 1, 'ram': 1024, 'disk': 1}), server('free')],
        [contract('web')], hosts)
    steps = by_name(result)
    assert steps['pinned']['destination'] == 'c3'
    assert steps['free']['destination'] == 'c2'
    result = plan([server('pinned', pinned_zone='az1')], [contract('web')],
                  hosts)
    reason = result['steps'][0]['reason']
    assert 'c2: outside zone az1' in reason and 'c3: not enough' in reason
