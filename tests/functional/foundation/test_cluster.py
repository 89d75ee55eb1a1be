"""The foundation, end to end: real etcd, real vmr-agent and vmr-coordinator
processes, T = 3 s (issue 3's "Show" list)."""

import json
import signal
import time

import pytest

from tests.procs import Cluster, TIMING, wait_for
from vmr_common.store import Op

T = TIMING['ttl']
P = TIMING['period']
GRACE = TIMING['grace']
L = TIMING['leader_ttl']
# Detection writes 'failed' and, with no stage waiting for the next cycle,
# the recovery moves the same record on to fencing at once: a test that
# polls sees any of these once the host has been declared failed.
DETECTED = frozenset(('failed', 'fencing', 'fenced', 'blocked',
                      'recovering', 'recovered'))


def host_states(store):
    kvs, _ = store.get_prefix(store.keys.hosts)
    return {kv.key.rsplit('/', 1)[1]: kv.json() for kv in kvs}


def leader(store):
    kv = store.get(store.keys.leader)
    return kv.value if kv else None


@pytest.fixture
def cluster(etcd_server):
    c = Cluster([etcd_server.endpoint], agents=3, coordinators=2)
    c.start()
    store = c.store()
    try:
        wait_for(lambda: len(host_states(store)) == 3 and all(
            h['state'] == 'up' for h in host_states(store).values()), 30,
            message='3 hosts registered and up')
        wait_for(lambda: leader(store), 15, message='a leader')
        yield c, store
    finally:
        c.stop()


def test_sigkill_agent_detected_within_budget(cluster):
    c, store = cluster
    budget = T + GRACE + P + 1.0 + TIMING['probe_timeout']
    # settle: every host up for a moment
    time.sleep(1.0)
    killed_at = time.monotonic()
    c.agents['compute-2'].kill()
    answers = {}

    def failed():
        # the probers' answers live only until the request expires
        kvs, _ = store.get_prefix(store.keys.probes + 'compute-2/')
        for kv in kvs:
            if kv.key.count('/') - store.keys.probes.count('/') == 2:
                answers[kv.key] = kv.json()
        return host_states(store)['compute-2']['state'] in DETECTED
    wait_for(failed, budget + 5, interval=0.02, message='compute-2 failed')
    latency = time.monotonic() - killed_at
    # Every prober (compute-3 and compute-1 after it in the ring, and the
    # leader) had been watching compute-2 and answered from that at once.
    probers = sorted(a['prober'] for a in answers.values())
    assert {'compute-1', 'compute-3'} <= set(probers), answers
    assert all(a['how'] == 'watch' and not any(a['reachable'].values())
               for a in answers.values()), answers
    states = host_states(store)
    assert states['compute-1']['state'] == 'up'
    assert states['compute-3']['state'] == 'up'
    assert latency <= budget, 'detected after %.2f s > %.2f s' % (latency,
                                                                 budget)
    # The record said why when it turned failed (it may be fencing by now).
    reasons = [value.get('reason', '') for _, value in
               history(store, store.keys.host('compute-2'))
               if value.get('state') == 'failed']
    assert reasons and all('unreachable' in r for r in reasons), reasons


def test_sigkill_leader_standby_takes_over(cluster):
    c, store = cluster
    old = leader(store)
    killed_at = time.monotonic()
    c.coordinators[old].kill()
    new = wait_for(lambda: leader(store) not in (None, old) and leader(store),
                   L + P + 6, message='a new leader')
    took = time.monotonic() - killed_at
    assert new != old
    assert took <= L + P + 1.0, 'failover took %.2f s' % took


def test_sigstop_leader_cannot_write_after_takeover(cluster):
    c, store = cluster
    old = leader(store)
    c.coordinators[old].signal(signal.SIGSTOP)
    try:
        new = wait_for(lambda: leader(store) not in (None, old) and
                       leader(store), L + P + 6, message='a new leader')
        # make the new leader write: a host goes down
        c.agents['compute-1'].kill()
        wait_for(lambda: host_states(store)['compute-1']['state'] in DETECTED,
                 T + 10, message='compute-1 failed')
    finally:
        c.coordinators[old].signal(signal.SIGCONT)
    wait_for(lambda: 'steps down' in c.coordinators[old].log(), 10,
             message='old leader stepping down')
    time.sleep(2 * P + 0.5)
    assert leader(store) == new
    # Every host write carries its writer's token: over the whole history
    # of hosts/ the tokens never go back (no two coordinators wrote).
    tokens = [(rev, value.get('token'), value.get('updated_by'))
              for rev, value in history(store, store.keys.hosts)
              if value.get('token') is not None]
    assert tokens, 'no leader writes recorded'
    seen = [t for _, t, _ in tokens]
    assert seen == sorted(seen), tokens
    writers_after = {w for _, t, w in tokens if t == max(seen)}
    assert writers_after == {new}


def history(store, prefix):
    """Every (revision, JSON value) ever written below ``prefix``."""
    client = store._client(store.endpoint)
    events, cancel = client.watch_prefix(prefix, start_revision='1')
    out = []
    current = store.revision()
    try:
        for event in events:
            kv = event['kv']
            rev = int(kv.get('mod_revision', 0))
            if 'value' in kv and kv['value']:
                try:
                    out.append((rev, json.loads(kv['value'])))
                except ValueError:
                    pass
            if rev >= current:
                break
    finally:
        cancel()
    return out


def test_stalled_agent_rejoins_by_itself(cluster):
    c, store = cluster
    c.agents['compute-3'].signal(signal.SIGSTOP)
    try:
        wait_for(lambda: host_states(store)['compute-3']['state'] != 'up',
                 T + 5, message='compute-3 noticed missing')
    finally:
        c.agents['compute-3'].signal(signal.SIGCONT)
    wait_for(lambda: host_states(store)['compute-3']['state'] == 'up', 15,
             message='compute-3 back up')
    log = c.agents['compute-3'].log()
    # The lease ran out during the stop: the first gRPC renewal after it
    # answered TTL 0 and the agent rejoined (never via the gateway).
    assert 'rejoining' in log
    assert 'lease keep-alives over grpc' in log
    assert 'gateway answered' not in log
    # ... and says so in its capabilities (`vmr host show`).
    member = store.get(store.keys.member('vmr-agents', 'compute-3'))
    assert member.capabilities()['heartbeat'] == 'grpc'


def test_deleted_member_key_is_restored(cluster):
    """An agent keeps its lease alive with one request per beat and reads
    its own key only every Membership.CHECK_EVERY beats: a key deleted by
    hand while the lease lives is still put back within those beats."""
    from vmr_agent.membership import Membership
    c, store = cluster
    key = store.keys.member('vmr-agents', 'compute-1')
    assert store.get(key) is not None
    store.delete(key)
    wait_for(lambda: store.get(key) is not None,
             Membership.CHECK_EVERY * TIMING['interval'] + 5,
             message='compute-1 member key back')
    assert 'rejoining' in c.agents['compute-1'].log()


def test_host_registered_without_agent_is_detected(cluster):
    c, store = cluster
    store.put(store.keys.host('ghost-1'), {
        'host': 'ghost-1', 'state': 'up', 'enabled': True,
        'maintenance': False,
        'agent': {'addresses': {'management': '127.0.0.1:9'}}})
    wait_for(lambda: host_states(store)['ghost-1']['state'] in DETECTED,
             10, message='ghost-1 failed')
    assert all(host_states(store)[h]['state'] == 'up'
               for h in ('compute-1', 'compute-2', 'compute-3'))


def test_maintenance_host_is_not_failed(cluster):
    c, store = cluster
    kv = store.get(store.keys.host('compute-1'))
    record = kv.json()
    record['maintenance'] = True
    store.put(kv.key, record)
    c.agents['compute-1'].kill()
    time.sleep(T + 3)
    assert host_states(store)['compute-1']['state'] == 'maintenance'


def test_pause_observes_only(cluster):
    c, store = cluster
    store.put(store.keys.pause, {'by': 'test'})
    c.agents['compute-2'].kill()
    time.sleep(T + 3)
    assert host_states(store)['compute-2']['state'] == 'up'
    store.delete(store.keys.pause)
    wait_for(lambda: host_states(store)['compute-2']['state'] in DETECTED,
             10, message='compute-2 failed after resume')


def test_etcd_restart_declares_nobody_failed(etcd):
    c = Cluster([etcd.endpoint], agents=3, coordinators=2)
    c.start()
    store = c.store()
    try:
        wait_for(lambda: len(host_states(store)) == 3 and all(
            h['state'] == 'up' for h in host_states(store).values()), 30,
            message='3 hosts up')
        wait_for(lambda: leader(store), 15, message='a leader')
        time.sleep(1)
        etcd.restart(down_for=2.0)
        deadline = time.monotonic() + 3 * T
        while time.monotonic() < deadline:
            states = host_states(store)
            assert not [h for h, r in states.items()
                        if r['state'] in DETECTED], states
            time.sleep(0.2)
        wait_for(lambda: leader(store), 10, message='a leader after restart')
        assert all(h['state'] == 'up' for h in host_states(store).values())
    finally:
        c.stop()


def test_new_leader_token_rejects_old_guard(etcd_server):
    """The fencing token, at store level: an old term's guard cannot write."""
    from vmr_common import exceptions
    from vmr_common.store import Store
    from vmr_coordinator.election import Election
    store = Store([etcd_server.endpoint], cluster='tok%d' % time.time_ns())
    now = [0.0]
    a = Election(store, 'a', ttl=2, margin=0.2, clock=lambda: now[0])
    b = Election(store, 'b', ttl=2, margin=0.2, clock=lambda: now[0])
    assert a.step() is True
    old_guard = a.guard
    assert b.step() is False
    time.sleep(3.5)            # a's lease expires in etcd (a is "frozen")
    assert b.step() is True
    assert b.token > old_guard.token
    with pytest.raises(exceptions.LeadershipLost):
        store.guarded(old_guard, [Op.put(store.keys.host('x'), {})])
    # a wakes up: its own clock has passed its deadline -> steps down
    now[0] = 100.0
    assert a.step() is False
    assert a.token is None
