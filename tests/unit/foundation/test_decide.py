"""The recovery engine's decision for one cycle
(:func:`vmr_coordinator.recovery.decide.intents`): pure, branch by branch,
on snapshots built here.  What each intent does when carried out is the
functional tests' (tests/functional/recovery)."""

import pytest

from vmr_coordinator.recovery.decide import Intent, intents, step_intents
from vmr_coordinator.snapshot import HostRecord, Member, Snapshot

NOW = 1_000_000.0
ME, TOKEN = 'controller-1', 7


def snapshot(hosts=None, members=(), journal=None):
    """A snapshot of ``hosts`` ({name: record data}), live agents
    ``members`` (names, or {name: capabilities}) and ``journal`` ({rid:
    record})."""
    caps = members if isinstance(members, dict) else {m: {} for m in members}
    return Snapshot(
        revision=1,
        hosts={n: HostRecord(n, d, 1) for n, d in (hosts or {}).items()},
        members={n: Member(n, c, 0, 1) for n, c in caps.items()},
        journal={rid: (rec, 1) for rid, rec in (journal or {}).items()},
        probes={}, contracts={}, paused=None, brake=None, leader=None,
        corrupt=[])


def record(state, host='compute-1', leader=ME, token=TOKEN, **fields):
    return dict(fields, state=state, host=host, leader=leader,
                leader_token=token, trigger={'type': 'host_down'})


def kinds(snap, now=NOW, backoff_max=float('inf')):
    return [(i.kind, i.rid, i.host, i.step)
            for i in intents(snap, now, ME, TOKEN, backoff_max)]


# -- opening --------------------------------------------------------------
def test_a_failed_host_without_a_recovery_is_opened():
    snap = snapshot(hosts={'compute-1': {'state': 'failed'},
                           'compute-2': {'state': 'up'}})
    assert kinds(snap) == [('open', None, 'compute-1', None)]


def test_a_failed_host_whose_record_names_its_recovery_is_not_opened():
    snap = snapshot(hosts={'compute-1': {'state': 'failed',
                                         'recovery': 'r1'}})
    assert kinds(snap) == []


def test_a_failed_host_with_an_open_record_is_not_opened_twice():
    # the host record lost its 'recovery' (an older write) but the
    # journal still has one open for it
    snap = snapshot(hosts={'compute-1': {'state': 'failed'}},
                    journal={'r1': record('fencing')})
    assert ('open', None, 'compute-1', None) not in kinds(snap)


def test_a_failed_host_whose_last_record_is_closed_is_opened_again():
    snap = snapshot(hosts={'compute-1': {'state': 'failed'}},
                    journal={'r1': record('done')})
    assert kinds(snap) == [('open', None, 'compute-1', None)]


# -- fencing and planning -------------------------------------------------
@pytest.mark.parametrize('state,kind', [('detected', 'fence'),
                                        ('fencing', 'fence'),
                                        ('fenced', 'plan')])
def test_a_record_gets_its_next_stage(state, kind):
    snap = snapshot(journal={'r1': record(state)})
    assert kinds(snap) == [(kind, 'r1', 'compute-1', None)]


def test_a_blocked_fence_is_retried_once_its_back_off_is_over():
    rec = record('blocked', fencing={'next_retry_at': NOW + 10})
    snap = snapshot(journal={'r1': rec})
    assert kinds(snap) == []
    assert kinds(snap, now=NOW + 10) == [('retry fence', 'r1', 'compute-1',
                                          None)]


def test_a_back_off_longer_than_the_longest_is_a_clock_stepped_back():
    rec = record('blocked', fencing={'next_retry_at': NOW + 3600})
    snap = snapshot(journal={'r1': rec})
    assert kinds(snap, backoff_max=300) == [('retry fence', 'r1',
                                             'compute-1', None)]


def test_a_blocked_host_whose_agent_is_back_is_not_fenced_but_unblocked():
    rec = record('blocked', fencing={'next_retry_at': NOW - 1})
    snap = snapshot(hosts={'compute-1': {'state': 'blocked',
                                         'recovery': 'r1'}},
                    members=['compute-1'], journal={'r1': rec})
    assert kinds(snap) == [('unblock', 'r1', 'compute-1', None)]


def test_a_closed_record_needs_nothing():
    snap = snapshot(journal={'r1': record('done'), 'r2': record('failed')})
    assert kinds(snap) == []


# -- taking over ----------------------------------------------------------
def test_a_record_another_leader_drove_is_taken_over_before_its_stage():
    snap = snapshot(journal={'r1': record('fenced', leader='controller-2')})
    assert kinds(snap) == [('take over', 'r1', 'compute-1', None),
                           ('plan', 'r1', 'compute-1', None)]


def test_a_record_of_an_earlier_term_of_mine_is_taken_over():
    snap = snapshot(journal={'r1': record('fenced', token=TOKEN - 1)})
    assert kinds(snap)[0] == ('take over', 'r1', 'compute-1', None)


@pytest.mark.parametrize('leader', [ME, None])
def test_my_own_or_an_unsigned_record_is_not_taken_over(leader):
    snap = snapshot(journal={'r1': record('fenced', leader=leader)})
    assert [k for k, *_ in kinds(snap)] == ['plan']


def test_a_closed_record_of_another_leader_is_not_taken_over():
    snap = snapshot(journal={'r1': record('done', leader='controller-2')})
    assert kinds(snap) == []


# -- acting ---------------------------------------------------------------
def step(state='pending', priority=0, retry_at=None):
    s = {'state': state, 'priority': priority}
    if retry_at is not None:
        s['retry_at'] = retry_at
    return s


def test_steps_due_highest_priority_first_then_plan_order():
    rec = record('acting', steps=[step(priority=0), step(priority=5),
                                  step('done', priority=9), step('running'),
                                  step(priority=5)])
    assert [i.step for i in step_intents('r1', rec, NOW)] == [1, 4, 0, 3]


def test_a_step_waiting_out_its_back_off_is_not_dispatched():
    rec = record('acting', steps=[step(retry_at=NOW + 5), step()])
    assert [i.step for i in step_intents('r1', rec, NOW)] == [1]
    assert [i.step for i in step_intents('r1', rec, NOW + 5)] == [0, 1]


def test_a_retry_written_before_a_clock_step_back_is_due():
    # written at most STEP_BACKOFF_MAX ahead: an hour ahead is a clock
    # stepped back since
    rec = record('acting', steps=[step(retry_at=NOW + 3600)])
    assert [i.step for i in step_intents('r1', rec, NOW)] == [0]


@pytest.mark.parametrize('states', [['done', 'failed', 'skipped'], []])
def test_a_record_whose_steps_are_over_is_finished(states):
    rec = record('acting', steps=[step(s) for s in states])
    assert step_intents('r1', rec, NOW) == [Intent('finish', 'r1',
                                                   'compute-1')]


def test_acting_records_are_part_of_the_cycle():
    rec = record('acting', steps=[step()])
    snap = snapshot(journal={'r1': rec})
    assert kinds(snap) == [('step', 'r1', 'compute-1', 0)]


# -- returns --------------------------------------------------------------
def test_a_recovered_host_back_with_a_new_boot_id_returns():
    snap = snapshot(hosts={'compute-1': {'state': 'recovered',
                                         'recovery': 'r1',
                                         'failed_boot_id': 'b1'}},
                    members={'compute-1': {'boot_id': 'b2'}})
    assert kinds(snap) == [('return', 'r1', 'compute-1', None)]


def test_a_recovered_host_with_its_failed_boot_id_is_not_trusted():
    snap = snapshot(hosts={'compute-1': {'state': 'recovered',
                                         'recovery': 'r1',
                                         'failed_boot_id': 'b1'}},
                    members={'compute-1': {'boot_id': 'b1'}})
    assert kinds(snap) == []


def test_a_recovered_host_whose_agent_says_no_boot_id_returns():
    snap = snapshot(hosts={'compute-1': {'state': 'recovered',
                                         'failed_boot_id': 'b1'}},
                    members={'compute-1': {}})
    assert kinds(snap) == [('return', None, 'compute-1', None)]


@pytest.mark.parametrize('state', ['recovered', 'blocked'])
def test_a_host_without_a_live_agent_does_not_return(state):
    snap = snapshot(hosts={'compute-1': {'state': state}})
    assert kinds(snap) == []


@pytest.mark.parametrize('state', ['up', 'suspect', 'fenced', 'failed'])
def test_other_states_of_a_live_host_are_not_returns(state):
    snap = snapshot(hosts={'compute-1': {'state': state,
                                         'recovery': 'r1'}},
                    members=['compute-1'])
    assert [k for k, *_ in kinds(snap)] == []
