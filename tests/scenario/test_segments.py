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
