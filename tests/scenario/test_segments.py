"""A failover segment with a reserved host (issue 21), on the whole lab.

compute-1 and compute-2 form segment rack-a with compute-3 as its reserved
host; compute-4, the roomiest, is outside.  VMR keeps the idle compute-3
disabled in Nova; when compute-2 loses power it enables compute-3 and
every server of compute-2 lands there and nowhere else.
"""

import pytest

from tests.support.scenario import running_lab
from vmr_lab.demo import Demo

VICTIM = 'compute-2'
SPARE = 'compute-3'
RACK_A = {'name': 'rack-a', 'hosts': ['compute-1', VICTIM],
          'reserved_hosts': [SPARE], 'recovery_method': 'reserved_host'}


@pytest.fixture
def lab():
    with running_lab(Demo, hosts=4, servers=0) as harness:
        yield harness


def nova_compute(conn, host):
    return next(s for s in conn.compute.services(binary='nova-compute')
                if s.host == host)


def test_power_loss_heals_onto_the_reserved_host_only(lab):
    conn = lab.conn
    lab.store.put(lab.store.keys.segment('rack-a'), RACK_A)
    # the leader's reserve check disables the idle spare
    lab.wait(lambda: nova_compute(conn, SPARE).status == 'disabled', 60,
             'the reserved host %s disabled' % SPARE)
    assert nova_compute(conn, SPARE).disabled_reason == 'vmr: reserved'
    ids = [lab.boot('web-%d' % i, VICTIM, {'ha': 'true'}).id
           for i in range(4)]

    assert lab.run('power-loss', VICTIM, timeout=120), lab.out.getvalue()

    assert {conn.compute.get_server(sid).compute_host for sid in ids} == {
        SPARE}
    spare = nova_compute(conn, SPARE)
    assert spare.status == 'enabled'
    (rec,) = lab._records()
    assert rec['segment'] == {'name': 'rack-a',
                              'recovery_method': 'reserved_host',
                              'reserved_hosts_used': [SPARE]}
    assert all(s['params']['target_host'] == SPARE for s in rec['steps'])
    (event,) = [e for e in rec['timeline'] if e['event'] == 'segment']
    assert event['detail'].startswith(
        'rack-a (reserved_host): 4 placed, 0 without room; '
        'reserved host(s) compute-3 now ordinary members; '
        'nova-compute@compute-3 enabled (was disabled: vmr: reserved)')
    # the used spare is an ordinary member now: not disabled again
    doc = lab.store.get(lab.store.keys.segment('rack-a')).json()
    assert doc['hosts'] == ['compute-1', VICTIM, SPARE]
    assert doc['reserved_hosts'] == []
    assert lab.lab.monitor.violations() == []


SNAPSHOT_CONTRACT = {
    'name': 'batch-snapshot', 'priority': 200,
    'trigger': {'type': 'host_down'},
    'selector': {'metadata': {'recovery': 'snapshot'}},
    'action': {'type': 'boot_from_snapshot'}}


def test_replacements_booted_from_snapshots_stay_in_the_segment(lab):
    """boot_from_snapshot places a new server: it is booted on the
    segment host the plan chose (the reserved one here), never on the
    roomier compute-4 outside the segment."""
    conn = lab.conn
    lab.store.delete(lab.store.keys.contract('demo-evacuate'))
    lab.store.put(lab.store.keys.contract('batch-snapshot'),
                  SNAPSHOT_CONTRACT)
    lab.store.put(lab.store.keys.segment('rack-a'), RACK_A)
    lab.wait(lambda: nova_compute(conn, SPARE).status == 'disabled', 60,
             'the reserved host %s disabled' % SPARE)
    old = []
    for i in range(3):
        server = lab.boot('batch-%d' % i, VICTIM, {'recovery': 'snapshot'})
        conn.compute.create_server_image(server, 'batch-%d-snap' % i,
                                         wait=True)
        conn.compute.wait_for_server(server, interval=0.05)
        old.append(server.id)

    assert lab.run('power-loss', VICTIM, timeout=120), lab.out.getvalue()

    (rec,) = lab._records()
    assert [s['action'] for s in rec['steps']] == ['boot_from_snapshot'] * 3
    assert all(s['params']['target_host'] == SPARE for s in rec['steps'])
    replacements = [s for s in conn.compute.servers(details=True,
                                                    all_projects=True)
                    if (s.metadata or {}).get('vmr_replaces') in old]
    assert len(replacements) == 3
    assert {s.compute_host for s in replacements} == {SPARE}, [
        (s.name, s.compute_host) for s in replacements]
    assert all('not booted on' not in s['result'] for s in rec['steps'])
    assert lab.lab.monitor.violations() == []
