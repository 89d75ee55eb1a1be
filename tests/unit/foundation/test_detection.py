"""Detection decisions over hand-made snapshots, with an injected clock."""

from vmr_coordinator import detection
from vmr_coordinator.detection import HostState, Policy
from vmr_coordinator.snapshot import HostRecord, Member, Snapshot

ADDR = {'management': '127.0.0.1:4747'}


def snap(hosts, live, probes=None, brake=None, segments=()):
    records = {}
    for name, data in hosts.items():
        data = dict(data)
        data.setdefault('state', HostState.UP)
        data.setdefault('agent', {'addresses': ADDR, 'zone': 'az1'})
        records[name] = HostRecord(name, data, 7)
    members = {name: Member(name, {'boot_id': 'b-' + name}, 1, 1)
               for name in live}
    return Snapshot(10, records, members, {}, probes or {}, {}, None, brake,
                    None, [], segments=segments)


def states(det):
    return {t.host: t.state for t in det.transitions}


def test_absent_host_becomes_suspect_and_probed_at_once():
    s = snap({'a': {}, 'b': {}, 'c': {}}, ['a', 'b'])
    det = detection.detect(s, 100.0, Policy(grace=5), 'ctl-1',
                           new_id=lambda: 'req-1')
    assert states(det) == {'c': HostState.SUSPECT}
    assert len(det.probes) == 1
    req = det.probes[0]
    assert req.target == 'c' and req.request_id == 'req-1'
    assert det.transitions[0].fields['probe'] == 'req-1'
    assert sorted(req.body['probers'][:2]) == ['a', 'b']
    assert req.body['probers'][-1] == 'ctl-1'
    assert req.body['deadline'] == 100.0 + Policy().probe_timeout


def test_suspect_waits_for_grace_then_fails_when_unreachable():
    probes = {('c', 'r1'): {'request': {'probers': ['a', 'b'],
                                        'deadline': 101.0, 'created': 100.0},
                            'answers': {'a': {'reachable': {'m': False}},
                                        'b': {'reachable': {'m': False}}}}}
    hosts = {'a': {}, 'b': {}, 'c': {'state': HostState.SUSPECT,
                                     'suspect_since': 100.0, 'grace': 5,
                                     'probe': 'r1'}}
    s = snap(hosts, ['a', 'b'], probes)
    det = detection.detect(s, 103.0, Policy(grace=5), 'ctl')
    assert states(det) == {}
    assert det.waiting == [('c', 'in grace (5 s)')]
    det = detection.detect(s, 105.5, Policy(grace=5), 'ctl')
    assert states(det) == {'c': HostState.FAILED}
    assert 'unreachable on every network' in det.transitions[0].reason


def test_wake_in_is_when_the_first_grace_ends():
    # a new suspect: its whole grace; one in grace: what is left of it
    s = snap({'a': {}, 'b': {}, 'c': {}}, ['a', 'b'])
    assert detection.detect(s, 100.0, Policy(grace=5), 'ctl').wake_in == 5
    det = detection.detect(_unreachable_suspect(suspect_since=100.0), 103.0,
                           Policy(grace=5), 'ctl')
    assert det.waiting and det.wake_in == 2.0
    # the grace over and every prober answered: nothing waits on time
    det = detection.detect(_unreachable_suspect(suspect_since=100.0), 105.5,
                           Policy(grace=5), 'ctl')
    assert states(det) == {'c': HostState.FAILED} and det.wake_in is None
    # nobody absent: nothing to wake for
    det = detection.detect(snap({'a': {}, 'b': {}}, ['a', 'b']), 100.0,
                           Policy(grace=5), 'ctl')
    assert det.wake_in is None


def test_wake_in_is_the_probe_deadline_once_the_grace_is_over():
    probes = {('c', 'r1'): {'request': {'probers': ['a', 'b'],
                                        'deadline': 106.0, 'created': 100.0},
                            'answers': {'a': {'reachable': {'m': False}}}}}
    hosts = {'a': {}, 'b': {}, 'c': {'state': HostState.SUSPECT,
                                     'suspect_since': 100.0, 'grace': 2,
                                     'probe': 'r1'}}
    det = detection.detect(snap(hosts, ['a', 'b'], probes), 104.5,
                           Policy(grace=2), 'ctl')
    assert det.waiting == [('c', 'waiting for probes')]
    assert det.wake_in == 1.5


def test_any_reachable_answer_means_partitioned():
    probes = {('c', 'r1'): {'request': {'probers': ['a', 'b'],
                                        'deadline': 101.0},
                            'answers': {'a': {'reachable': {'tenant': True,
                                                            'mgmt': False}}}}}
    hosts = {'a': {}, 'b': {}, 'c': {'state': HostState.SUSPECT,
                                     'suspect_since': 100.0, 'probe': 'r1'}}
    det = detection.detect(snap(hosts, ['a', 'b'], probes), 100.5,
                           Policy(grace=0))
    assert states(det) == {'c': HostState.PARTITIONED}
    assert 'a via tenant' in det.transitions[0].reason


def test_on_partition_fence_fails_a_reachable_host():
    probes = {('c', 'r1'): {'request': {'probers': ['a'], 'deadline': 101.0},
                            'answers': {'a': {'reachable': {'m': True}}}}}
    hosts = {'a': {}, 'b': {}, 'c': {'state': HostState.SUSPECT,
                                     'suspect_since': 100.0, 'probe': 'r1'}}
    det = detection.detect(snap(hosts, ['a', 'b'], probes), 102,
                           Policy(grace=0, on_partition='fence'))
    assert states(det) == {'c': HostState.FAILED}


def test_pending_probe_and_lost_probe():
    hosts = {'a': {}, 'c': {'state': HostState.SUSPECT,
                            'suspect_since': 100.0, 'probe': 'r1'}}
    pending = {('c', 'r1'): {'request': {'probers': ['a'], 'deadline': 105},
                             'answers': {}}}
    det = detection.detect(snap(hosts, ['a'], pending), 101, Policy(grace=0))
    assert states(det) == {} and det.waiting == [('c', 'waiting for probes')]
    # the request vanished (leader change): probe again, never conclude
    det = detection.detect(snap(hosts, ['a']), 101, Policy(grace=0))
    assert states(det) == {'c': HostState.SUSPECT}
    assert len(det.probes) == 1


def test_brake_engages_on_mass_silence_and_blocks_failure():
    hosts = {n: {} for n in 'abcdef'}
    det = detection.detect(snap(hosts, ['a', 'b', 'c']), 100,
                           Policy(grace=0))
    assert 'az1' in det.brake and det.brake_changed
    assert '3 of 6 hosts' in det.brake['az1']['reason']
    # the suspects are unreachable but the brake holds them
    hosts = {n: {} for n in 'abc'}
    hosts.update({n: {'state': HostState.SUSPECT, 'suspect_since': 100,
                      'probe': None} for n in 'def'})
    for h in 'def':
        hosts[h]['agent'] = {'zone': 'az1'}   # no addresses: unreachable
    brake = {'zones': det.brake}
    det2 = detection.detect(snap(hosts, ['a', 'b', 'c'], brake=brake), 130,
                            Policy(grace=0))
    assert states(det2) == {}
    assert all('brake engaged' in why for _, why in det2.waiting)


def test_single_failure_does_not_brake():
    det = detection.detect(snap({n: {} for n in 'abc'}, ['a', 'b']), 100,
                           Policy(grace=0))
    assert det.brake == {}


def test_flapping_host_gets_longer_grace():
    hosts = {'a': {}, 'b': {}, 'c': {'flaps': [90.0, 95.0]}}
    det = detection.detect(snap(hosts, ['a', 'b']), 100,
                           Policy(grace=2, ttl=3))
    t = det.transitions[0]
    assert t.state == HostState.SUSPECT
    assert t.fields['grace'] == 12     # max(2, 3) * 2 ** 2
    assert 'flapping' in t.reason


def test_return_records_a_flap():
    hosts = {'c': {'state': HostState.SUSPECT, 'suspect_since': 98.0}}
    det = detection.detect(snap(hosts, ['c']), 100, Policy())
    t = det.transitions[0]
    assert t.state == HostState.UP
    assert t.fields['flaps'] == [100]


def test_maintenance_is_never_failed():
    hosts = {'a': {}, 'c': {'maintenance': True}}
    det = detection.detect(snap(hosts, ['a']), 100, Policy(grace=0))
    assert states(det) == {'c': HostState.MAINTENANCE}


def test_recovery_states_left_alone():
    hosts = {'a': {}, 'c': {'state': HostState.FENCED, 'recovery': 'r'}}
    det = detection.detect(snap(hosts, ['a', 'c']), 100, Policy())
    assert states(det) == {}


def _unreachable_suspect(suspect_since=100.0, probed_at=None):
    probes = {('c', 'r1'): {'request': {'probers': ['a', 'b'],
                                        'deadline': 1e12, 'created': 100.0},
                            'answers': {'a': {'reachable': {'m': False}},
                                        'b': {'reachable': {'m': False}}}}}
    hosts = {'a': {}, 'b': {}, 'c': {'state': HostState.SUSPECT,
                                     'suspect_since': suspect_since,
                                     'grace': 5, 'probe': 'r1'}}
    return snap(hosts, ['a', 'b'], probes)


def test_a_wall_clock_stepped_forward_does_not_cut_the_grace():
    ages = detection.Ages()
    s = _unreachable_suspect(suspect_since=100.0)
    # the coordinator wrote suspect_since=100.0 at monotonic 50
    ages.wrote('c', 'suspect_since', 100.0, 50.0)
    # one second later on the monotonic clock, the wall clock jumped +1 h
    det = detection.detect(s, 3700.0, Policy(grace=5), 'ctl',
                           age=ages.bind(51.0))
    assert states(det) == {}
    assert det.waiting == [('c', 'in grace (5 s)')]
    det = detection.detect(s, 3705.0, Policy(grace=5), 'ctl',
                           age=ages.bind(55.5))
    assert states(det) == {'c': HostState.FAILED}
    assert 'absent 5.5 s' in det.transitions[0].reason


def test_a_wall_clock_stepped_back_does_not_hold_a_dead_host():
    ages = detection.Ages()
    s = _unreachable_suspect(suspect_since=100.0)
    ages.wrote('c', 'suspect_since', 100.0, 50.0)
    # the wall clock went back an hour: "now - since" is negative
    det = detection.detect(s, -3490.0, Policy(grace=5), 'ctl',
                           age=ages.bind(55.5))
    assert states(det) == {'c': HostState.FAILED}


def test_a_new_leader_restarts_the_grace_of_a_suspect_it_did_not_see():
    ages = detection.Ages()     # a new leader: it never saw compute c
    s = _unreachable_suspect(suspect_since=100.0)
    # the previous leader's clock said the host is long gone: not trusted
    det = detection.detect(s, 900.0, Policy(grace=5), 'ctl',
                           age=ages.bind(10.0))
    assert states(det) == {}
    det = detection.detect(s, 905.0, Policy(grace=5), 'ctl',
                           age=ages.bind(15.0))
    assert states(det) == {'c': HostState.FAILED}


def test_a_partitioned_host_is_probed_again_whatever_the_wall_clock_does():
    hosts = {'a': {}, 'b': {}, 'c': {'state': HostState.PARTITIONED,
                                     'probed_at': 100.0}}
    s = snap(hosts, ['a', 'b'])
    ages = detection.Ages()
    ages.wrote('c', 'probed_at', 100.0, 50.0)
    policy = Policy(reprobe_interval=10.0)
    # wall clock stepped back: a naive "now - probed_at" never gets to 10
    det = detection.detect(s, 20.0, policy, 'ctl', age=ages.bind(55.0))
    assert det.probes == []
    det = detection.detect(s, 25.0, policy, 'ctl', age=ages.bind(60.5))
    assert [p.target for p in det.probes] == ['c']


def test_ages_forget_hosts_no_longer_asked_about():
    ages = detection.Ages()
    age = ages.bind(1.0)
    assert age('c', 'suspect_since', 100.0) == 0.0
    age = ages.bind(3.0)
    assert age('c', 'suspect_since', 100.0) == 2.0
    ages.bind(4.0)              # c not asked: forgotten at the next bind
    age = ages.bind(5.0)
    assert age('c', 'suspect_since', 100.0) == 0.0
    # a new value (a new suspect period) starts from 0
    age = ages.bind(6.0)
    assert age('c', 'suspect_since', 200.0) == 0.0


def test_a_wall_clock_stepped_forward_does_not_age_a_mass_failure_out():
    """Half a zone went silent 5 s ago by the monotonic clock; the wall
    clock jumped an hour meanwhile.  The brake's window counts on the
    monotonic clock: still a mass failure, still braked."""
    hosts = {n: {} for n in 'abc'}
    hosts.update({n: {'state': HostState.SUSPECT, 'suspect_since': 100.0,
                      'probe': None, 'agent': {'zone': 'az1'}}
                  for n in 'def'})
    s = snap(hosts, ['a', 'b', 'c'])
    ages = detection.Ages()
    for h in 'def':
        ages.wrote(h, 'suspect_since', 100.0, 50.0)
    det = detection.detect(s, 3700.0, Policy(grace=0), 'ctl',
                           age=ages.bind(55.0))
    assert '3 of 6 hosts' in det.brake['az1']['reason']
    assert states(det) == {}
    # What the wall clock alone would have decided: fence all three.
    naive = detection.detect(s, 3700.0, Policy(grace=0), 'ctl')
    assert naive.brake == {}
    assert states(naive) == {h: HostState.FAILED for h in 'def'}


def test_a_wall_clock_stepped_back_does_not_stretch_the_flap_hold_down():
    ages = detection.Ages()
    hosts = {'a': {}, 'b': {}, 'c': {'flaps': [100.0]}}
    s = snap(hosts, ['a', 'b', 'c'])
    policy = Policy(grace=2, ttl=3, flap_holddown=120.0)
    ages.wrote('c', 'flap@100.0', 100.0, 50.0)
    # the host leaves again 10 s later: hold-down grace
    gone = snap(hosts, ['a', 'b'])
    det = detection.detect(gone, 110.0, policy, 'ctl', age=ages.bind(60.0))
    assert det.transitions[0].fields['grace'] == 6
    # the wall clock went back an hour: by it the flap is 3,480 s in the
    # future, for ever "recent"; by the monotonic clock it is 121 s old
    detection.detect(s, -3400.0, policy, 'ctl', age=ages.bind(100.0))
    det = detection.detect(gone, -3390.0, policy, 'ctl', age=ages.bind(171.0))
    assert det.transitions[0].fields['grace'] == 2
    assert 'flapping' not in det.transitions[0].reason


def test_a_wall_clock_stepped_forward_ends_the_flap_hold_down_early_only():
    ages = detection.Ages()
    hosts = {'a': {}, 'b': {}, 'c': {'flaps': [100.0]}}
    ages.wrote('c', 'flap@100.0', 100.0, 50.0)
    gone = snap(hosts, ['a', 'b'])
    # +1 h on the wall clock, 5 s on the monotonic one: the base grace,
    # never less
    det = detection.detect(gone, 3705.0, Policy(grace=2, ttl=3), 'ctl',
                           age=ages.bind(55.0))
    assert det.transitions[0].fields['grace'] == 2


def test_the_returning_host_reports_its_absence_on_the_monotonic_clock():
    ages = detection.Ages()
    ages.wrote('c', 'suspect_since', 100.0, 50.0)
    hosts = {'c': {'state': HostState.SUSPECT, 'suspect_since': 100.0}}
    det = detection.detect(snap(hosts, ['c']), -500.0, Policy(), 'ctl',
                           age=ages.bind(54.0))
    t = det.transitions[0]
    assert t.reason == 'back in the agents group after 4.0 s'
    assert t.fields['flaps'] == [-500.0]


def test_every_move_detection_makes_is_in_the_host_state_table():
    # every state, live or not, in maintenance or not, with each probe
    # outcome and no grace left: what detection decides stays inside
    # HostState.TRANSITIONS (the healer refuses anything else)
    probe_answers = {
        'none': None,
        'reachable': {'a': {'reachable': {'m': True}}},
        'unreachable': {'a': {'reachable': {'m': False}},
                        'b': {'reachable': {'m': False}}},
        'pending': {},
    }
    seen = set()
    for state in HostState.ALL:
        for live in (True, False):
            for maintenance in (True, False):
                for outcome, answers in probe_answers.items():
                    for on_partition in ('wait', 'fence'):
                        data = {'state': state, 'suspect_since': 0.0,
                                'grace': 0, 'probed_at': 0.0,
                                'maintenance': maintenance}
                        probes = {}
                        if answers is not None:
                            data['probe'] = 'r1'
                            probes[('c', 'r1')] = {
                                'request': {'probers': ['a', 'b'],
                                            'deadline': 1000.0},
                                'answers': answers}
                        hosts = {'a': {}, 'b': {}, 'c': data}
                        s = snap(hosts, ['a', 'b'] + (['c'] if live else []),
                                 probes)
                        det = detection.detect(
                            s, 100.0, Policy(grace=0, on_partition=on_partition,
                                             reprobe_interval=1), 'ctl')
                        for t in det.transitions:
                            assert HostState.allowed(t.old, t.state), \
                                (t.old, t.state, t.reason)
                            seen.add((t.old, t.state))
    # the matrix reached the moves detection owns
    assert {(HostState.UP, HostState.SUSPECT),
            (HostState.SUSPECT, HostState.FAILED),
            (HostState.SUSPECT, HostState.PARTITIONED),
            (HostState.PARTITIONED, HostState.FAILED),
            (HostState.SUSPECT, HostState.UP),
            (HostState.MAINTENANCE, HostState.UP),
            (HostState.UP, HostState.MAINTENANCE),
            (HostState.FAILED, HostState.UP)} <= seen, seen


def test_the_host_state_table_refuses_going_back_in_a_recovery():
    assert HostState.allowed(HostState.FAILED, HostState.FENCING)
    assert HostState.allowed(HostState.FENCED, HostState.RECOVERING)
    assert HostState.allowed(None, HostState.UP)
    assert HostState.allowed(HostState.RECOVERING, HostState.RECOVERING)
    for old, new in ((HostState.RECOVERED, HostState.RECOVERING),
                     (HostState.FENCING, HostState.UP),
                     (HostState.FENCED, HostState.UP),
                     (HostState.UP, HostState.FAILED),
                     (HostState.UP, HostState.FENCING),
                     (HostState.MAINTENANCE, HostState.RECOVERED)):
        assert not HostState.allowed(old, new), (old, new)
    assert set(HostState.TRANSITIONS) == set(HostState.ALL)


def _silent(names, since=100):
    """Suspects without addresses: unreachable, in grace no more."""
    return {n: {'state': HostState.SUSPECT, 'suspect_since': since,
                'probe': None, 'agent': {'zone': 'az1'}} for n in names}


def test_the_brake_judges_a_segment_as_a_whole():
    from vmr_coordinator.segments import parse_segment
    # 20 hosts in az1; rack r7 is a segment of four of them
    hosts = {'h%02d' % i: {} for i in range(20)}
    rack = parse_segment({'hosts': ['h00', 'h01', 'h02'],
                          'reserved_hosts': ['h03']}, 'r7')
    hosts.update(_silent(['h00', 'h01', 'h02', 'h10']))
    live = [n for n in hosts if n not in ('h00', 'h01', 'h02', 'h10')]
    det = detection.detect(snap(hosts, live, segments=[rack]), 101,
                           Policy(grace=0, brake_window=60))
    # 4 of 20 in the zone: below both thresholds; 3 of 4 in the segment
    assert set(det.brake) == {'segment:r7'}
    assert det.brake['segment:r7']['reason'].startswith(
        '3 of 4 hosts went silent within 60 s (h00, h01, h02)')
    assert det.brake['segment:r7']['hosts'] == ['h00', 'h01', 'h02']
    assert states(det) == {'h10': HostState.FAILED}
    assert sorted(det.waiting) == [
        (h, 'brake engaged in segment r7') for h in ('h00', 'h01', 'h02')]
    assert 'BRAKE engaged in segment r7: 3 of 4' in det.sentence()

    # a disabled segment is no group; the zone alone decides
    off = parse_segment({'hosts': ['h00', 'h01', 'h02'],
                         'reserved_hosts': ['h03'], 'enabled': False}, 'r7')
    det = detection.detect(snap(hosts, live, segments=[off]), 101,
                           Policy(grace=0, brake_window=60))
    assert det.brake == {}
    assert states(det) == {h: HostState.FAILED
                           for h in ('h00', 'h01', 'h02', 'h10')}


def test_a_segment_of_an_availability_zone_groups_that_zones_hosts():
    from vmr_coordinator.segments import parse_segment
    hosts = {'a%d' % i: {'agent': {'zone': 'az2'}} for i in range(3)}
    hosts.update({'b%d' % i: {} for i in range(10)})
    silent = _silent(['a0', 'a1'])
    for data in silent.values():
        data['agent'] = {'zone': 'az2'}
    hosts.update(silent)
    seg = parse_segment({'availability_zone': 'az2'}, 'edge')
    live = [n for n in hosts if n not in silent]
    groups = detection.brake_groups(snap(hosts, live, segments=[seg]))
    assert sorted(r.name for r in groups['segment:edge']) == ['a0', 'a1',
                                                              'a2']
    det = detection.detect(snap(hosts, live, segments=[seg]), 101,
                           Policy(grace=0))
    # az2 itself brakes too (2 of 3): both groups are named
    assert set(det.brake) == {'az2', 'segment:edge'}
    assert states(det) == {}


def test_the_loop_looks_again_when_the_grace_ends():
    from vmr_coordinator.service import GRACE_SLACK, MIN_GAP, next_cycle_in
    # nothing in grace: the rest of the period
    assert next_cycle_in(1.0, 0.25) == 0.75
    assert next_cycle_in(1.0, 1.5) == 0.0
    # a grace ending before the period does: just after it ends
    assert next_cycle_in(1.0, 0.25, wake_in=0.4) == 0.4 + GRACE_SLACK
    # ...but never later than the period, nor a busy loop
    assert next_cycle_in(1.0, 0.25, wake_in=3.0) == 0.75
    assert next_cycle_in(1.0, 0.25, wake_in=0.0) == MIN_GAP
