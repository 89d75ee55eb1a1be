"""Lab scenario: a vrrp-mode pair gets its VIP port, address pairs and FIP.

Two servers of pair ``vpn`` on two lab hosts, a contract asking for
``fip_failover`` in ``vrrp`` mode, then :func:`setup_vrrp_pair` against the
lab's Neutron through openstacksdk (nothing mocked). A second run must change
nothing, and every rendered keepalived.conf must pass ``keepalived -t``.
"""

import os
import shutil
import subprocess

import pytest

from tests.labfixtures import boot, conn_fixture, lab_fixture, port_of
from tests.support.actions import DELAYS
from vmr_coordinator import contracts
from vmr_keepalived import pair as pair_mod
from vmr_keepalived import templater

KEEPALIVED = shutil.which('keepalived') or '/usr/sbin/keepalived'

CONTRACT = {
    'name': 'vpn-vrrp', 'trigger': {'type': 'host_down'},
    'selector': {'metadata': {'vmr_pair': 'vpn'}},
    'action': {'type': 'fip_failover', 'params': {'mode': 'vrrp'}},
}


lab = lab_fixture(hosts=2, delays=DELAYS)
conn = conn_fixture()


def keepalived_t(tmp_path, configs):
    """Run ``keepalived -t`` on each member's keepalived.conf inside ``unshare --net``.

    The configs name ``eth0``; a private network namespace with a veth of that
    name makes the check independent of this machine's interfaces and leaves
    nothing behind.
    """
    if not os.path.exists(KEEPALIVED):
        pytest.skip('keepalived is not installed (.ci/run installs it)')
    if os.geteuid() != 0 or not shutil.which('unshare'):
        pytest.skip('keepalived -t needs an eth0: unshare --net needs root')
    results = {}
    for member, files in configs.items():
        path = tmp_path / f'{member}.conf'
        path.write_text(files[templater.CONF_FILE])
        proc = subprocess.run(
            ['unshare', '--net', 'sh', '-c',
             'ip link add name eth0 type veth peer name peer0 && '
             'ip link set eth0 up && exec "$0" -t -f "$1"', KEEPALIVED, str(path)],
            capture_output=True, text=True, timeout=30)
        results[member] = (proc.returncode, proc.stderr)
    return results


def test_vrrp_pair_setup_in_the_lab(lab, conn, tmp_path):
    contract = contracts.parse_contract(CONTRACT)
    assert contract.action.params['mode'] == 'vrrp'

    active = boot(conn, 'vpn-a', 'compute-1', {'vmr_pair': 'vpn', 'vmr_role': 'active'})
    standby = boot(conn, 'vpn-b', 'compute-2', {'vmr_pair': 'vpn', 'vmr_role': 'standby'})
    # Another pair must not be picked up.
    boot(conn, 'db-a', 'compute-1', {'vmr_pair': 'db', 'vmr_role': 'active'})
    public = conn.network.find_network('public')
    guest = {'service': 'openvpn',
             'webhook': {'url': 'https://vmr.example.org:8779/v1/alarms/keepalived'}}

    first = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                     floating_network=public.id, guest=guest)
    assert first.members == ('vpn-a', 'vpn-b')
    assert first.changed
    # VIP port + 2 address pairs + FIP; the default group already lets VRRP in.
    assert len(first.operations) == 4, first.operations
    assert any('already lets VRRP in' in n for n in first.notes), first.notes

    vip = conn.network.get_port(first.vip_port_id)
    assert vip.name == pair_mod.vip_port_name('vpn')
    assert vip.fixed_ips[0]['ip_address'] == first.vip_address
    assert not vip.device_id
    for server in (active, standby):
        pairs = port_of(conn, server).allowed_address_pairs
        assert [p['ip_address'] for p in pairs] == [first.vip_address]
    (fip,) = list(conn.network.ips(port_id=vip.id))
    assert fip.floating_ip_address == first.floating_ip
    assert fip.fixed_ip_address == first.vip_address

    # A second run (an operator re-running setup-pair) changes nothing.
    ports_before = {p.id: p.revision_number for p in conn.network.ports()}
    second = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                      floating_network=public.id, guest=guest)
    assert second.operations == ()
    assert not second.changed
    assert 'nothing to do' in second.summary()
    assert (second.vip_port_id, second.vip_address, second.floating_ip) == \
        (first.vip_port_id, first.vip_address, first.floating_ip)
    assert {p.id: p.revision_number for p in conn.network.ports()} == ports_before
    assert len(list(conn.network.ips(floating_network_id=public.id))) == 1
    assert second.configs == first.configs

    # The rendered files: unicast to the peer, the VIP, notify hook, user data.
    conf_a = first.configs['vpn-a'][templater.CONF_FILE]
    a_ip = port_of(conn, active).fixed_ips[0]['ip_address']
    b_ip = port_of(conn, standby).fixed_ips[0]['ip_address']
    assert f'unicast_src_ip {a_ip}' in conf_a and b_ip in conf_a
    assert first.vip_address + '/' in conf_a
    assert 'priority 150' in conf_a
    assert 'priority 100' in first.configs['vpn-b'][templater.CONF_FILE]
    assert templater.NOTIFY_FILE in first.configs['vpn-b']
    assert first.configs['vpn-b'][templater.USER_DATA_FILE].startswith('#cloud-config')
    for member, (rc, stderr) in keepalived_t(tmp_path, first.configs).items():
        assert rc == 0, f'keepalived -t rejected {member} (rc {rc}): {stderr}'


def test_existing_fip_of_an_api_mode_pair_moves_to_the_vip(lab, conn):
    """A pair that ran in api mode keeps its public address on the VIP port."""
    active = boot(conn, 'web-a', 'compute-1', {'vmr_pair': 'web', 'vmr_role': 'active'})
    boot(conn, 'web-b', 'compute-2', {'vmr_pair': 'web', 'vmr_role': 'standby'})
    public = conn.network.find_network('public')
    fip = conn.network.create_ip(floating_network_id=public.id,
                                 port_id=port_of(conn, active).id)
    done = pair_mod.setup_vrrp_pair(conn, 'web', virtual_router_id=52)
    assert done.floating_ip == fip.floating_ip_address
    assert conn.network.get_ip(fip.id).port_id == done.vip_port_id
    assert len(list(conn.network.ips())) == 1


def test_pair_errors_name_the_fix(lab, conn):
    boot(conn, 'solo', 'compute-1', {'vmr_pair': 'solo', 'vmr_role': 'active'})
    with pytest.raises(pair_mod.PairSetupError, match='exactly 2 servers'):
        pair_mod.setup_vrrp_pair(conn, 'solo', virtual_router_id=53)
    boot(conn, 'solo-2', 'compute-2', {'vmr_pair': 'solo', 'vmr_role': 'active'})
    with pytest.raises(pair_mod.PairSetupError, match='vmr_role=standby'):
        pair_mod.setup_vrrp_pair(conn, 'solo', virtual_router_id=53)
    # Nothing was created by the refused runs.
    assert list(conn.network.ports(name=pair_mod.vip_port_name('solo'))) == []


def test_cli_setup_pair_writes_the_files(lab, conn, tmp_path, monkeypatch, vmr_cli):
    boot(conn, 'vpn-a', 'compute-1', {'vmr_pair': 'vpn', 'vmr_role': 'active'})
    boot(conn, 'vpn-b', 'compute-2', {'vmr_pair': 'vpn', 'vmr_role': 'standby'})
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(tmp_path / 'clouds.yaml'))
    token = tmp_path / 'token'
    token.write_text('a-webhook-token-of-some-length\n')
    out_dir = tmp_path / 'out'
    argv = ['keepalived', 'setup-pair', 'vpn', '--os-cloud', 'vmr-lab',
            '--virtual-router-id', '51', '--floating-network', 'public',
            '--service', 'openvpn', '--webhook-url', 'https://vmr:8779/v1/alarms/keepalived',
            '--webhook-token-file', str(token), '--output-dir', str(out_dir)]
    rc, out, err = vmr_cli(*argv)
    assert rc == 0, err
    assert 'pair vpn: VIP' in err and 'change(s)' in err
    files = sorted(out.split())
    assert len(files) == 6      # keepalived.conf, notify.sh, user-data per member
    for path in files:
        assert os.stat(path).st_mode & 0o777 == 0o600
    user_data = (out_dir / 'vpn-b' / 'user-data').read_text()
    assert 'a-webhook-token-of-some-length' in user_data

    rc, out, err = vmr_cli(*argv)
    assert rc == 0 and 'nothing to do' in err, err

    rc, out, err = vmr_cli('keepalived', 'setup-pair', 'nope', '--os-cloud', 'vmr-lab',
                           '--virtual-router-id', '51')
    assert rc == 2 and err.startswith('error: pair nope: a VRRP pair needs exactly 2'), err


def test_cli_render_wraps_the_renderer(vmr_cli):
    rc, out, err = vmr_cli('keepalived', 'render', 'controller-vip',
                           '--controller', 'ctl-1=192.0.2.11',
                           '--controller', 'ctl-2=192.0.2.12',
                           '--vip', '192.0.2.100/24', '--virtual-router-id', '60',
                           '--file', 'keepalived.conf', '--only', 'ctl-1')
    assert rc == 0, err
    assert out.startswith('#') and 'virtual_router_id 60' in out
    assert '192.0.2.100/24' in out
    rc, out, err = vmr_cli('keepalived', 'render', 'guest-pair', '--name', 'web',
                           '--member', 'web-1=10.0.0.11', '--member', 'web-2=10.0.0.11',
                           '--vip', '10.0.0.100/24', '--virtual-router-id', '51')
    assert rc == 2 and 'fixed_ip' in err, err
