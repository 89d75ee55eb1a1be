"""Lab scenario: the VRRP security group rule of a vrrp-mode pair.

The members of pair ``vpn`` share a group of their own that lets nothing in
(a new Neutron group only has egress rules), so :func:`setup_vrrp_pair` must
add one ingress rule for IP protocol 112 from that group, and only once:
a second run finds it, a run racing another one gets Neutron's 409
``SecurityGroupRuleExists`` and counts it as done. Everything goes through
openstacksdk to the lab's Neutron; nothing is mocked.
"""

import pytest

from tests.labfixtures import boot, conn_fixture, lab_fixture, port_of
from tests.support.actions import DELAYS
from vmr_keepalived import pair as pair_mod

lab = lab_fixture(hosts=2, delays=DELAYS)
conn = conn_fixture()
member_conn = conn_fixture(cloud='vmr-lab-member', name='member_conn')

GROUP = 'vpn-members'


def _pair_in_group(conn, *extra_groups):
    """Boot vpn-a/vpn-b and put both ports in a new group ``vpn-members``."""
    sg = conn.network.create_security_group(name=GROUP)
    ports = []
    for name, host, role in (('vpn-a', 'compute-1', 'active'),
                             ('vpn-b', 'compute-2', 'standby')):
        server = boot(conn, name, host, {'vmr_pair': 'vpn', 'vmr_role': role})
        ports.append(conn.network.update_port(
            port_of(conn, server), security_groups=[sg.id, *extra_groups]))
    return sg, ports


def _ingress(conn, sg):
    return [r for r in conn.network.security_group_rules(security_group_id=sg.id)
            if r.direction == 'ingress']


def test_vrrp_rule_is_added_once(lab, conn):
    sg, ports = _pair_in_group(conn)
    assert _ingress(conn, sg) == []

    first = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51)
    # VIP port, the VIP on both members' ports, the VRRP rule.
    assert len(first.operations) == 4, first.operations
    assert (f'allow VRRP (IP protocol 112) within security group {sg.id}'
            in first.operations)
    (rule,) = _ingress(conn, sg)
    assert (rule.protocol, rule.ether_type, rule.remote_group_id,
            rule.remote_ip_prefix, rule.port_range_min, rule.port_range_max) == \
        ('vrrp', 'IPv4', sg.id, None, None, None)
    assert rule.security_group_id == sg.id
    assert rule.description == 'VMR: VRRP between pair members'

    revision = conn.network.get_security_group(sg.id).revision_number
    second = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51)
    assert second.operations == () and not second.changed
    assert (f'security group {sg.id} already lets VRRP in from its members '
            f'(rule {rule.id})') in second.notes
    assert [r.id for r in _ingress(conn, sg)] == [rule.id]
    assert conn.network.get_security_group(sg.id).revision_number == revision
    assert second.configs == first.configs


def test_a_rule_by_protocol_number_counts(lab, conn):
    sg, _ = _pair_in_group(conn)
    rule = conn.network.create_security_group_rule(
        security_group_id=sg.id, direction='ingress', ether_type='IPv4',
        protocol='112', remote_group_id=sg.id)
    done = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51)
    assert not any('VRRP' in op for op in done.operations), done.operations
    assert any(rule.id in note for note in done.notes), done.notes
    assert [r.id for r in _ingress(conn, sg)] == [rule.id]


def test_a_rule_added_meanwhile_is_a_conflict_counted_as_done(lab, conn, monkeypatch):
    """Two operators run setup-pair at once: the other one adds the rule
    between this run's read of the group and its create call."""
    sg, _ = _pair_in_group(conn)
    read_group = pair_mod._security_group

    def read_then_race(*args, **kwargs):
        group_id = read_group(*args, **kwargs)
        conn.network.create_security_group_rule(
            security_group_id=sg.id, direction='ingress', protocol='vrrp',
            remote_group_id=sg.id)
        return group_id

    monkeypatch.setattr(pair_mod, '_security_group', read_then_race)
    done = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51)
    assert (f'allow VRRP (IP protocol 112) within security group {sg.id} '
            '(already there)') in done.operations
    assert len(_ingress(conn, sg)) == 1


def test_a_shared_group_letting_vrrp_in_is_enough(lab, conn):
    """Members in ``default`` (which lets its members in) and in their own
    group: nothing to add, whichever group id sorts first."""
    default = next(iter(conn.network.security_groups(
        name='default', project_id=conn.current_project_id)))
    sg, _ = _pair_in_group(conn, default.id)
    done = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51)
    assert not any('VRRP' in op for op in done.operations), done.operations
    assert any(f'security group {default.id} already lets VRRP in' in note
               for note in done.notes), done.notes
    assert _ingress(conn, sg) == []


def test_named_group(lab, conn, member_conn):
    sg, _ = _pair_in_group(conn)
    other = conn.network.create_security_group(name='vrrp-elsewhere')
    # Every project has a "default": an admin must give an id.
    list(member_conn.network.security_groups())
    with pytest.raises(pair_mod.PairSetupError,
                       match="more than one security group is named 'default': give its id"):
        pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                 security_group='default')
    assert list(conn.network.ports(name=pair_mod.vip_port_name('vpn'))) == []

    done = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                    security_group='vrrp-elsewhere')
    assert any(f'not both in security group {other.id}' in n for n in done.notes)
    (rule,) = _ingress(conn, other)
    assert (rule.protocol, rule.remote_group_id) == ('vrrp', other.id)
    assert _ingress(conn, sg) == []

    done = pair_mod.setup_vrrp_pair(conn, 'vpn', virtual_router_id=51,
                                    security_group=False)
    assert done.operations == ()
    assert 'security groups left alone (asked)' in done.notes


def test_cli_adds_the_rule_once(lab, conn, tmp_path, monkeypatch, vmr_cli):
    sg, _ = _pair_in_group(conn)
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(tmp_path / 'clouds.yaml'))
    argv = ['keepalived', 'setup-pair', 'vpn', '--os-cloud', 'vmr-lab',
            '--virtual-router-id', '51', '--security-group', GROUP,
            '--output-dir', str(tmp_path / 'out')]
    rc, out, err = vmr_cli(*argv)
    assert rc == 0, err
    assert f'allow VRRP (IP protocol 112) within security group {sg.id}' in err
    (rule,) = _ingress(conn, sg)
    rc, out, err = vmr_cli(*argv)
    assert rc == 0 and 'nothing to do' in err, err
    assert f'already lets VRRP in from its members (rule {rule.id})' in err
    assert [r.id for r in _ingress(conn, sg)] == [rule.id]
