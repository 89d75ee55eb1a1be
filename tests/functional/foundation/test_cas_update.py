"""Store.cas_update on a real etcd: it retries a lost race with the value
the winner wrote, gives up with CompareFailed, and tells a lost leadership
apart from a lost race."""

import pytest

from vmr_common import exceptions
from vmr_common.store import LeaderGuard, Op


def test_a_lost_race_is_retried_with_the_winners_value(store):
    key = store.keys.host('compute-1')
    store.put(key, {'n': 0, 'agent': 'a'})
    seen = []

    def change(value):
        seen.append(dict(value))
        if len(seen) == 1:      # another writer gets in between
            store.put(key, dict(value, agent='b'))
        value['n'] += 1
        return value
    assert store.cas_update(key, change) == {'n': 1, 'agent': 'b'}
    assert seen == [{'n': 0, 'agent': 'a'}, {'n': 0, 'agent': 'b'}]
    assert store.get(key).json() == {'n': 1, 'agent': 'b'}


def test_nothing_to_write_and_no_key(store):
    key = store.keys.host('compute-1')
    store.put(key, {'n': 0})
    revision = store.get(key).mod_revision
    assert store.cas_update(key, lambda v: None) == {'n': 0}
    assert store.get(key).mod_revision == revision
    assert store.cas_update(store.keys.host('nope'), lambda v: v) is None


def test_it_gives_up_with_compare_failed(store):
    key = store.keys.host('compute-1')
    store.put(key, {'n': 0})

    def always_beaten(value):
        store.put(key, {'n': value['n'] + 100})
        return value
    with pytest.raises(exceptions.CompareFailed, match='3 times in a row'):
        store.cas_update(key, always_beaten, attempts=3)


def test_a_guarded_write_tells_lost_leadership_from_a_lost_race(store):
    key = store.keys.host('compute-1')
    store.put(key, {'n': 0})
    store.put(store.keys.leader, 'ctl-1')
    token = store.get(store.keys.leader).create_revision
    guard = LeaderGuard(store.keys.leader, 'ctl-1', token)

    def write(ops, compare):
        return store.guarded(guard, ops, compare)
    assert store.cas_update(key, lambda v: dict(v, n=1), write) == {'n': 1}
    # another coordinator leads now
    store.txn([], [Op.delete(store.keys.leader)])
    store.put(store.keys.leader, 'ctl-2')
    with pytest.raises(exceptions.LeadershipLost):
        store.cas_update(key, lambda v: dict(v, n=2), write)
    assert store.get(key).json() == {'n': 1}
