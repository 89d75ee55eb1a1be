"""Store watches on a real etcd: they fire for their prefix, only for it.

Both ways of getting this wrong were in VMR once: a doubly base64-encoded
``range_end`` made the coordinator's watch on the agents group never fire
(it saw a dead agent only at its next periodic cycle) and the agents' watch
on probe requests fire on every change in the cluster.
"""

import threading
import time

from vmr_common.store import Store, Watcher


def watching(store, prefix):
    hits = []
    woke = threading.Event()

    def on_change():
        hits.append(time.monotonic())
        woke.set()
    watcher = Watcher(store, prefix, on_change, timeout=5.0)
    watcher.start()
    time.sleep(0.3)
    return watcher, hits, woke


def test_watch_fires_for_its_prefix_only(etcd):
    store = Store([etcd.endpoint])
    for prefix, inside, outside in [
            ('tooz/groups/agents/', 'tooz/groups/agents/h1', 'tooz/other'),
            (store.keys.probes, store.keys.probes + 'h1/r1',
             store.keys.host('h1'))]:
        watcher, hits, woke = watching(store, prefix)
        try:
            store.put(outside, 'x')
            time.sleep(0.5)
            assert hits == [], 'woke for %s' % outside
            started = time.monotonic()
            store.put(inside, 'x')
            assert woke.wait(2.0), 'no wake for %s' % inside
            assert hits[0] - started < 0.5
        finally:
            watcher.stop()


def test_watch_sees_a_lease_expire(etcd):
    store = Store([etcd.endpoint])
    lease = store.grant(2)
    store.put('tooz/groups/agents/h2', 'x', lease=lease)
    watcher, hits, woke = watching(store, 'tooz/groups/agents/')
    try:
        assert woke.wait(6.0)
        assert store.get('tooz/groups/agents/h2') is None
    finally:
        watcher.stop()


def test_wait_for_change_times_out_quietly(etcd):
    store = Store([etcd.endpoint])
    started = time.monotonic()
    assert not store.wait_for_change('/quiet/', store.revision(), 0.5)
    assert 0.4 < time.monotonic() - started < 3


def test_a_change_made_while_the_owner_reacts_wakes_it_again(etcd):
    store = Store([etcd.endpoint])
    hits = []

    def slow_owner():
        hits.append(time.monotonic())
        if len(hits) == 1:
            store.put('/w/b', 'x')        # arrives while we still react
            time.sleep(0.3)
    watcher = Watcher(store, '/w/', slow_owner, timeout=5.0)
    watcher.start()
    try:
        time.sleep(0.3)
        store.put('/w/a', 'x')
        deadline = time.monotonic() + 3
        while len(hits) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(hits) == 2
    finally:
        watcher.stop()


def test_a_compacted_revision_does_not_make_the_watch_spin(etcd):
    store = Store([etcd.endpoint])
    old = store.revision()
    for i in range(5):
        store.put('/c/k%d' % i, 'x')
    store.call('kv/compaction', {'revision': str(store.revision())})
    hits = []
    watcher = Watcher(store, '/c/', lambda: hits.append(1), timeout=1.0)
    watcher.start()
    try:
        # the first wait starts below the compaction: one wake, then quiet
        changed = store.wait_for_change('/c/', old, 1.0)
        assert changed and changed > old
        time.sleep(1.5)
        assert len(hits) <= 2
    finally:
        watcher.stop()
