"""A maintenance drain disables the host's nova-compute before it moves
anything, so the scheduler sends no new server there, and enables it again
when maintenance ends, only if VMR disabled it."""

import time

from tests.labfixtures import boot
from vmr_coordinator import snapshot as snapshot_mod

HOST = 'compute-1'
DRAIN = {'name': 'drain-for-maintenance', 'trigger': {'type': 'maintenance'},
         'selector': {'all': True}, 'action': {'type': 'live_migrate'}}


def _service(conn):
    return next(s for s in conn.compute.services(binary='nova-compute')
                if s.host == HOST)


def _host(recovery):
    return recovery.store.get(recovery.store.keys.host(HOST)).json()


def _drain(recovery):
    rid = _host(recovery).get('drain')
    return recovery.store.get(recovery.store.keys.recovery(rid)).json() \
        if rid else None


def _until(recovery, done, timeout=60):
    """Run the recovery stage until ``done()`` holds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, _host(recovery)
        snap = snapshot_mod.take(recovery.store,
                                 recovery.conf.heartbeat.group)
        recovery.stage(recovery.healer, snap, time.time())
        time.sleep(0.05)   # the stage's jobs run in its pool meanwhile


def _maintenance(recovery, on, reason=None):
    data = dict(_host(recovery), maintenance=on, maintenance_reason=reason)
    recovery.store.put(recovery.store.keys.host(HOST), data)


def _events(record):
    return [e['event'] for e in record['timeline']]


def test_drain_disables_nova_compute_first_and_enables_it_after(
        recovery, lab, conn):
    store = recovery.store
    store.put(store.keys.contract(DRAIN['name']), DRAIN)
    store.put(store.keys.host(HOST), {'state': 'up'})
    server = boot(conn, 'web-1', HOST)

    _maintenance(recovery, True, 'replace DIMM')
    _until(recovery, lambda: (_drain(recovery) or {}).get('state') == 'done')

    rec = _drain(recovery)
    events = _events(rec)
    assert events.index('nova service disabled') < events.index('planned')
    detail = rec['timeline'][events.index('nova service disabled')]['detail']
    assert "disabled ('vmr: maintenance replace DIMM')" in detail
    assert 'request ids: req-' in detail
    service = _service(conn)
    assert (service.status, service.disabled_reason) == (
        'disabled', 'vmr: maintenance replace DIMM')
    assert conn.compute.get_server(server.id).compute_host != HOST

    _maintenance(recovery, False)
    _until(recovery, lambda: not _host(recovery).get('drain_disabled_compute'))
    assert _service(conn).status == 'enabled'
    rec = store.get(store.keys.recovery(rec['id'])).json()
    assert _events(rec)[-1] == 'nova service enabled'


def test_a_service_the_operator_disabled_stays_disabled(recovery, lab, conn):
    store = recovery.store
    store.put(store.keys.contract(DRAIN['name']), DRAIN)
    store.put(store.keys.host(HOST), {'state': 'up'})
    service = _service(conn)
    conn.compute.disable_service(service, service.host, service.binary,
                                 disabled_reason='RMA 4711')
    boot(conn, 'web-2', 'compute-2')

    _maintenance(recovery, True, 'firmware')
    _until(recovery, lambda: (_drain(recovery) or {}).get('state') == 'done')
    rec = _drain(recovery)
    said = {e['event']: e['detail'] for e in rec['timeline']}
    assert 'already disabled (RMA 4711): left as it is' in \
        said['nova service not disabled']
    assert not _host(recovery).get('drain_disabled_compute')

    _maintenance(recovery, False)
    _until(recovery, lambda: not _host(recovery).get('drain'))
    service = _service(conn)
    assert (service.status, service.disabled_reason) == ('disabled',
                                                         'RMA 4711')
