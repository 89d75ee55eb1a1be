"""The neighbour ring: who watches whom, read in both directions."""

import itertools

from vmr_common.reach import ring


def test_watchers_are_the_successors_wrapping():
    live = ['a', 'b', 'c', 'd', 'e']
    assert ring.watchers_of(live, 'b', 2) == ['c', 'd']
    assert ring.watchers_of(live, 'e', 2) == ['a', 'b']
    # a target that is not live itself sits between its neighbours
    assert ring.watchers_of(live, 'bb', 2) == ['c', 'd']


def test_watched_are_the_predecessors_wrapping():
    live = ['a', 'b', 'c', 'd', 'e']
    assert ring.watched_by(live, 'c', 2) == ['b', 'a']
    assert ring.watched_by(live, 'a', 2) == ['e', 'd']


def test_small_rings_and_nonsense_counts():
    assert ring.watchers_of(['a'], 'a', 3) == []
    assert ring.watched_by(['a', 'b'], 'a', 3) == ['b']
    assert ring.watchers_of(['a', 'b', 'c'], 'a', 0) == []
    assert ring.watched_by([], 'a', 2) == []


def test_the_two_directions_are_one_ring():
    """``a`` is asked about ``t`` exactly when ``a`` watches ``t``."""
    names = ['h%02d' % i for i in range(9)]
    for size, count in itertools.product(range(1, 10), range(1, 5)):
        live = names[:size]
        for target, agent in itertools.product(live, live):
            assert (agent in ring.watchers_of(live, target, count)) == \
                (target in ring.watched_by(live, agent, count))
