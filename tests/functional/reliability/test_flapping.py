"""A flapping host: its agent is frozen (SIGSTOP) long enough to drop out of
the group, then thawed (SIGCONT), again and again.

Timings: TTL T = 3 s, grace 5 s.  Each freeze lasts 5 s, so the host is
absent from the group for about 5 - T + (up to 1 s of beat interval) = 2-3
s: within the first grace.  Every return counts as a flap and doubles the
next grace (hold-down, ``[coordinator] flap_holddown``), so the host is
never failed or fenced, and the record shows why (``flaps``, ``grace``).
"""

import signal
import time

import pytest

from tests.functional.reliability.netcut import host_states, leader
from tests.procs import Cluster, wait_for

GRACE = 5.0
FREEZE = 5.0
FLAPS = 3


@pytest.fixture
def cluster(etcd_server):
    c = Cluster([etcd_server.endpoint], agents=3, coordinators=1,
                timing={'grace': GRACE})
    store = c.store()
    try:
        c.start()
        wait_for(lambda: len(host_states(store)) == 3 and all(
            h['state'] == 'up' for h in host_states(store).values()) and
            leader(store), 60, interval=0.2, message='3 hosts up, a leader')
        yield c, store
    finally:
        c.cleanup()
        store.delete(store.keys.root, prefix=True)


def test_flapping_host_is_held_down_not_failed(cluster):
    c, store = cluster
    agent = c.agents['compute-2']
    graces = []
    states = set()

    def watch(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rec = host_states(store)['compute-2']
            states.add(rec['state'])
            if rec['state'] == 'suspect' and (
                    not graces or graces[-1][0] != rec.get('suspect_since')):
                graces.append((rec.get('suspect_since'), rec.get('grace')))
            time.sleep(0.1)

    for _ in range(FLAPS):
        agent.signal(signal.SIGSTOP)
        try:
            watch(FREEZE)
        finally:
            agent.signal(signal.SIGCONT)
        # back in the group: the agent rejoins within a beat or two
        wait_for(lambda: host_states(store)['compute-2']['state'] == 'up',
                 20, interval=0.1, message='compute-2 back up')
        watch(1.0)

    rec = host_states(store)['compute-2']
    assert states <= {'up', 'suspect', 'partitioned'}, states
    assert 'failed' not in states and 'fencing' not in states
    assert len(rec.get('flaps', [])) == FLAPS, rec
    # One suspect period per flap, each with a longer hold-down grace.
    grace_values = [g for _, g in graces]
    assert len(grace_values) == FLAPS, graces
    assert grace_values[0] == GRACE
    assert all(b > a for a, b in zip(grace_values, grace_values[1:])), \
        grace_values
    assert store.get_prefix(store.keys.journal)[0] == []
    log = c.coordinators['controller-1'].log()
    assert 'flapping: hold-down grace' in log
