"""Corrupt or foreign data under the prefix is reported and skipped.

A running leader (real vmr-coordinator process, real agents) meets junk
written next to its records: a host record that is not JSON, one that is
JSON but not an object, one whose fields have the wrong types, journal
records that are a list / a string / an object with nonsense fields, a tooz
group member with bytes that are not msgpack, junk contracts, probe
requests, pause and brake switches.  The loop must keep running: it still
detects and fails a killed agent afterwards, its log names the bad keys
(once, not every cycle) and holds no traceback of a crashed cycle.
"""

import pytest

from tests.procs import Cluster, wait_for

JUNK_JSON = b'{"state": "up", '      # truncated JSON
NOT_MSGPACK = b'\xc1\xc1\xc1 not msgpack'  # 0xc1 is never valid msgpack


def host_states(store):
    out = {}
    kvs, _ = store.get_prefix(store.keys.hosts)
    for kv in kvs:
        try:
            data = kv.json()
        except Exception:
            continue
        if isinstance(data, dict):
            out[kv.key.rsplit('/', 1)[1]] = data.get('state')
    return out


def leader(store):
    kv = store.get(store.keys.leader)
    return kv.value if kv else None


@pytest.fixture
def cluster(etcd_server):
    c = Cluster([etcd_server.endpoint], agents=3, coordinators=1)
    store = c.store()
    try:
        c.start()
        wait_for(lambda: [host_states(store).get('compute-%d' % i)
                          for i in (1, 2, 3)] == ['up'] * 3, 60,
                 interval=0.2, message='3 hosts up')
        wait_for(lambda: leader(store), 30, message='a leader')
        yield c, store
    finally:
        c.cleanup()
        store.delete(store.keys.root, prefix=True)


def write_junk(store):
    keys = store.keys
    junk = {
        keys.host('x'): JUNK_JSON,
        keys.host('a-list'): b'[1, 2, 3]',
        keys.host('bad-types'): (b'{"state": ["failed"], "flaps": "often", '
                                 b'"grace": "long", "agent": 7, '
                                 b'"suspect_since": "yesterday"}'),
        keys.recovery('r-list'): b'["fencing", "compute-1"]',
        keys.recovery('r-string'): b'"done"',
        keys.recovery('r-junk'): JUNK_JSON,
        keys.recovery('r-fields'): (b'{"state": "acting", "host": 5, '
                                    b'"trigger": "host_down", '
                                    b'"steps": "none", "fencing": []}'),
        keys.contract('bad'): b'not a contract',
        keys.contract('a-list'): b'[]',
        keys.probe_request('compute-9', 'req'): b'[null]',
        keys.probes + 'deep/a/b/c': b'{}',
        keys.pause: b'[]',
        keys.brake: b'"engaged"',
        keys.root + 'foreign/thing': b'\x00\xff binary',
        keys.member('vmr-agents', 'ghost'): NOT_MSGPACK,
    }
    for key, value in junk.items():
        store.put(key, value)
    return junk


def test_junk_under_the_prefix_is_reported_and_skipped(cluster):
    c, store = cluster
    coordinator = c.coordinators['controller-1']
    junk = write_junk(store)
    try:
        # Several cycles with the junk in place (period 0.5 s).
        wait_for(lambda: 'hosts/x' in coordinator.log(), 20, interval=0.5,
                 message='the leader to report the corrupt host record')
        # An unreadable pause key pauses (someone meant to pause): the
        # leader says so; the operator removes it and healing resumes.
        wait_for(lambda: 'unreadable pause key' in coordinator.log(), 20,
                 interval=0.5, message='the leader to stay paused')
        store.delete(store.keys.pause)
        # The loop is alive and still works: a real failure is detected.
        c.agents['compute-2'].kill()
        wait_for(lambda: host_states(store).get('compute-2') in (
                     'failed', 'fencing', 'fenced', 'blocked'),
                 40, interval=0.2, message='compute-2 failed despite junk')
        assert host_states(store)['compute-1'] == 'up'
        assert leader(store) == 'controller-1'
        assert coordinator.proc.poll() is None
        log = coordinator.log()
        assert 'Traceback' not in log, log[-3000:]
        for key in (store.keys.host('x'), store.keys.recovery('r-list'),
                    store.keys.member('vmr-agents', 'ghost')):
            lines = [line for line in log.splitlines() if key in line]
            assert lines, 'not reported: %s' % key
            # reported when first seen, not once per 0.5 s cycle
            assert len(lines) <= 2, lines
        # The junk itself is left for the operator: VMR never deletes
        # what it did not write.
        assert store.get(store.keys.host('x')).raw == junk[
            store.keys.host('x')]
    finally:
        store.delete(store.keys.member('vmr-agents', 'ghost'))
