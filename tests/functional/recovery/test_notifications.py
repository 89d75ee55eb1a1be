"""Recovery events published by the leader (issue 21).

The engine's side, on a real etcd and the lab cloud: the leading
coordinator's stage turns what its journal shows into events handed to the
:class:`~vmr_coordinator.notifications.Publisher`.  The publisher's
oslo.messaging notifier is replaced by a recorder here (the test virtualenv
has no oslo.messaging: it pulls in eventlet); the wire -- oslo.messaging
over a real RabbitMQ to a real oslo.messaging listener -- is proven in
``tests/real/test_notifications.py``.
"""

import threading
import time

from tests.labfixtures import boot
from tests.support.recovery import leading_recovery
from vmr_coordinator import notifications
from vmr_coordinator import snapshot as snapshot_mod

CONTRACT = {'name': 'heal-by-hand', 'trigger': {'type': 'manual'},
            'selector': {'all': True}, 'action': {'type': 'reboot'},
            'limits': {'retries': 0}}


class Recorder:
    """Stands where oslo.messaging's Notifier stands: ``info``/``error``
    with a context, an event type and a payload."""

    def __init__(self, fail=False):
        self.events = []
        self.fail = fail
        self.lock = threading.Lock()

    def _send(self, priority, event_type, payload):
        if self.fail:
            raise ConnectionRefusedError('the bus is down')
        with self.lock:
            self.events.append((priority, event_type, payload))

    def info(self, ctxt, event_type, payload):
        self._send('INFO', event_type, payload)

    def error(self, ctxt, event_type, payload):
        self._send('ERROR', event_type, payload)


def _cycle(recovery):
    snap = snapshot_mod.take(recovery.store, recovery.conf.heartbeat.group)
    recovery.stage(recovery.healer, snap, time.time())


def _drive(recovery, rids, timeout=60):
    store = recovery.store
    deadline = time.monotonic() + timeout
    while True:
        recs = [store.get(store.keys.recovery(rid)) for rid in rids]
        if all(kv is not None and kv.json()['state'] in ('done', 'failed')
               for kv in recs):
            _cycle(recovery)   # what a cycle wrote is published next cycle
            return [kv.json() for kv in recs]
        assert time.monotonic() < deadline, [kv and kv.json() for kv in recs]
        _cycle(recovery)
        time.sleep(0.05)   # the stage's jobs run in its pool meanwhile


def _request(store, server, rid):
    store.put(store.keys.events + rid, {
        'type': 'manual', 'contract': CONTRACT['name'],
        'servers': [server.id], 'recovery_id': rid,
        'received_at': time.time()})


def test_the_leader_publishes_start_failed_step_and_end(etcd_server, lab,
                                                        conn, tmp_path):
    with leading_recovery(etcd_server, lab, tmp_path) as recovery:
        recorder = Recorder()
        recovery.notifier = notifications.Publisher(recorder)
        store = recovery.store
        store.put(store.keys.contract(CONTRACT['name']), CONTRACT)
        store.put(store.keys.host('compute-1'), {'state': 'up'})
        _cycle(recovery)   # the first cycle of a term publishes nothing
        healed = boot(conn, 'web-ok', 'compute-1')
        doomed = boot(conn, 'web-doomed', 'compute-1')
        lab.nova.inject_fault(400, count=100, method='POST',
                              path_contains='/servers/%s/action' % doomed.id)
        rids = ['manual-ok', 'manual-doomed']
        _request(store, healed, rids[0])
        _request(store, doomed, rids[1])
        ok, failed = _drive(recovery, rids)
        assert (ok['state'], failed['state']) == ('done', 'failed')
        assert recovery.notifier.flush(10)
        got = {}
        for priority, event_type, payload in recorder.events:
            got.setdefault(event_type, []).append((priority, payload))
        assert sorted(got) == ['vmr.recovery.end', 'vmr.recovery.start',
                               'vmr.step.failed']
        assert sorted(p['recovery_id'] for _, p in
                      got['vmr.recovery.start']) == sorted(rids)
        ends = {p['recovery_id']: (prio, p['state'], p['steps'])
                for prio, p in got['vmr.recovery.end']}
        assert ends == {'manual-ok': ('INFO', 'done', {'done': 1}),
                        'manual-doomed': ('INFO', 'failed', {'failed': 1})}
        [(prio, step)] = got['vmr.step.failed']
        assert prio == 'ERROR' and step['server_id'] == doomed.id
        assert step['recovery_id'] == 'manual-doomed'
        assert 'HTTP 400' in step['error']
        # a later cycle says nothing again
        count = len(recorder.events)
        _cycle(recovery)
        assert recovery.notifier.flush(10) and len(recorder.events) == count


def test_a_dead_bus_costs_events_not_recoveries(etcd_server, lab, conn,
                                                tmp_path, caplog):
    with leading_recovery(etcd_server, lab, tmp_path) as recovery:
        recovery.notifier = notifications.Publisher(Recorder(fail=True))
        store = recovery.store
        store.put(store.keys.contract(CONTRACT['name']), CONTRACT)
        store.put(store.keys.host('compute-1'), {'state': 'up'})
        _cycle(recovery)
        _request(store, boot(conn, 'web-1', 'compute-1'), 'manual-1')
        (rec,) = _drive(recovery, ['manual-1'], timeout=30)
        assert rec['state'] == 'done'
        assert recovery.notifier.flush(10)
        assert recovery.notifier.sent == 0
        assert 'vmr.recovery.start not sent: ConnectionRefusedError' in \
            caplog.text


def test_a_full_queue_drops_the_oldest_and_says_so(caplog):
    gate = threading.Event()

    class Stuck(Recorder):
        def _send(self, priority, event_type, payload):
            gate.wait(10)
            super()._send(priority, event_type, payload)
    recorder = Stuck()
    publisher = notifications.Publisher(recorder, queue_size=2)
    try:
        for i in range(4):      # the first is in the sender's hands
            assert publisher.publish('vmr.recovery.start', {'n': i})
        deadline = time.monotonic() + 10
        while publisher.dropped < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.set()
        assert publisher.flush(10)
        sent = [p['n'] for _, _, p in recorder.events]
        assert sent[-2:] == [2, 3] and publisher.dropped == 4 - len(sent)
        assert 'dropped the oldest (vmr.recovery.start)' in caplog.text
    finally:
        gate.set()
        publisher.close()


def test_check_names_what_keeps_notifications_from_working():
    from tests.support.api_harness import make_conf
    conf = make_conf('http://127.0.0.1:1', 'check')
    assert notifications.problems(conf.notifications) == []   # disabled
    conf.set_override('enabled', True, 'notifications')
    conf.set_override('transport_url', 'rabbit://vmr:s3cret@127.0.0.1/',
                      'notifications')
    [problem] = notifications.problems(conf.notifications)
    try:
        import oslo_messaging  # noqa: F401
    except ImportError:
        assert problem == ('[notifications] enabled = true needs '
                           'oslo.messaging: pip install vmr[notifications] '
                           '(or set enabled = false)')
    assert 's3cret' not in problem
