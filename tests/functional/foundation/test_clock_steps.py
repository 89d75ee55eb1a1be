"""A leader whose wall clock is stepped (NTP, a VM resumed, an operator):
detection still waits exactly the grace on its monotonic clock, on a real
etcd, through the real healer's cycle.

The healer's two clocks are injected: the wall clock jumps an hour either
way while the monotonic one moves by seconds.  No sleeps: each cycle is run
by hand."""


import pytest
from oslo_config import cfg

from vmr_common import conf as vmr_conf
from vmr_coordinator.healer import Healer


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def make_healer(store, wall, mono, grace=2.0, member='controller-1'):
    conf = cfg.ConfigOpts()
    vmr_conf.register_all(conf)
    conf([], project='vmr', default_config_files=[])
    conf.set_override('host', member)
    conf.set_override('grace', grace, 'coordinator')
    conf.set_override('leader_ttl', 60, 'coordinator')
    return Healer(conf, store, member, clock=wall, monotonic=mono)


def state(store, host='compute-9'):
    return store.get(store.keys.host(host)).json()['state']


@pytest.mark.parametrize('step', [3600.0, -3600.0], ids=['forward', 'back'])
def test_a_stepped_wall_clock_neither_cuts_nor_stretches_the_grace(store,
                                                                  step):
    # a host whose agent is gone (no member key) and has no address to
    # probe: unreachable, so only the grace stands between it and failed
    store.put(store.keys.host('compute-9'), {
        'host': 'compute-9', 'state': 'up', 'agent': {}})
    wall, mono = Clock(1_000_000.0), Clock(500.0)
    healer = make_healer(store, wall, mono, grace=2.0)
    try:
        healer.run_cycle()
        assert state(store) == 'suspect'
        # the wall clock is stepped; 0.5 s pass on the monotonic clock
        wall.now += step + 0.5
        mono.now += 0.5
        healer.run_cycle()
        assert state(store) == 'suspect', 'grace cut by a clock step'
        # 2.1 s after the host went suspect: failed, whatever the wall says
        wall.now += 1.6
        mono.now += 1.6
        healer.run_cycle()
        record = store.get(store.keys.host('compute-9')).json()
        assert record['state'] == 'failed', record
        assert 'absent 2.1 s' in record['reason']
    finally:
        healer.close(resign=True)


@pytest.mark.parametrize('skew', [600.0, -600.0], ids=['ahead', 'behind'])
def test_a_standby_with_a_skewed_clock_takes_over_mid_grace(store, skew):
    """The leader sees a host go suspect and resigns 0.5 s into its grace;
    the standby, whose wall clock is ten minutes off, takes over.  Ahead,
    the suspect_since the old leader wrote looks ten minutes old: no
    failure before a whole grace on the new leader's own monotonic clock.
    Behind, it lies in the future: the host still fails after that one
    grace, not ten minutes later."""
    store.put(store.keys.host('compute-9'), {
        'host': 'compute-9', 'state': 'up', 'agent': {}})
    wall, mono = Clock(1_000_000.0), Clock(500.0)
    first = make_healer(store, wall, mono, grace=2.0)
    standby = None
    try:
        first.run_cycle()
        assert state(store) == 'suspect'
        wall.now += 0.5
        mono.now += 0.5
        first.close(resign=True)
        first = None
        # another machine: its wall clock off by ``skew``, its own
        # monotonic clock
        other_wall, other_mono = Clock(wall.now + skew), Clock(90.0)
        standby = make_healer(store, other_wall, other_mono, grace=2.0,
                              member='controller-2')
        standby.run_cycle()
        assert standby.election.is_leader()
        for _ in range(3):   # 1.5 s of the new leader's grace
            other_wall.now += 0.5
            other_mono.now += 0.5
            standby.run_cycle()
            assert state(store) == 'suspect', 'failed on a skewed clock'
        other_wall.now += 0.6
        other_mono.now += 0.6
        standby.run_cycle()
        record = store.get(store.keys.host('compute-9')).json()
        assert record['state'] == 'failed', record
    finally:
        for healer in (first, standby):
            if healer is not None:
                healer.close(resign=True)
