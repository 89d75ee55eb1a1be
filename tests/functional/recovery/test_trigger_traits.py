"""The engine fences what a trigger *declares* needs a fence, whatever its
name: a test trigger (``fenced_sample``, from a webhook) installed through its
entry point opens a record that is fenced with the host's fence profile
before it is planned, and its host is marked recovered at the end, as a
dead host's is."""

import time

from tests.plugin_samples import SAMPLE_TRIGGERS
from tests.plugindist import plugin_dist_fixture
from tests.procs import wait_for
from tests.support.recovery import HOST, fence_profiles, read_record
from vmr_coordinator import plugins
from vmr_coordinator import snapshot as snapshot_mod

plugin_dist = plugin_dist_fixture()


def _cycle(recovery):
    snap = snapshot_mod.take(recovery.store, recovery.conf.heartbeat.group)
    return recovery.stage(recovery.healer, snap, time.time())


def test_a_trigger_that_declares_needs_fence_is_fenced_first(
        recovery, lab, tmp_path, plugin_dist):
    plugin_dist({plugins.TRIGGERS: SAMPLE_TRIGGERS})
    recovery.conf.set_override('profiles_file', fence_profiles(
        lab, str(tmp_path / 'profiles.json')), 'fencing')
    recovery.conf.set_override('poll_interval', 0.05, 'fencing')
    store = recovery.store
    store.put(store.keys.host(HOST), {'state': 'up'})
    lab.hosts[HOST].set_power('off')
    store.put(store.keys.events + 'sample-1', {'type': 'fenced_sample',
                                               'host': HOST})

    said = _cycle(recovery)
    assert 'fenced_sample: recovery' in said, said
    (rid,) = [kv.json()['id'] for kv in store.get_prefix(store.keys.journal)[0]]

    def finished():
        _cycle(recovery)
        rec = read_record(recovery, rid)
        return rec['state'] in ('done', 'failed') and rec
    rec = wait_for(finished, timeout=60, message='the sample recovery to end')

    assert rec['state'] == 'done', rec
    assert rec['fencing']['verified'] and rec['fencing']['method'] == 'ipmi', \
        rec['fencing']
    events = [e['event'] for e in rec['timeline']]
    assert events.index('fenced') < events.index('planned'), events
    # the record is closed first, the host record written right after
    wait_for(lambda: store.get(store.keys.host(HOST)).json()['state'] ==
             'recovered', timeout=10, message='the host to be recovered')
