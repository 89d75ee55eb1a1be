"""Recovery events on a real RabbitMQ through oslo.messaging (issue 21).

A RabbitMQ node of the test's own (``vmr_lab.real.infra``) is the bus; the
leading coordinator publishes with ``[notifications] enabled``; a real
oslo.messaging notification listener, as Ceilometer or any OpenStack
consumer runs one, receives what it sent.  Two manual recoveries: one
heals its server, one whose reboots Nova refuses fails its step.
"""

import os
import threading
import time

import pytest

from tests.functional.recovery.conftest import leading_recovery
from tests.labfixtures import boot
from vmr_coordinator import snapshot as snapshot_mod

oslo_messaging = pytest.importorskip('oslo_messaging')

CONTRACT = {'name': 'heal-by-hand', 'trigger': {'type': 'manual'},
            'selector': {'all': True}, 'action': {'type': 'reboot'},
            'limits': {'retries': 0}}


@pytest.fixture(scope='module')
def rabbit(tmp_path_factory):
    from vmr_lab.real import infra
    try:
        infra.rabbitmq_binary()
    except RuntimeError as exc:
        if os.environ.get('CI'):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    node = infra.RabbitMQ(str(tmp_path_factory.mktemp('rabbit')))
    try:
        node.start()
        yield node
    finally:
        node.stop()


class Received:
    """An oslo.messaging notification endpoint that keeps what it got."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def _got(self, priority, publisher_id, event_type, payload):
        with self.cond:
            self.events.append((priority, publisher_id, event_type, payload))
            self.cond.notify_all()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._got('INFO', publisher_id, event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._got('ERROR', publisher_id, event_type, payload)

    def wait(self, predicate, timeout=30):
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.events),
                                      timeout), self.events


@pytest.fixture
def listener(rabbit):
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[], default_config_dirs=[])
    transport = oslo_messaging.get_notification_transport(conf,
                                                          url=rabbit.url)
    received = Received()
    server = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic='vmr-test')], [received],
        executor='threading')
    server.start()
    yield received
    server.stop()
    server.wait()
    transport.cleanup()


def _drive(recovery, rids, timeout=60):
    store = recovery.store
    deadline = time.monotonic() + timeout
    while True:
        recs = [store.get(store.keys.recovery(rid)) for rid in rids]
        if all(kv is not None and kv.json()['state'] in ('done', 'failed')
               for kv in recs):
            # one more cycle: the stage publishes what it sees next cycle
            snap = snapshot_mod.take(store, recovery.conf.heartbeat.group)
            recovery.stage(recovery.healer, snap, time.time())
            return [kv.json() for kv in recs]
        assert time.monotonic() < deadline, [kv and kv.json() for kv in recs]
        snap = snapshot_mod.take(store, recovery.conf.heartbeat.group)
        recovery.stage(recovery.healer, snap, time.time())
        time.sleep(0.05)   # the stage's jobs run in its pool meanwhile


def test_recoveries_are_published_on_the_bus(etcd_server, lab, conn,
                                             tmp_path, rabbit, listener):
    overrides = [('notifications', 'enabled', True),
                 ('notifications', 'transport_url', rabbit.url),
                 ('notifications', 'topics', ['vmr-test'])]
    with leading_recovery(etcd_server, lab, tmp_path, overrides) as recovery:
        store = recovery.store
        assert recovery.notifier.enabled
        store.put(store.keys.contract(CONTRACT['name']), CONTRACT)
        store.put(store.keys.host('compute-1'), {'state': 'up'})
        # the leader's first cycle of its term publishes nothing
        recovery.stage(recovery.healer, snapshot_mod.take(
            store, recovery.conf.heartbeat.group), time.time())
        healed = boot(conn, 'web-ok', 'compute-1')
        doomed = boot(conn, 'web-doomed', 'compute-1')
        lab.nova.inject_fault(400, count=100, method='POST',
                              path_contains='/servers/%s/action' % doomed.id)
        rids = []
        for server in (healed, doomed):
            rid = 'manual-%s' % server.id[:8]
            store.put(store.keys.events + rid, {
                'type': 'manual', 'contract': CONTRACT['name'],
                'servers': [server.id], 'recovery_id': rid,
                'received_at': time.time()})
            rids.append(rid)
        ok, failed = _drive(recovery, rids)
        assert (ok['state'], failed['state']) == ('done', 'failed')
        assert recovery.notifier.flush(10)

        def by_type(events):
            out = {}
            for priority, publisher, event_type, payload in events:
                out.setdefault(event_type, []).append(
                    (priority, publisher, payload))
            return out
        listener.wait(lambda ev: len(by_type(ev).get(
            'vmr.recovery.end', [])) == 2)
        got = by_type(listener.events)
        assert sorted(got) == ['vmr.recovery.end', 'vmr.recovery.start',
                               'vmr.step.failed']
        publisher = 'vmr-coordinator.controller-test'
        assert {p for _, p, _ in sum(got.values(), [])} == {publisher}
        assert sorted(p['recovery_id'] for _, _, p in
                      got['vmr.recovery.start']) == sorted(rids)
        ends = {p['recovery_id']: (prio, p['state'], p['steps'])
                for prio, _, p in got['vmr.recovery.end']}
        assert ends == {rids[0]: ('INFO', 'done', {'done': 1}),
                        rids[1]: ('INFO', 'failed', {'failed': 1})}
        [(prio, _, step)] = got['vmr.step.failed']
        assert prio == 'ERROR' and step['server_id'] == doomed.id
        assert step['recovery_id'] == rids[1] and 'HTTP 400' in step['error']
        # the URL's password is never in what was sent
        assert 'guest@' not in repr(listener.events)


def test_a_dead_bus_costs_events_not_recoveries(etcd_server, lab, conn,
                                                tmp_path):
    """Nothing listens on the URL: the recovery still finishes at once and
    the publisher says what it could not send."""
    from vmr_lab.ports import free_port
    url = 'rabbit://vmr:secret@127.0.0.1:%d/' % free_port()
    overrides = [('notifications', 'enabled', True),
                 ('notifications', 'transport_url', url)]
    with leading_recovery(etcd_server, lab, tmp_path, overrides) as recovery:
        store = recovery.store
        store.put(store.keys.contract(CONTRACT['name']), CONTRACT)
        store.put(store.keys.host('compute-1'), {'state': 'up'})
        recovery.stage(recovery.healer, snapshot_mod.take(
            store, recovery.conf.heartbeat.group), time.time())
        server = boot(conn, 'web-1', 'compute-1')
        store.put(store.keys.events + 'manual-1', {
            'type': 'manual', 'contract': CONTRACT['name'],
            'servers': [server.id], 'recovery_id': 'manual-1',
            'received_at': time.time()})
        (rec,) = _drive(recovery, ['manual-1'], timeout=30)
        assert rec['state'] == 'done'
        assert recovery.notifier.sent == 0


def test_check_names_what_keeps_notifications_from_working(tmp_path):
    from tests.functional.api.conftest import make_conf
    from vmr_coordinator import notifications
    conf = make_conf('http://127.0.0.1:1', 'check')
    assert notifications.problems(conf.notifications) == []   # disabled
    conf.set_override('enabled', True, 'notifications')
    [problem] = notifications.problems(conf.notifications)
    assert problem.startswith('[notifications] enabled = true needs '
                              'transport_url')
    conf.set_override('transport_url', 'rabbit://vmr:s3cret@[bad',
                      'notifications')
    [problem] = notifications.problems(conf.notifications)
    assert 'transport_url' in problem and 's3cret' not in problem
    conf.set_override('transport_url', 'rabbit://vmr:s3cret@127.0.0.1:5672/',
                      'notifications')
    assert notifications.problems(conf.notifications) == []
