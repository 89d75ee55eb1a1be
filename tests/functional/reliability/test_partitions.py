"""Partitions, made with per-process TCP proxies in front of etcd.

Timings (tests/procs.TIMING): heartbeat TTL T = 3 s, period P = 0.5 s,
leader lease L = 3 s with a 0.5 s margin, etcd request timeout 2 s.  Waits
are generous (several T) because the machine is shared and loaded; the
assertions are about *what* happens, not how fast.
"""

import re
import time

import pytest

from tests.functional.reliability.netcut import CutCluster, host_states, \
    leader
from tests.procs import wait_for
from vmr_common import exceptions
from vmr_common.store import LeaderGuard, Op

T = 3.0


def all_up(store, names):
    states = host_states(store)
    return all(states.get(n, {}).get('state') == 'up' for n in names)


@pytest.fixture
def make_cluster(etcd_server):
    made = []

    def make(**kwargs):
        c = CutCluster(etcd_server, **kwargs)
        made.append(c)
        return c
    yield make
    for c in made:
        c.stop()
        c.store().delete(c.store().keys.root, prefix=True)


def _log_time(line):
    """Seconds of the day of an oslo.log line (same host clock for all)."""
    m = re.match(r'\S+ (\d+):(\d+):(\d+\.\d+) ', line)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def test_leader_cut_from_etcd_steps_down_and_its_token_is_refused(
        make_cluster):
    c = make_cluster(agents=1, coordinators=2)
    c.start()
    store = c.store()
    wait_for(lambda: all_up(store, ['compute-1']) and leader(store), 60,
             interval=0.2, message='an agent up and a leader')
    old = leader(store)
    old_token = store.get(store.keys.leader).create_revision
    new_name = [n for n in c.coordinators if n != old][0]
    c.cut(old)
    new = wait_for(lambda: leader(store) not in (None, old) and leader(store),
                   30, interval=0.1, message='a new leader')
    assert new == new_name
    new_token = store.get(store.keys.leader).create_revision
    assert new_token > old_token

    # The old guard is refused by etcd itself, whatever the old leader
    # believes: every leader write carries it.
    with pytest.raises(exceptions.LeadershipLost):
        store.guarded(LeaderGuard(store.keys.leader, old, old_token),
                      [Op.put(store.keys.host('compute-1'), {'x': 1})])

    # The old leader stepped down by its own clock; the new one was elected
    # only after the old lease expired in etcd.  Both logs use this host's
    # clock, so their order is meaningful.
    old_log = wait_for(lambda: 'steps down' in c.procs[old].log() and
                       c.procs[old].log(), 20, interval=0.2,
                       message='the old leader to say it stepped down')
    down = [line for line in old_log.splitlines() if 'steps down' in line]
    elected = [line for line in c.procs[new].log().splitlines()
               if 'is now the leader' in line]
    assert down and elected
    assert _log_time(down[0]) < _log_time(elected[-1]), (down[0],
                                                         elected[-1])

    # Healed, the old leader follows the new one and writes nothing.
    c.heal(old)
    wait_for(lambda: 'standby: %s is the leader' % new in c.procs[old].log(),
             30, interval=0.3, message='the old leader to follow the new')
    assert leader(store) == new


def test_agent_cut_from_etcd_but_reachable_is_partitioned_not_fenced(
        make_cluster):
    c = make_cluster(agents=3, coordinators=1)
    c.start()
    store = c.store()
    names = sorted(c.agents)
    wait_for(lambda: all_up(store, names) and leader(store), 60,
             interval=0.2, message='3 agents up and a leader')
    c.cut('compute-2')   # etcd path only; its probe responder answers
    wait_for(lambda: host_states(store)['compute-2']['state'] ==
             'partitioned', 30, interval=0.2,
             message='compute-2 partitioned')
    reason = host_states(store)['compute-2']['reason']
    assert 'reachable' in reason
    # Stay cut for several re-probe rounds: never failed, never fenced.
    deadline = time.monotonic() + 3 * T
    while time.monotonic() < deadline:
        state = host_states(store)['compute-2']['state']
        assert state in ('partitioned', 'suspect'), state
        time.sleep(0.3)
    kvs, _ = store.get_prefix(store.keys.journal)
    assert kvs == []
    c.heal('compute-2')
    wait_for(lambda: host_states(store)['compute-2']['state'] == 'up', 30,
             interval=0.2, message='compute-2 back up after the heal')


def test_coordinators_cut_from_a_group_of_agents_engage_the_brake(
        make_cluster):
    cut = ['compute-1', 'compute-2', 'compute-3']
    # grace of one TTL: agents of one cut drop out of the group up to a TTL
    # apart, and the brake must see them together (DESIGN §3).
    c = make_cluster(agents=5, coordinators=1, unreachable=cut,
                     timing={'grace': T})
    c.start()
    store = c.store()
    names = sorted(c.agents)
    wait_for(lambda: all_up(store, names) and leader(store), 60,
             interval=0.2, message='5 agents up and a leader')
    c.cut(*cut)
    brake = wait_for(lambda: store.get(store.keys.brake), 30, interval=0.2,
                     message='the disruption brake')
    zones = brake.json()['zones']
    assert set(zones['nova']['hosts']) == set(cut), zones
    # Well past grace + probe timeout: still nobody failed or fenced.
    deadline = time.monotonic() + 4 * T
    while time.monotonic() < deadline:
        states = host_states(store)
        for name in cut:
            assert states[name]['state'] == 'suspect', states[name]
        time.sleep(0.3)
    assert store.get_prefix(store.keys.journal)[0] == []
    log = c.procs['controller-1'].log()
    assert 'disruption brake engaged' in log
    c.heal(*cut)
    wait_for(lambda: all_up(store, names), 30, interval=0.2,
             message='every host back up')
    wait_for(lambda: store.get(store.keys.brake) is None or not
             store.get(store.keys.brake).json().get('zones'), 20,
             interval=0.3, message='the brake released')
