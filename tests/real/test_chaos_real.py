"""Chaos on the real tier: real services restarted under VMR's recoveries.

A seeded schedule (``random.Random(seed)``) cuts the power of one host
and, while VMR detects, fences and evacuates its servers, restarts real
services underneath it -- nova-api, nova-conductor, RabbitMQ, MariaDB,
Keystone and neutron-api, one after another, each at a seeded moment and away for a seeded time
(:meth:`vmr_lab.real.services.RealServices.restart`).  Then it asserts what
the lab's chaos suite asserts, read from the real services:

* the one record is ``done``, fenced before any step, every step done;
* every server of the victim is ACTIVE elsewhere and running there;
* Nova's own migration records: each of them evacuated exactly once;
* the invariant monitor is clean (no server ran on two hosts, none moved
  while its host could run it);
* no power-off the schedule did not cause: only the victim is off;
* no coordinator logged a traceback.

``test_chaos_real_short`` (one seed; nova-api and RabbitMQ) runs with the
README's test command; ``tox -e chaos-real`` runs ``test_chaos_real`` over
``VMR_CHAOS_SEEDS`` (default ``1,2,3``) with all six services.
"""

import copy
import os
import random
import threading
import time

import pytest

from tests.support.real_tier import assert_healed
from tests.support.scenario import running_lab
from vmr_lab.demo import Demo

#: what the schedule restarts
SERVICES = ('nova-api', 'nova-conductor', 'rabbitmq', 'mariadb', 'keystone',
            'neutron-api')
SEEDS = [int(s) for s in os.environ.get('VMR_CHAOS_SEEDS', '1,2,3').split(
    ',') if s.strip()]


def schedule(seed, hosts, services=SERVICES, within=12.0, longest_down=3.0):
    """``(victim, [(seconds after the power cut, service, seconds down)])``:
    every service of ``services`` once, in a seeded order, at seeded
    moments in the first ``within`` seconds (detection, fence and the
    evacuations all happen there on the demo's timing)."""
    rng = random.Random(seed)
    victim = rng.choice(sorted(hosts))
    order = list(services)
    rng.shuffle(order)
    moments = sorted(round(rng.uniform(0.0, within), 1) for _ in order)
    return victim, [(at, name, round(rng.uniform(0.0, longest_down), 1))
                    for at, name in zip(moments, order)]


class Restarts(threading.Thread):
    """Carries out a schedule's restarts, one after another, telling the
    demo's story as it goes; ``errors`` holds what went wrong."""

    def __init__(self, cloud, plan, say):
        super().__init__(daemon=True, name='vmr-chaos-real')
        self.cloud, self.plan, self.say = cloud, plan, say
        self.errors = []

    def run(self):
        t0 = time.monotonic()
        for at, name, down in self.plan:
            time.sleep(max(0.0, at - (time.monotonic() - t0)))
            self.say('FAULT: restart of %s (down %.1f s)' % (name, down))
            try:
                away = self.cloud.openstack.restart(name, down=down)
            except Exception as exc:
                self.errors.append('%s: %s' % (name, exc))
                self.say('restart of %s failed: %s' % (name, exc))
                continue
            self.say('%s serves again after %.1f s' % (name, away))


def _chaos(cloud, tmp_path, seed, services):
    victim, plan = schedule(seed, cloud.hosts, services)
    names = sorted(cloud.hosts)
    cloud.boot_many([('chaos-vm-%d' % (i + 1), names[i % len(names)])
                     for i in range(6)])
    with running_lab(Demo, lab=cloud, real=True,
                     workdir=str(tmp_path / 'demo')) as demo:
        # the demo's contract, with a lost evacuation (its cast gone
        # with a restart) found after 30 s instead of 300
        contract = copy.deepcopy(demo.contract)
        contract['action']['params']['lost_after'] = 30
        demo.use_contract(contract)
        demo.say('chaos seed %d: power loss of %s; restarts %s' % (
            seed, victim, ', '.join('%s at +%.1f s' % (n, at)
                                    for at, n, _ in plan)))
        restarts = Restarts(cloud, plan, demo.say)
        restarts.start()
        cloud.hosts[victim].apply_fault('power_loss')
        demo.say('FAULT: power loss on %s' % victim)
        try:
            rec = demo.wait(lambda: [r for r in demo._records() if r.get(
                'state') in ('done', 'failed')], 300, 'the recovery to end')
        finally:
            # judged once every service serves again
            restarts.join(300)
        demo.show_recovery(rec[0]['id'])    # the story, for the report
        assert not restarts.is_alive(), 'the restarts never finished'
        assert restarts.errors == []
        assert_healed(demo, victim)
        # the power-offs are the schedule's: the victim's only
        assert {name: host.get_power() for name, host in cloud.hosts.items()
                if name != victim} == {name: 'on' for name in cloud.hosts
                                       if name != victim}
        tracebacks = {name: text[text.index('Traceback'):][:2000]
                      for name, text in demo.logs().items()
                      if name.startswith('controller') and
                      'Traceback' in text}
        assert tracebacks == {}


def test_schedule_is_the_seeds():
    hosts = ('compute-1', 'compute-2', 'compute-3')
    assert schedule(7, hosts) == schedule(7, hosts)
    victim, plan = schedule(7, hosts)
    assert victim in hosts
    assert sorted(name for _, name, _ in plan) == sorted(SERVICES)
    assert [at for at, _, _ in plan] == sorted(at for at, _, _ in plan)


def test_chaos_real_short(cloud, tmp_path):
    _chaos(cloud, tmp_path, 1, ('nova-api', 'rabbitmq'))


@pytest.mark.slow
@pytest.mark.parametrize('seed', SEEDS)
def test_chaos_real(cloud, tmp_path, seed):
    _chaos(cloud, tmp_path, seed, SERVICES)
