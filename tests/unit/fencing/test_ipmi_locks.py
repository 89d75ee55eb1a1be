"""pyghmi's two session locks are one once VMR's IPMI code is loaded: the
order in which pyghmi takes them can no longer deadlock two sessions."""

from pyghmi.ipmi.private import session

from vmr_common import ipmi_locks
from vmr_coordinator.fencing import ipmi  # noqa: F401 (applies it)


def test_the_fencer_leaves_one_lock_for_both_tables():
    assert session.KEEPALIVE_SESSIONS is session.WAITING_SESSIONS


def test_merging_again_changes_nothing():
    lock = session.KEEPALIVE_SESSIONS
    assert ipmi_locks.merge()
    assert session.KEEPALIVE_SESSIONS is lock is session.WAITING_SESSIONS
    # re-entrant: the nested order pyghmi uses is fine for one thread
    with lock:
        with session.WAITING_SESSIONS:
            pass
