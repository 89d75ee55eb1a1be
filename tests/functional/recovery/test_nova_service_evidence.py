"""The force-down/disable after a fence and the un-force/enable when the
host returns leave their results and request ids in the recovery record
(DESIGN §7b), not only in the host record."""

import logging
import time

from tests.support.recovery import HOST, fence_profiles, read_record
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import snapshot as snapshot_mod


def test_force_down_and_unforce_are_journaled_with_request_ids(
        recovery, lab, conn, tmp_path, caplog):
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    recovery.conf.set_override('poll_interval', 0.05, 'fencing')
    store = recovery.store
    rid = 'compute-1-test'
    rec = journal_mod.new_record(rid, HOST, {'type': 'host_down',
                                             'host': HOST}, time.time())
    rec['state'] = journal_mod.RecoveryState.FENCING
    store.put(store.keys.recovery(rid), rec)
    lab.hosts[HOST].set_power('off')     # the host died
    snap = snapshot_mod.take(store, recovery.conf.heartbeat.group)

    recovery._fence(rid, HOST, snap)

    rec = read_record(recovery, rid)
    assert rec['state'] == 'fenced', rec['fencing']
    (post,) = rec['fencing']['post']
    assert post['method'] == 'nova_force_down' and post['verified']
    assert 'forced down, disabled' in post['evidence']
    # force-down and disable in one changing call: one id
    assert len(post['request_ids']) == 1
    assert all(i.startswith('req-') for i in post['request_ids'])
    fenced = [e for e in rec['timeline'] if e['event'] == 'fenced'][-1]
    assert ', '.join(post['request_ids']) in fenced['detail']

    # The host comes back; once nova-compute reports again, un-force and
    # enable, and say so in the record.
    fenced_at = time.time()
    lab.hosts[HOST].set_power('on')
    deadline = time.monotonic() + 30
    tries = 0
    caplog.set_level(logging.INFO, 'vmr_coordinator.recovery.returns')
    while not any(e['event'] == 'nova service restored'
                  for e in read_record(recovery, rid)['timeline']):
        assert time.monotonic() < deadline, read_record(recovery, rid)
        recovery._welcome_back(HOST, rid, {'fenced_at': fenced_at})
        tries += 1
    # Tried every cycle, but each reason to wait is said once.
    waits = [r.getMessage() for r in caplog.records
             if 'waiting for nova-compute' in r.getMessage()]
    assert len(waits) == len(set(waits)) and len(waits) < tries, waits
    rec = read_record(recovery, rid)
    done = [u for u in rec['unfence'] if u['verified']]
    assert done and 'enabled' in done[-1]['evidence']
    ids = [i for u in rec['unfence'] for i in u.get('request_ids', [])]
    assert len(ids) == 2 and all(i.startswith('req-') for i in ids)
    restored = [e for e in rec['timeline']
                if e['event'] == 'nova service restored'][-1]
    assert ids[-1] in restored['detail']
    service = next(s for s in conn.compute.services(binary='nova-compute')
                   if s.host == HOST)
    assert (service.is_forced_down, service.status) == (False, 'enabled')


def _nova_compute(conn, host):
    return next(s for s in conn.compute.services(binary='nova-compute')
                if s.host == host)


def _fenced(recovery, lab, tmp_path, post, method='ipmi'):
    """A recovery of HOST fenced by ``method`` whose post step ended as
    ``post`` says (None: it never ran); ``(its id, a snapshot)``."""
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    store = recovery.store
    rid = 'compute-1-post'
    rec = journal_mod.new_record(rid, HOST, {'type': 'host_down',
                                             'host': HOST}, time.time())
    rec['state'] = journal_mod.RecoveryState.FENCED
    rec['fencing'] = {'verified': True, 'method': method,
                      'post': [post] if post else []}
    store.put(store.keys.recovery(rid), rec)
    return rid, snapshot_mod.take(store, recovery.conf.heartbeat.group)


def test_post_steps_that_failed_run_again_before_the_plan(
        recovery, lab, conn, tmp_path):
    """The fence was verified but its force-down never reached Nova (nova-api
    away longer than the post step's time).  Nova would refuse every
    evacuation until its service_down_time: the force-down runs again before
    the plan, and the record says so."""
    rid, snap = _fenced(recovery, lab, tmp_path, {
        'method': 'nova_force_down', 'verified': False,
        'error': 'Nova: listing services failed: 503 (asked 9 times in '
                 '9.0 s: Nova was away)'})
    lab.hosts[HOST].set_power('off')
    assert _nova_compute(conn, HOST).is_forced_down is False

    recovery._plan_job(rid, snap)

    assert _nova_compute(conn, HOST).is_forced_down is True
    rec = read_record(recovery, rid)
    (post,) = rec['fencing']['post']
    assert post['verified'] and 'forced down' in post['evidence']
    again = [e for e in rec['timeline'] if e['event'] == 'post steps again']
    assert len(again) == 1
    assert 'they failed after the fence' in again[0]['detail']
    assert post['request_ids'][0] in again[0]['detail']
    # then planned as usual
    assert rec['state'] != journal_mod.RecoveryState.FENCED


def test_post_steps_that_went_through_are_not_run_again(
        recovery, lab, conn, tmp_path):
    rid, snap = _fenced(recovery, lab, tmp_path, {
        'method': 'nova_force_down', 'verified': True,
        'evidence': 'forced down'})

    recovery._plan_job(rid, snap)

    # Nova was not asked: the service stays as it was
    assert _nova_compute(conn, HOST).is_forced_down is False
    assert not [e for e in read_record(recovery, rid)['timeline']
                if e['event'] == 'post steps again']


def test_a_fence_confirmed_by_hand_gets_its_post_steps_before_the_plan(
        recovery, lab, conn, tmp_path):
    """An operator confirmed the host off (``vmr host confirm-fenced``)
    after the ladder failed: no post step ever ran, and Nova would refuse
    the evacuations until its service_down_time."""
    rid, snap = _fenced(recovery, lab, tmp_path, None, method='operator')
    lab.hosts[HOST].set_power('off')

    recovery._plan_job(rid, snap)

    assert _nova_compute(conn, HOST).is_forced_down is True
    again = [e for e in read_record(recovery, rid)['timeline']
             if e['event'] == 'post steps again']
    assert len(again) == 1
    assert 'the fence was confirmed by hand' in again[0]['detail']
