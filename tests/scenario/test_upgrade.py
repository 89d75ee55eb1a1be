"""A rolling upgrade from 0.1.0 with a recovery in flight (issue 22).

The whole lab starts on release 0.1.0 (its tree from git, put first on the
agents' and coordinators' ``PYTHONPATH``): 0.1.0 detects a power loss,
fences and starts evacuating eight servers one at a time.  Mid-recovery the
two coordinators are upgraded one by one, as an operator would (SIGTERM,
start the new release with the same configuration): first the leader, so
0.1.0's standby resumes the record, then that one, so the new release
resumes a record 0.1.0 wrote and finishes it.  Every server must be
evacuated exactly once, none lost, and the record end ``done`` in the new
release's format.  The agents stay on 0.1.0 throughout: the new
coordinators must understand them.
"""

import io
import os
import signal
import subprocess
import tarfile

import pytest

from tests.support.scenario import running_lab
from vmr_lab.demo import Demo

#: the commit tagged 0.1.0 (the format before history/, FORMAT 1)
RELEASE = 'e5564f9'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VICTIM = 'compute-2'
SERVERS = 10
CONTRACT = {'name': 'web', 'trigger': {'type': 'host_down'},
            'selector': {'metadata': {'ha': 'true'}},
            'action': {'type': 'evacuate'},
            'limits': {'concurrency': 1, 'timeout': 60}}


def old_release(dest):
    """Unpack 0.1.0's tree into ``dest`` (skip when git cannot)."""
    try:
        blob = subprocess.run(['git', '-C', ROOT, 'archive', RELEASE],
                              capture_output=True, check=True,
                              timeout=60).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip('release %s is not in this checkout (%s): the upgrade '
                    'test needs the git history' % (RELEASE, exc))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, filter='data')
    return dest


class UpgradeLab(Demo):
    """The demo harness, each process on the release ``release_of`` says."""

    def __init__(self, old, **options):
        super().__init__(**options)
        #: where 0.1.0's packages are
        self.old = old
        #: process name -> 'old' or 'new'
        self.release_of = {}
        self.confs = {}

    def _spawn(self, kind, name, conf):
        self.confs[name] = (kind, conf)
        super()._spawn(kind, name, conf)

    def _spawn_options(self, kind, name):
        if self.release_of.setdefault(name, 'old') != 'old':
            return {}
        return self.from_tree(self.old)

    def upgrade(self, name):
        """SIGTERM ``name`` (0.1.0), start it again on this release."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        self.say('UPGRADE: %s stopped (0.1.0), starting this release' % name)
        self.release_of[name] = 'new'
        kind, conf = self.confs[name]
        self._spawn(kind, name, conf)

    def record(self):
        """The one recovery, from the journal or the history."""
        records = self._records()
        if not records:
            kvs, _ = self.store.get_prefix(self.store.keys.history)
            records = [kv.json() for kv in kvs]
        return records[0] if records else None


def _finished(rec):
    return [s for s in rec.get('steps') or [] if s.get('state') == 'done']


def test_rolling_upgrade_from_0_1_0_finishes_the_recovery(tmp_path):
    old = old_release(str(tmp_path / 'vmr-0.1.0'))
    with running_lab(UpgradeLab, old=old, hosts=3, servers=0, lab_options={
            'host_vcpus': 64, 'host_ram_mb': 131072,
            'delays': {'evacuate': 2.5}}) as lab:
        assert all(r == 'old' for r in lab.release_of.values())
        lab.store.delete(lab.store.keys.contract('demo-evacuate'))
        lab.store.put(lab.store.keys.contract(CONTRACT['name']), CONTRACT)
        servers = [lab.boot('web-%d' % i, VICTIM, {'ha': 'true'})
                   for i in range(SERVERS)]
        lab.lab.hosts[VICTIM].apply_fault('power_loss')
        lab.say('FAULT: power loss on %s' % VICTIM)

        # 0.1.0 opens, fences and starts acting
        lab.wait(lambda: (lab.record() or {}).get('state') == 'acting' and
                 len(_finished(lab.record())) >= 1, 90,
                 '0.1.0 acting on the recovery')
        first = lab._leader()
        second = ({'controller-1', 'controller-2'} - {first}).pop()
        done_before = len(_finished(lab.record()))
        lab.upgrade(first)
        lab.wait(lambda: lab._leader() == second, 60,
                 '0.1.0 standby %s taking over' % second)
        lab.wait(lambda: lab._api_answers(first), 30,
                 'the upgraded %s answering' % first)
        lab.upgrade(second)
        lab.wait(lambda: lab._leader() == first, 60,
                 'the upgraded %s leading' % first)
        rec = lab.record()
        assert len(_finished(rec)) < SERVERS, \
            'the recovery ended before the new release led: nothing tested'
        lab.wait(lambda: (lab.record() or {}).get('state') in (
            'done', 'failed'), 120, 'the recovery to end')
        rec = lab.record()
        assert rec['state'] == 'done', rec
        assert done_before < SERVERS
        # none twice, none lost
        counts = {}
        for ev in lab.lab.events.since(0, 'evacuate'):
            counts[ev['server']] = counts.get(ev['server'], 0) + 1
        assert counts == {s.id: 1 for s in servers}, counts
        for server in servers:
            now = lab.conn.compute.get_server(server.id)
            assert now.compute_host != VICTIM and now.status == 'ACTIVE'
        assert lab.lab.monitor.violations() == []
        # the new release finished it, and says so in its own format
        assert rec.get('format') == 1, sorted(rec)
        assert rec.get('leader') == first
        resumed = [e['detail'] for e in rec['timeline']
                   if e['event'] == 'resumed']
        assert [d.split(' ')[1] for d in resumed] == [second, first]
        assert 'migrated to format 1' in resumed[-1], resumed
