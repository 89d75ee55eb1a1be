"""No stage of a recovery waits for the next coordinator cycle: a host the
detection declared failed is opened in the same cycle, fenced at once,
planned the moment the fence is verified and its steps dispatched at once
(issue 24).  Here the loop runs exactly once; everything after it must
happen without another cycle."""

import time

from tests.labfixtures import boot
from tests.procs import wait_for
from tests.support.recovery import HOST, fence_profiles, read_record
from vmr_coordinator import snapshot as snapshot_mod

EVACUATE = {'name': 'evacuate-all', 'trigger': {'type': 'host_down'},
            'selector': {'all': True},
            'action': {'type': 'evacuate'}}


def _one_cycle(recovery):
    store = recovery.store
    snap = snapshot_mod.take(store, recovery.conf.heartbeat.group)
    return recovery.stage(recovery.healer, snap, time.time())


def test_one_cycle_opens_fences_plans_and_heals(recovery, lab, conn,
                                                tmp_path):
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    recovery.conf.set_override('poll_interval', 0.05, 'fencing')
    store = recovery.store
    store.put(store.keys.contract(EVACUATE['name']), EVACUATE)
    server = boot(conn, 'heal-me', HOST)
    lab.hosts[HOST].set_power('off')
    # what detection writes when it declares the host failed
    store.put(store.keys.host(HOST), {'state': 'failed', 'failed_at':
                                      time.time(), 'reason': 'test'})

    said = _one_cycle(recovery)

    assert 'opened for %s' % HOST in said
    assert 'fencing %s' % HOST not in said   # not left for the next cycle
    journal = store.get_prefix(store.keys.journal)[0]
    (rid,) = [kv.json()['id'] for kv in journal]
    rec = wait_for(lambda: read_record(recovery, rid)['state'] in (
        'done', 'failed') and read_record(recovery, rid), timeout=60,
        message='the recovery to end without another cycle')
    assert rec['state'] == 'done', rec
    events = [e['event'] for e in rec['timeline']]
    assert events.index('fenced') < events.index('planned'), events
    (step,) = rec['steps']
    assert step['state'] == 'done' and step['server_id'] == server.id
    moved = conn.compute.get_server(server.id)
    assert moved.compute_host != HOST
    # the host record follows the journal's close (another write)
    wait_for(lambda: store.get(store.keys.host(HOST)).json()['state'] ==
             'recovered', timeout=10, message='the host to be recovered')


def test_a_stale_snapshot_does_not_fence_twice(recovery, lab, tmp_path):
    """The cycle after a fence may still read the record as FENCING (its
    snapshot was taken before the fence job wrote): the job re-reads the
    record and does nothing."""
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    recovery.conf.set_override('poll_interval', 0.05, 'fencing')
    store = recovery.store
    store.put(store.keys.host(HOST), {'state': 'failed', 'failed_at':
                                      time.time(), 'reason': 'test'})
    lab.hosts[HOST].set_power('off')
    stale = snapshot_mod.take(store, recovery.conf.heartbeat.group)
    _one_cycle(recovery)
    (rid,) = [kv.json()['id'] for kv in store.get_prefix(
        store.keys.journal)[0]]
    wait_for(lambda: read_record(recovery, rid)['state'] != 'fencing',
             timeout=30, message='the fence')
    attempts = read_record(recovery, rid)['fencing']['attempt']

    # the stale snapshot still has no record; build one that shows it
    # FENCING, as a cycle that read before the fence's write would
    later = snapshot_mod.take(store, recovery.conf.heartbeat.group)
    rec, rev = later.journal[rid]
    later.journal[rid] = (dict(rec, state='fencing'), rev)
    assert stale.journal.get(rid) is None
    assert recovery._fence(rid, HOST, later) is False

    assert read_record(recovery, rid)['fencing']['attempt'] == attempts


def test_the_cycle_that_declares_a_host_failed_opens_its_recovery(
        recovery, lab, tmp_path):
    """Detection's write moves the host record's revision; the recovery
    stage of the same cycle opens the record with that revision (before,
    its conditional write lost and the open waited a cycle)."""
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    healer = recovery.healer
    healer.stages.append(recovery.stage)
    store = recovery.store
    now = time.time()
    store.put(store.keys.host(HOST), {'state': 'suspect', 'grace': 0,
                                      'suspect_since': now - 60,
                                      'reason': 'left the agents group'})

    said = healer.run_cycle()

    assert 'recovery' in said and 'opened for %s' % HOST in said, said
    host = store.get(store.keys.host(HOST)).json()
    assert host['state'] in ('fencing', 'fenced'), host
    assert host.get('recovery'), host
