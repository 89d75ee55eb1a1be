"""Failover segments and a reserved host on real Nova (issue 21).

compute-2 and its reserved spare compute-3 form segment rack-a; compute-1
is segment rack-b.  The whole of VMR (the demo's harness: etcd, agents,
coordinators) runs on the session's real tier.  The leader keeps the idle
spare disabled in real Nova (reason ``vmr: reserved``); when compute-2 loses
power it enables compute-3 and every server of compute-2 is evacuated there
by real Nova -- none to compute-1, the other segment's host.  With
``rh_priority`` and a spare that has room for only one of two servers
(Placement's usage), the spare takes one and the segment's other member the
other.
"""

import pytest

from tests.support.real_tier import nova_service
from tests.support.scenario import running_lab
from vmr_lab.demo import Demo

pytestmark = pytest.mark.slow

VICTIM, SPARE, OTHER = 'compute-2', 'compute-3', 'compute-1'
RACK_A = {'name': 'rack-a', 'hosts': [VICTIM], 'reserved_hosts': [SPARE],
          'recovery_method': 'reserved_host'}
RACK_B = {'name': 'rack-b', 'hosts': [OTHER], 'recovery_method': 'auto'}


@pytest.fixture
def demo(cloud, tmp_path):
    """VMR on the real tier, no servers of its own (restored afterwards:
    servers deleted, every nova-compute enabled again)."""
    with running_lab(Demo, lab=cloud, real=True, servers=0,
                     workdir=str(tmp_path / 'demo')) as harness:
        yield harness


def test_power_loss_heals_onto_the_segments_reserved_host_only(demo, cloud,
                                                                conn):
    store = demo.store
    store.put(store.keys.segment('rack-a'), RACK_A)
    store.put(store.keys.segment('rack-b'), RACK_B)
    demo.wait(lambda: nova_service(conn, SPARE).status == 'disabled', 90,
              'the reserved host %s disabled in Nova' % SPARE)
    assert nova_service(conn, SPARE).disabled_reason == 'vmr: reserved'
    servers = cloud.boot_many([('seg-%d' % i, VICTIM) for i in range(3)],
                              wait=300)

    assert demo.run('power-loss', VICTIM, timeout=240), demo.out.getvalue()

    ids = {s.id for s in servers}
    assert {conn.compute.get_server(sid).compute_host for sid in ids} == {
        SPARE}
    for sid in ids:
        assert cloud.wait_running(sid, SPARE, timeout=60)
    spare = nova_service(conn, SPARE)
    assert spare.status == 'enabled'
    (rec,) = demo._records()
    assert rec['state'] == 'done' and rec['fencing']['verified']
    assert rec['segment'] == {'name': 'rack-a',
                              'recovery_method': 'reserved_host',
                              'reserved_hosts_used': [SPARE]}
    assert all(s['params']['target_host'] == SPARE for s in rec['steps'])
    # real Nova's own record: one evacuation each, all to the spare
    evacuations = [m for m in conn.compute.migrations()
                   if m.migration_type == 'evacuation' and m.server_id in ids]
    assert sorted(m.server_id for m in evacuations) == sorted(ids)
    assert {m.dest_compute for m in evacuations} == {SPARE}
    # the used spare is an ordinary member now
    doc = store.get(store.keys.segment('rack-a')).json()
    assert doc['hosts'] == [VICTIM, SPARE] and doc['reserved_hosts'] == []
    assert cloud.monitor.violations() == []


def test_rh_priority_fills_the_reserved_host_then_uses_the_segment(
        demo, cloud, conn, request):
    """rh_priority with a spare that has room for one of the two servers
    (by Placement's usage): one goes to the spare, the other to the
    segment's other member."""
    # Each fake host has 32 GiB (512 MiB reserved): after the filler the
    # spare has about 12 GiB left, room for one 10 GiB server.
    flavors = [conn.compute.create_flavor(name=name, vcpus=1, ram=ram,
                                          disk=1)
               for name, ram in (('m1.fill', 20000), ('m1.big', 10000))]
    request.addfinalizer(lambda: [conn.compute.delete_flavor(f)
                                  for f in flavors])
    cloud.boot('filler', SPARE, flavor='m1.fill', wait=300)
    rack = {'name': 'rack-a', 'hosts': [OTHER, VICTIM],
            'reserved_hosts': [SPARE], 'recovery_method': 'rh_priority'}
    store = demo.store
    store.put(store.keys.segment('rack-a'), rack)
    demo.wait(lambda: nova_service(conn, SPARE).status == 'disabled', 90,
              'the reserved host %s disabled in Nova' % SPARE)
    servers = cloud.boot_many([('big-%d' % i, VICTIM) for i in range(2)],
                              flavor='m1.big', wait=300)

    assert demo.run('power-loss', VICTIM, timeout=240), demo.out.getvalue()

    placed = {s.id: conn.compute.get_server(s.id).compute_host
              for s in servers}
    assert sorted(placed.values()) == sorted([SPARE, OTHER]), placed
    for sid, host in placed.items():
        assert cloud.wait_running(sid, host, timeout=60)
    (rec,) = demo._records()
    assert rec['state'] == 'done' and rec['fencing']['verified']
    assert rec['segment']['recovery_method'] == 'rh_priority'
    assert rec['segment']['reserved_hosts_used'] == [SPARE]
    assert sorted(s['params']['target_host'] for s in rec['steps']) == \
        sorted([SPARE, OTHER])
    evacuations = [m for m in conn.compute.migrations()
                   if m.migration_type == 'evacuation'
                   and m.server_id in placed]
    assert {m.server_id: m.dest_compute for m in evacuations} == placed
    assert nova_service(conn, SPARE).status == 'enabled'
    assert cloud.monitor.violations() == []
