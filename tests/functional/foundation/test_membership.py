"""The agents' group on a real etcd: namespaced per cluster, and a host
name held by one live agent is never taken by a second (a cloned image).

The first tests drive :class:`Membership` objects directly (a hand-moved
clock decides when a refused agent tries again); the last runs real
vmr-agent processes.
"""

import os
import time

from tooz import utils as tooz_utils

from tests.procs import Cluster, ServiceProcess, wait_for
from vmr_agent.membership import Membership
from vmr_common.store import Store
from vmr_coordinator import snapshot as snapshot_mod

GROUP = 'vmr-agents'
TTL = 2


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def caps(boot_id, address='127.0.0.1'):
    return {'host': 'compute-1', 'boot_id': boot_id,
            'addresses': {'management': address}}


def member(store, clock=None):
    return Membership(store, 'compute-1', GROUP, TTL, clock=clock or Clock())


def test_two_clusters_on_one_etcd_never_see_each_others_agents(etcd_server):
    a = Store([etcd_server.endpoint], cluster='a%s' % os.urandom(4).hex())
    b = Store([etcd_server.endpoint], cluster='b%s' % os.urandom(4).hex())
    first, second = member(a), member(b)
    try:
        # the same host name in two clusters: both join, nobody is refused
        assert first.join(caps('boot-a')) == 'joined'
        assert second.join(caps('boot-b')) == 'joined'
        assert a.keys.member(GROUP, 'compute-1').startswith(a.keys.root)
        for store, boot_id in ((a, 'boot-a'), (b, 'boot-b')):
            snap = snapshot_mod.take(store, GROUP)
            assert set(snap.members) == {'compute-1'}
            assert snap.members['compute-1'].capabilities[
                'boot_id'] == boot_id
            assert snap.duplicates == []
    finally:
        first.close()
        second.close()
        for store in (a, b):
            store.delete(store.keys.root, prefix=True)


def test_a_duplicate_never_evicts_is_reported_and_waits(store):
    clock = Clock()
    first, clone = member(store), member(store, clock)
    key = store.keys.member(GROUP, 'compute-1')
    try:
        assert first.join(caps('boot-first', '10.0.0.1')) == 'joined'
        before = store.get(key)
        assert clone.join(caps('boot-clone', '10.0.0.2')) == 'refused'
        # beats before the back-off expired do not even try again
        assert clone.beat() == 'refused'
        for _ in range(3):
            clock.now += clone.retry_max
            assert clone.beat() == 'refused'
            assert first.beat() == 'ok'
        after = store.get(key)
        assert (after.lease, after.create_revision, after.mod_revision) == (
            before.lease, before.create_revision, before.mod_revision)
        assert after.capabilities()['boot_id'] == 'boot-first'
        # the holder still updates its own key (a compare on its lease)
        assert first.beat(dict(caps('boot-first', '10.0.0.1'),
                               zone='z1')) == 'updated'
        assert store.get(key).capabilities()['zone'] == 'z1'
        assert clone.refusals == 4 and not clone.joined
        # reported for `vmr status`, naming both agents
        snap = snapshot_mod.take(store, GROUP)
        assert list(snap.members) == ['compute-1']
        [report] = snap.duplicates
        assert report['host'] == 'compute-1'
        assert report['boot_id'] == 'boot-clone'
        assert report['addresses'] == {'management': '10.0.0.2'}
        assert report['holder']['boot_id'] == 'boot-first'
        assert report['holder']['addresses'] == {'management': '10.0.0.1'}
        # the first agent leaves: the clone joins on its next try, and its
        # report goes with the join
        first.close()
        clock.now += clone.retry_max
        assert clone.beat() == 'joined'
        snap = snapshot_mod.take(store, GROUP)
        assert snap.members['compute-1'].capabilities[
            'boot_id'] == 'boot-clone'
        assert snap.duplicates == []
    finally:
        first.close()
        clone.close()


def test_a_crashed_agents_successor_joins_once_the_old_lease_expired(store):
    """A machine that rebooted within T of its last beat: another boot id,
    the old key still alive.  Refused until the old lease runs out, then
    joined -- never blocked for good."""
    old = member(store)
    assert old.join(caps('boot-before-reboot')) == 'joined'
    old.close(leave=False)   # crashed: the lease just runs out
    rebooted = member(store, clock=time.monotonic)
    try:
        assert rebooted.join(caps('boot-after-reboot')) == 'refused'
        wait_for(lambda: rebooted.beat() == 'joined', 3 * TTL + 10,
                 interval=0.2, message='the rebooted agent joined')
        kv = store.get(store.keys.member(GROUP, 'compute-1'))
        assert kv.capabilities()['boot_id'] == 'boot-after-reboot'
    finally:
        rebooted.close()


def test_a_fast_restart_replaces_its_own_key(store):
    """The same boot id: this agent's previous process, whose lease still
    lives.  It joins at once (no wait for the old lease)."""
    old = member(store)
    assert old.join(caps('boot-same')) == 'joined'
    old_lease = store.get(store.keys.member(GROUP, 'compute-1')).lease
    restarted = member(store)
    try:
        assert restarted.join(caps('boot-same')) == 'joined'
        kv = store.get(store.keys.member(GROUP, 'compute-1'))
        assert kv.lease != old_lease
    finally:
        restarted.close()
        store.revoke(old_lease)


def test_an_unknown_boot_id_identifies_nobody(store):
    """Both clones of an image without a readable boot id say 'unknown':
    that is no proof of being the same agent."""
    first, second = member(store), member(store)
    try:
        assert first.join(caps('unknown')) == 'joined'
        assert second.join(caps('unknown')) == 'refused'
    finally:
        first.close()
        second.close()


def test_a_cloned_agent_process_never_evicts_the_first(etcd_server):
    cluster = Cluster([etcd_server.endpoint], agents=1, coordinators=1)
    store = cluster.store()
    key = store.keys.member(GROUP, 'compute-1')
    first = cluster.agents['compute-1']
    # the same name in another directory: its own boot id (a clone)
    clone_dir = os.path.join(cluster.workdir, 'clone')
    os.makedirs(clone_dir)
    clone = ServiceProcess('agent', 'compute-1', cluster.endpoints,
                           cluster.cluster, clone_dir)
    try:
        cluster.start()
        held = wait_for(lambda: store.get(key), 30,
                        message='the first agent joined')
        first_boot = held.capabilities()['boot_id']
        clone.start()
        report = wait_for(
            lambda: snapshot_mod.take(store, GROUP).duplicates, 30,
            message='the clone reported as a duplicate')[0]
        assert report['holder']['boot_id'] == first_boot
        assert report['boot_id'] != first_boot
        wait_for(lambda: clone.log().count('REFUSED to join') >= 2, 30,
                 message='the clone tried again')
        now = store.get(key)
        assert (now.lease, now.create_revision) == (held.lease,
                                                    held.create_revision)
        assert 'ERROR' in clone.log() and first_boot in clone.log()
        record = store.get(store.keys.host('compute-1')).json()
        assert record['agent']['boot_id'] == first_boot
        # the coordinators say it too, once
        coordinator = cluster.coordinators['controller-1']
        wait_for(lambda: 'a second agent claims host name compute-1' in
                 coordinator.log(), 30, message='the coordinator reported it')
        # the first agent dies: the clone takes the name once its lease
        # ran out, and the report is gone
        first.kill()
        def clone_holds_it():
            kv = store.get(key)      # one read: the key may come and go
            return kv is not None and \
                kv.capabilities()['boot_id'] == report['boot_id']
        wait_for(clone_holds_it, 60, interval=0.2,
                 message='the clone took over')
        assert snapshot_mod.take(store, GROUP).duplicates == []
        assert 'Traceback' not in clone.log() + first.log()
        assert coordinator.log().count('a second agent claims host name') == 1
    finally:
        clone.stop()
        cluster.cleanup()
        store.delete(store.keys.root, prefix=True)


def test_agents_older_than_0_9_at_the_old_key_count_live(store):
    """An upgrade that begins with the coordinators: old agents still beat
    at tooz's global key; a coordinator that found them there at start
    counts them live (and names them) until they move."""
    group = 'legacy-%s' % os.urandom(4).hex()
    legacy_dir = store.keys.legacy_group(group)
    try:
        # readable and empty: read anyway (a rollback would use it)
        assert snapshot_mod.probe_legacy_membership(store, group) == 0
        lease = store.grant(30)
        # what tooz's etcd3gw driver wrote: a bare group key, msgpack caps
        store.put(legacy_dir.rstrip('/'), b'')
        store.put(legacy_dir + 'compute-1', tooz_utils.dumps(
            {'host': 'compute-1', 'boot_id': 'old'}), lease=lease)
        new = Membership(store, 'compute-2', group, TTL, clock=Clock())
        assert new.join({'host': 'compute-2', 'boot_id': 'new'}) == 'joined'

        # not read (a role without the old prefix): only the new key counts
        snap = snapshot_mod.take(store, group)
        assert sorted(snap.members) == ['compute-2']
        assert snapshot_mod.probe_legacy_membership(store, group) == 1
        store.legacy_membership = True
        cache = snapshot_mod.SnapshotCache()
        for _ in range(2):      # the full read, then the incremental one
            snap = snapshot_mod.take(store, group, cache)
            assert sorted(snap.members) == ['compute-1', 'compute-2']
            assert snap.legacy_members == ['compute-1']
            assert snap.members['compute-1'].capabilities['boot_id'] == 'old'
            assert snap.members['compute-1'].lease == lease

        # the old agent stops (its lease ends): gone from both views
        store.revoke(lease)
        snap = snapshot_mod.take(store, group, cache)
        assert sorted(snap.members) == ['compute-2']
        assert snap.legacy_members == []
    finally:
        store.delete(legacy_dir.rstrip('/'), prefix=True)
