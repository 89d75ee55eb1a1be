"""When a fenced host returns, the pair members left on it are started
again, recognised by the metadata keys the contracts configure."""

from tests.labfixtures import boot
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import recovery as recovery_mod
from vmr_coordinator.contracts import parse_contract

PAIR_CONTRACT = {
    'name': 'vpn-pair', 'trigger': {'type': 'host_down'},
    'selector': {'metadata': {'tier': 'vpn'}},
    'action': {'type': 'fip_failover',
               'params': {'pair_metadata_key': 'ha_pair',
                          'role_key': 'ha_role'}}}


def _stopped(conn, name, host, metadata):
    server = boot(conn, name, host, metadata=metadata)
    conn.compute.stop_server(server)
    return conn.compute.wait_for_server(server, status='SHUTOFF',
                                        interval=0.05, wait=30)


def _record(recovery, rid, host, steps=()):
    rec = journal_mod.new_record(rid, host, {'type': 'host_down',
                                             'host': host}, 1.0)
    rec['steps'] = list(steps)
    recovery.store.put(recovery.store.keys.recovery(rid), rec)


def test_standby_restore_uses_the_contracts_pair_and_role_keys(
        recovery, lab, conn):
    store = recovery.store
    store.put(store.keys.contract('vpn-pair'), PAIR_CONTRACT)
    standby = _stopped(conn, 'vpn-a', 'compute-1',
                       {'tier': 'vpn', 'ha_pair': 'vpn', 'ha_role': 'standby'})
    active = _stopped(conn, 'vpn-c', 'compute-1',
                      {'tier': 'vpn', 'ha_pair': 'vpn2', 'ha_role': 'active'})
    # fixed names mean nothing unless a contract uses them
    other = _stopped(conn, 'legacy', 'compute-1',
                     {'vmr_pair': 'old', 'vmr_role': 'standby'})
    _record(recovery, 'r1', 'compute-1')

    restored = recovery._restore_standbys('compute-1', 'r1')

    assert restored == ['vpn-a (pair vpn)']
    statuses = {s.name: conn.compute.wait_for_server(
        s, status=s.status if s.id != standby.id else 'ACTIVE',
        interval=0.05, wait=30).status for s in (standby, active, other)}
    assert statuses == {'vpn-a': 'ACTIVE', 'vpn-c': 'SHUTOFF',
                        'legacy': 'SHUTOFF'}
    timeline = store.get(store.keys.recovery('r1')).json()['timeline']
    assert timeline[-1]['event'] == 'standby restored'
    assert timeline[-1]['detail'] == 'vpn-a (pair vpn)'


def test_keys_of_the_recovery_steps_count_too(recovery, lab, conn):
    # The contract changed (or went) since: the step kept its params.
    standby = _stopped(conn, 'db-b', 'compute-2',
                       {'cluster': 'db', 'side': 'standby'})
    _record(recovery, 'r2', 'compute-2', [{
        'server_id': 'x', 'action': 'evacuate', 'params': {},
        'on_failure': [{'type': 'fip_failover', 'params': {
            'pair_metadata_key': 'cluster', 'role_key': 'side'}}]}])

    assert recovery._restore_standbys('compute-2', 'r2') == [
        'db-b (pair db)']
    conn.compute.wait_for_server(standby, status='ACTIVE', interval=0.05,
                                 wait=30)


def test_standby_keys_defaults_and_order():
    contract = parse_contract(dict(PAIR_CONTRACT, action={
        'type': 'fip_failover'}))
    record = {'steps': [{'action': 'fip_failover', 'params': {
        'pair_metadata_key': 'p', 'role_key': 'r'}}]}
    assert recovery_mod.standby_keys([contract], record) == [
        ('p', 'r'), ('vmr_pair', 'vmr_role')]
    assert recovery_mod.standby_keys([], None) == []
