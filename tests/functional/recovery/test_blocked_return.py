"""A host whose fence was blocked comes back (a kernel hang ends, its agent
rejoins) while a retry of its fence is due: its recovery closes and the
host is not powered off.

Found by the demo scenario ``test_host_back_while_blocked_closes_the_recovery``:
the leader blocked, handed leadership over, the faults cleared, and the new
leader retried the fence at once through the now reachable BMC before the
return closed the record.
"""

import time

from tests.procs import wait_for
from tests.support.recovery import HOST, fence_profiles, read_record
from vmr_coordinator import snapshot as snapshot_mod
from vmr_coordinator.snapshot import Member


def _snapshot(recovery):
    return snapshot_mod.take(recovery.store, recovery.conf.heartbeat.group)


def test_a_blocked_host_whose_agent_is_back_is_not_fenced_by_a_retry(
        recovery, lab, tmp_path):
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    store = recovery.store
    host = lab.hosts[HOST]
    host.apply_fault('bmc_unreachable')
    store.put(store.keys.host(HOST), {'state': 'failed', 'failed_at':
                                      time.time(), 'reason': 'test'})
    recovery.stage(recovery.healer, _snapshot(recovery), time.time())
    (rid,) = [kv.json()['id'] for kv in store.get_prefix(
        store.keys.journal)[0]]
    # the job writes the record, then the host record: a snapshot taken
    # between the two would see the host still fencing (seen once)
    rec = wait_for(lambda: read_record(recovery, rid)['state'] == 'blocked'
                   and store.get(store.keys.host(HOST)).json()['state'] ==
                   'blocked' and read_record(recovery, rid), timeout=60,
                   message='the fence to block')
    assert rec['fencing']['verified'] is False

    host.apply_fault('clear')            # the BMC answers again
    snap = _snapshot(recovery)
    snap.members[HOST] = Member(HOST, {}, 0, 0)   # and the agent is back
    # a cycle long after the back-off: the retry is due
    said = recovery.stage(recovery.healer, snap, time.time() + 3600)

    assert 'retrying the fence' not in said, said
    rec = wait_for(lambda: read_record(recovery, rid)['state'] != 'blocked'
                   and read_record(recovery, rid), timeout=30,
                   message='the blocked record to close')
    assert rec['state'] == 'failed', rec
    assert 'nothing was restarted' in rec['timeline'][-1]['detail']
    assert rec['fencing']['attempt'] == 1, rec['fencing']
    assert host.get_power() == 'on'
    # the job closes the record, then writes the host record
    wait_for(lambda: store.get(store.keys.host(HOST)).json()['state'] ==
             'up', timeout=10, message='the host record to be up')
