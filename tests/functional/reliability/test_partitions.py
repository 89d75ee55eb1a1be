"""Partitions, made with per-process TCP proxies in front of etcd.

Timings (tests/procs.TIMING): heartbeat TTL T = 3 s, period P = 0.5 s,
leader lease L = 3 s with a 0.5 s margin, etcd request timeout 2 s.  Waits
are generous (several T) because the machine is shared and loaded; the
assertions are about *what* happens, not how fast.
"""

import os
import re
import threading
import time

import pytest
import requests

from tests.functional.reliability.netcut import CutCluster, host_states, \
    leader
from tests.procs import wait_for
from vmr_common import exceptions
from vmr_common.store import LeaderGuard, Op

T = 3.0


def all_up(store, names):
    states = host_states(store)
    return all(states.get(n, {}).get('state') == 'up' for n in names)


def started(cluster):
    """Start ``cluster``; its store and agent names once every agent is up
    and a leader is elected."""
    cluster.start()
    store = cluster.store()
    names = sorted(cluster.agents)
    wait_for(lambda: all_up(store, names) and leader(store), 60,
             interval=0.2,
             message='%d agents up and a leader' % len(names))
    return store, names


def _wait_back_up(c, store, name):
    """Wait for ``name`` up again after a heal; on failure, say why: its
    record and what the agent and the leader logged (one CI run on a
    loaded machine saw it stay away for 30 s, and said nothing more)."""
    try:
        wait_for(lambda: host_states(store)[name]['state'] == 'up', 60,
                 interval=0.2, message='%s back up after the heal' % name)
    except AssertionError as exc:
        logs = ['%s:\n%s' % (proc, '\n'.join(
            line for line in c.procs[proc].log().splitlines()
            if ' DEBUG ' not in line)[-3000:])
            for proc in (name, 'controller-1')]
        raise AssertionError('%s; its record: %s; logs:\n%s' % (
            exc, host_states(store).get(name), '\n'.join(logs))) from None


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


def _api_port(proc):
    with open(proc.conf_path) as fh:
        return int(re.search(r'^bind_port = (\d+)$', fh.read(), re.M).group(1))


class RoleWatch(threading.Thread):
    """Polls a coordinator's ``/readyz``: it answers ``role: leader`` from
    the election's clock alone (no etcd read) while the member believes it
    leads, so the first other answer dates the step-down even while the
    member's loop is stuck on a cut etcd link."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.url = 'http://127.0.0.1:%d/readyz' % port
        self.stepped_down_at = None   # wall clock of the asking request
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            asked = time.time()
            try:
                role = requests.get(self.url, timeout=10).json().get('role')
            except (requests.RequestException, ValueError):
                role = None
            if role is not None and role != 'leader':
                self.stepped_down_at = asked
                return
            time.sleep(0.05)


def test_leader_cut_from_etcd_steps_down_and_its_token_is_refused(
        make_cluster):
    c = make_cluster(agents=1, coordinators=2,
                     extra='[api]\nenabled = true\nbind_host = 127.0.0.1\n')
    c.start()
    store = c.store()
    wait_for(lambda: all_up(store, ['compute-1']) and leader(store), 60,
             interval=0.2, message='an agent up and a leader')
    old = leader(store)
    old_token = store.get(store.keys.leader).create_revision
    new_name = [n for n in c.coordinators if n != old][0]
    watch = RoleWatch(_api_port(c.procs[old]))
    wait_for(lambda: requests.get(watch.url, timeout=5).json().get(
        'role') == 'leader', 20, interval=0.2, message='/readyz says leader')
    watch.start()
    c.cut(old)
    cut_at = time.time()
    new = wait_for(lambda: leader(store) not in (None, old) and leader(store),
                   30, interval=0.05, message='a new leader')
    elected_seen = time.time()
    assert new == new_name
    new_token = store.get(store.keys.leader).create_revision
    assert new_token > old_token

    # The old leader stopped believing it leads (by its own clock, its
    # loop blocked on the cut link) before etcd let the new one in.
    wait_for(lambda: watch.stepped_down_at, 20, interval=0.1,
             message='the old leader to step down')
    watch.done.set()
    print('cut->stepped down %.2f s, cut->new leader seen %.2f s'
          % (watch.stepped_down_at - cut_at, elected_seen - cut_at))
    assert watch.stepped_down_at < elected_seen, (
        'old leader still leading %.2f s after the new one was seen'
        % (watch.stepped_down_at - elected_seen))
    # ... and no earlier than its term allowed (L - margin after its last
    # refresh, which happened at most L/3 + a period before the cut).
    assert watch.stepped_down_at > cut_at + 0.5

    # The old guard is refused by etcd itself, whatever the old leader
    # believes: every leader write carries it.
    with pytest.raises(exceptions.LeadershipLost):
        store.guarded(LeaderGuard(store.keys.leader, old, old_token),
                      [Op.put(store.keys.host('compute-1'), {'x': 1})])

    wait_for(lambda: 'steps down' in c.procs[old].log(), 20, interval=0.2,
             message='the old leader to log its step-down')

    # Healed, the old leader follows the new one and writes nothing.
    c.heal(old)
    wait_for(lambda: 'standby: %s is the leader' % new in c.procs[old].log(),
             30, interval=0.3, message='the old leader to follow the new')
    assert leader(store) == new


def test_agent_cut_from_etcd_but_reachable_is_partitioned_not_fenced(
        make_cluster):
    c = make_cluster(agents=3, coordinators=1)
    store, names = started(c)
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
    _wait_back_up(c, store, 'compute-2')


@pytest.mark.parametrize('mode', ['drop-up', 'drop-down'],
                         ids=['agent-to-etcd', 'etcd-to-agent'])
def test_a_one_way_cut_between_agent_and_etcd_never_fences(make_cluster,
                                                           mode):
    """Only one direction of compute-2's etcd link is cut: its beats are
    lost, or etcd's answers are.  Either way it stays reachable on its
    other network: never failed, never fenced, up again after the heal."""
    c = make_cluster(agents=3, coordinators=1)
    store, names = started(c)
    c.cut('compute-2', mode=mode)
    seen = set()
    deadline = time.monotonic() + 5 * T
    while time.monotonic() < deadline:
        state = host_states(store)['compute-2']['state']
        seen.add(state)
        assert state in ('up', 'suspect', 'partitioned'), state
        time.sleep(0.3)
    assert store.get_prefix(store.keys.journal)[0] == []
    if mode == 'drop-up':
        # its lease ran out: seen absent, then found reachable
        assert 'partitioned' in seen, seen
    c.heal('compute-2')
    _wait_back_up(c, store, 'compute-2')
    assert store.get_prefix(store.keys.journal)[0] == []


def test_coordinators_cut_from_a_group_of_agents_engage_the_brake(
        make_cluster):
    cut = ['compute-1', 'compute-2', 'compute-3']
    # grace of one TTL: agents of one cut drop out of the group up to a TTL
    # apart, and the brake must see them together (DESIGN §3).
    c = make_cluster(agents=5, coordinators=1, unreachable=cut,
                     timing={'grace': T})
    store, names = started(c)
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
    def released():
        # one read: the key can vanish between two
        kv = store.get(store.keys.brake)
        return kv is None or not kv.json().get('zones')
    wait_for(released, 20, interval=0.3, message='the brake released')


def _recovered_hosts(store):
    kvs, _ = store.get_prefix(store.keys.journal)
    return sorted(kv.json().get('host') for kv in kvs)


@pytest.mark.skipif(not os.environ.get('VMR_SLOW'), reason=(
    'flaky under a loaded full run (1 failure in about 12 runs, on CI and '
    'here, each direction once; alone it passes): run with VMR_SLOW=1 '
    'until its failure output says why'))
@pytest.mark.parametrize('mode', ['drop-up', 'drop-down'],
                         ids=['prober-to-coordinator', 'coordinator-to-prober'])
def test_a_prober_cut_one_way_while_its_neighbour_dies(make_cluster, mode):
    """compute-1 dies (cut from etcd, answering probes on no network)
    while compute-2, one of the agents the leader asks to probe it, has
    one direction of its link to the leader cut: its answers never reach
    the leader, or the leader's requests never reach it.  compute-1 is
    still failed, from the other probers' and the leader's own answers;
    compute-2 is never failed nor fenced, and is up after the heal.  Six
    hosts: two silent at once stay under the disruption brake."""
    c = make_cluster(agents=6, coordinators=1, unreachable=('compute-1',))
    store, names = started(c)
    c.cut('compute-2', mode=mode)
    c.cut('compute-1')
    wait_for(lambda: 'compute-1' in _recovered_hosts(store), 40,
             interval=0.2, message='a recovery of compute-1')
    assert host_states(store)['compute-1']['state'] in (
        'failed', 'fencing', 'blocked'), host_states(store)['compute-1']
    deadline = time.monotonic() + 3 * T
    while time.monotonic() < deadline:
        state = host_states(store)['compute-2']['state']
        assert state in ('up', 'suspect', 'partitioned'), state
        time.sleep(0.3)
    assert _recovered_hosts(store) == ['compute-1']
    assert store.get(store.keys.brake) is None
    c.heal('compute-2')
    _wait_back_up(c, store, 'compute-2')
    assert _recovered_hosts(store) == ['compute-1']
