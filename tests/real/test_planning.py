"""``vmr plan`` and ``vmr capacity`` on real Nova and Placement.

Real Nova >= 2.88 no longer reports usage in os-hypervisors: the
coordinator reads room and usage from Placement (inventories with their
allocation ratios and reserved amounts, and the allocations of real
boots).  Here the numbers are checked against Placement itself, and the
plan against what the scheduler will have to do.
"""

import pytest

from tests.support.api_harness import start_harness
from tests.support.real_tier import nova_service
from vmr_client import shell
from vmr_client.commands import planning as planning_cmds
from vmr_coordinator import cloud as cloud_mod

WEB = {'name': 'web-ha', 'priority': 200, 'trigger': {'type': 'host_down'},
       'selector': {'metadata': {'ha': 'true'}},
       'action': {'type': 'evacuate'}}


@pytest.fixture
def api(etcd_server, cloud, tmp_path):
    harness = start_harness(etcd_server)
    # Each answer reads Nova and Placement (a few requests per host): a
    # loaded 2-core machine takes longer than the harness's default 10 s.
    harness.timeout = 90
    harness.conf.set_override('cloud', cloud.cloud_name, 'cloud')
    harness.conf.set_override('clouds_yaml', cloud.write_clouds_yaml(
        str(tmp_path / 'clouds.yaml')), 'cloud')
    yield harness
    harness.close()


def placement_room(conn):
    """{host: {'vcpus': (total, used), 'ram_mb': ..., 'disk_gb': ...}}
    straight from Placement."""
    classes = {'VCPU': 'vcpus', 'MEMORY_MB': 'ram_mb', 'DISK_GB': 'disk_gb'}
    out = {}
    for provider in conn.placement.resource_providers():
        usages = conn.placement.fetch_resource_provider_usages(
            provider).usages
        room = {}
        for inv in conn.placement.resource_provider_inventories(provider):
            if inv.resource_class in classes:
                total = (inv.total - inv.reserved) * inv.allocation_ratio
                room[classes[inv.resource_class]] = (
                    total, usages.get(inv.resource_class, 0))
        out[provider.name] = room
    return out


def test_capacity_and_plan_come_from_placement(api, cloud, conn, capsys,
                                               monkeypatch):
    web = [cloud.boot('web-%d' % i, 'compute-1', metadata={'ha': 'true'},
                      flavor='m1.small') for i in (1, 2)]
    db = cloud.boot('db-1', 'compute-1')
    cloud.boot('filler-2', 'compute-2', flavor='m1.small')

    coordinator_conn = cloud_mod.connect(api.conf)
    try:
        hosts = {h.name: h for h in
                 cloud_mod.hypervisor_capacity(coordinator_conn)}
    finally:
        coordinator_conn.close()
    assert sorted(hosts) == ['compute-1', 'compute-2', 'compute-3']
    assert {h.source for h in hosts.values()} == {'placement'}
    truth = placement_room(conn)
    for name, host in hosts.items():
        for resource, (total, used) in truth[name].items():
            assert getattr(host, resource) == pytest.approx(total), resource
            assert getattr(host, resource + '_used') == used, resource
    # Real allocations: two m1.small and an m1.tiny on compute-1.
    assert truth['compute-1']['vcpus'][1] == 2 + 2 + 1
    assert truth['compute-1']['ram_mb'][1] == 2048 + 2048 + 512

    r = api.get('/v1/capacity')
    assert r.status_code == 200, r.text
    body = r.json()['capacity']
    assert body['cloud']['usable_hosts'] == 3
    assert body['cloud']['resources']['vcpus']['used'] == 2 + 2 + 1 + 2
    assert body['cloud']['tolerates'] == 2

    assert api.post('/v1/contracts', WEB).status_code == 201
    plan = api.get('/v1/plan', host='compute-1').json()['plan']
    assert plan['servers_on_host'] == 3 and plan['fits'] is True
    assert sorted(s['server_id'] for s in plan['steps']) == sorted(
        s.id for s in web)
    assert {s['destination'] for s in plan['steps']} <= {'compute-2',
                                                         'compute-3'}
    assert all(s['size'] == {'vcpus': 2, 'ram_mb': 2048, 'disk_gb': 20}
               for s in plan['steps'])
    assert [u['server_id'] for u in plan['unmatched']] == [db.id]

    # A forced-down host is no destination, in the plan and in capacity.
    conn.compute.update_service_forced_down(
        nova_service(conn, 'compute-3'), forced=True)
    plan = api.get('/v1/plan', host='compute-1').json()['plan']
    assert {s['destination'] for s in plan['steps']} == {'compute-2'}
    assert {'host': 'compute-3', 'reason': 'compute service forced down'} \
        in plan['unusable_hosts']

    # The CLI shows the same.
    monkeypatch.setitem(shell.COMMANDS, 'plan', planning_cmds.Plan)
    monkeypatch.setitem(shell.COMMANDS, 'capacity', planning_cmds.Capacity)
    capsys.readouterr()
    assert shell.main(['--url', api.url, '--timeout', '90', 'capacity']) == 0
    out = capsys.readouterr().out
    assert 'cloud: 2 usable host(s) of 3' in out
    assert shell.main(['--url', api.url, '--timeout', '90', 'plan',
                       'compute-1']) == 0
    out = capsys.readouterr().out
    assert 'web-1' in out and 'web-2' in out
    assert out.splitlines()[-1] == 'fits: yes'
