"""Neutron security groups and their rules through openstacksdk.

What a VRRP guest pair relies on (``vmr keepalived setup-pair``): a rule
letting IP protocol 112 in from the members' own group, created once; a
second identical rule is a 409 ``SecurityGroupRuleExists``, whether the
protocol is spelled ``vrrp`` or ``112``.
"""

import openstack.exceptions
import pytest

try:
    from . import _services_harness as h
except ImportError:  # the lab test directory is not a package
    import _services_harness as h


@pytest.fixture(autouse=True)
def _needs_neutron(conn):
    h.require_service(conn, 'network')


def _group(conn, cleanup, name, **attrs):
    sg = conn.network.create_security_group(name=name, **attrs)
    cleanup.add(conn.network.delete_security_group, sg.id)
    return sg


def _rules(conn, sg):
    return list(conn.network.security_group_rules(security_group_id=sg.id))


def test_new_group_only_lets_traffic_out(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    sg = _group(conn, cleanup, unique_name, description='test group')
    assert sg.name == unique_name and sg.description == 'test group'
    assert sg.stateful is True
    rules = sorted(_rules(conn, sg), key=lambda r: r.ether_type)
    assert [(r.direction, r.ether_type, r.protocol, r.remote_group_id,
             r.remote_ip_prefix) for r in rules] == [
        ('egress', 'IPv4', None, None, None),
        ('egress', 'IPv6', None, None, None)]
    assert sorted(r['id'] for r in sg.security_group_rules) == \
        sorted(r.id for r in rules)
    assert conn.network.get_security_group(sg.id).name == unique_name
    assert [g.id for g in conn.network.security_groups(name=unique_name)] \
        == [sg.id]
    sg = conn.network.update_security_group(sg, description='changed')
    assert sg.description == 'changed'


def test_default_group_lets_its_members_in(conn):
    project = conn.current_project_id
    (default,) = list(conn.network.security_groups(name='default',
                                                   project_id=project))
    rules = _rules(conn, default)
    assert sorted((r.direction, r.ether_type, r.remote_group_id)
                  for r in rules) == [
        ('egress', 'IPv4', None), ('egress', 'IPv6', None),
        ('ingress', 'IPv4', default.id), ('ingress', 'IPv6', default.id)]
    # "default" is taken in every project.
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.network.create_security_group(name='default')
    assert 'Default security group already exists' in str(err.value)


def test_vrrp_rule_is_created_once(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    sg = _group(conn, cleanup, unique_name)
    rule = conn.network.create_security_group_rule(
        security_group_id=sg.id, direction='ingress', ether_type='IPv4',
        protocol='vrrp', remote_group_id=sg.id, description='VRRP')
    cleanup.add(conn.network.delete_security_group_rule, rule.id)
    assert (rule.direction, rule.ether_type, rule.protocol,
            rule.remote_group_id, rule.remote_ip_prefix,
            rule.port_range_min, rule.port_range_max) == \
        ('ingress', 'IPv4', 'vrrp', sg.id, None, None, None)
    assert rule.security_group_id == sg.id
    assert rule.project_id == sg.project_id
    assert rule.description == 'VRRP'

    # The same rule again, by name or by number: 409 naming the rule.
    for protocol in ('vrrp', '112', 112):
        with pytest.raises(openstack.exceptions.ConflictException) as err:
            conn.network.create_security_group_rule(
                security_group_id=sg.id, direction='ingress',
                ether_type='IPv4', protocol=protocol, remote_group_id=sg.id)
        assert 'Security group rule already exists' in str(err.value)
        assert rule.id in str(err.value)

    found = list(conn.network.security_group_rules(
        security_group_id=sg.id, direction='ingress', protocol='vrrp'))
    assert [r.id for r in found] == [rule.id]
    assert conn.network.get_security_group_rule(rule.id).protocol == 'vrrp'
    assert rule.id in {r['id'] for r in
                       conn.network.get_security_group(sg.id)
                       .security_group_rules}

    # Other directions and ethertypes are other rules; a number stays one.
    v6 = conn.network.create_security_group_rule(
        security_group_id=sg.id, direction='ingress', ether_type='IPv6',
        protocol='112', remote_group_id=sg.id)
    cleanup.add(conn.network.delete_security_group_rule, v6.id)
    assert v6.protocol == '112'
    assert len(list(conn.network.security_group_rules(
        security_group_id=sg.id, direction='ingress'))) == 2

    conn.network.delete_security_group_rule(rule.id)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.get_security_group_rule(rule.id)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.delete_security_group_rule(rule.id,
                                                ignore_missing=False)
    # Gone, so it may be created again.
    again = conn.network.create_security_group_rule(
        security_group_id=sg.id, direction='ingress', protocol='vrrp',
        remote_group_id=sg.id)
    cleanup.add(conn.network.delete_security_group_rule, again.id)
    assert again.ether_type == 'IPv4'


def test_port_and_prefix_rules(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    sg = _group(conn, cleanup, unique_name)
    ssh = conn.network.create_security_group_rule(
        security_group_id=sg.id, direction='ingress', protocol='tcp',
        port_range_min=22, port_range_max=22,
        remote_ip_prefix='192.0.2.0/24')
    cleanup.add(conn.network.delete_security_group_rule, ssh.id)
    assert (ssh.protocol, ssh.port_range_min, ssh.port_range_max,
            ssh.remote_ip_prefix, ssh.remote_group_id) == \
        ('tcp', 22, 22, '192.0.2.0/24', None)
    assert [r.id for r in conn.network.security_group_rules(
        security_group_id=sg.id, remote_ip_prefix='192.0.2.0/24')] == \
        [ssh.id]
    icmp = conn.network.create_security_group_rule(
        security_group_id=sg.id, direction='ingress', protocol='icmp',
        port_range_min=8, port_range_max=0)
    cleanup.add(conn.network.delete_security_group_rule, icmp.id)
    assert (icmp.port_range_min, icmp.port_range_max) == (8, 0)


@pytest.mark.parametrize('attrs, error', [
    ({'direction': 'sideways'},
     'Invalid input for direction. Reason: sideways is not in valid_values'),
    ({'direction': 'ingress', 'ether_type': 'IPv5'}, 'IPv5'),
    ({'direction': 'ingress', 'protocol': 'carrier-pigeon'},
     'protocol carrier-pigeon not supported'),
    ({'direction': 'ingress', 'protocol': 256}, 'protocol 256 not supported'),
    ({'direction': 'ingress', 'protocol': 'vrrp', 'port_range_min': 1,
      'port_range_max': 2}, 'Ports cannot be specified for protocol 112. '
     'Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.'),
    ({'direction': 'ingress', 'port_range_min': 80, 'port_range_max': 80},
     'Must also specify protocol'),
    ({'direction': 'ingress', 'protocol': 'tcp', 'port_range_min': 90,
      'port_range_max': 80}, 'port_range_min must be <= port_range_max'),
    ({'direction': 'ingress', 'remote_ip_prefix': '10.0.0.0/8',
      'remote_group_id': 'SELF'}, 'Only one of remote_ip_prefix or '
     'remote_group_id or remote_address_group_id may be provided.'),
    ({'direction': 'ingress', 'ether_type': 'IPv6',
      'remote_ip_prefix': '10.0.0.0/8'}, 'Conflicting value ethertype IPv6'),
])
def test_invalid_rules_are_400(request, conn, unique_name, attrs, error):
    cleanup = h.Cleanup(request)
    sg = _group(conn, cleanup, unique_name)
    if attrs.get('remote_group_id') == 'SELF':
        attrs = dict(attrs, remote_group_id=sg.id)
    with pytest.raises(openstack.exceptions.BadRequestException) as err:
        conn.network.create_security_group_rule(security_group_id=sg.id,
                                                **attrs)
    assert error in str(err.value)


def test_not_found_and_in_use(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    missing = '00000000-0000-0000-0000-000000000000'
    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.network.get_security_group(missing)
    assert 'Security group %s does not exist' % missing in str(err.value)
    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.network.create_security_group_rule(
            security_group_id=missing, direction='ingress')
    assert 'does not exist' in str(err.value)
    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.network.get_security_group_rule(missing)
    assert 'Security group rule %s does not exist' % missing \
        in str(err.value)

    sg = _group(conn, cleanup, unique_name)
    other = _group(conn, cleanup, unique_name + '-other')
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.network.create_security_group_rule(
            security_group_id=sg.id, direction='ingress',
            remote_group_id=missing)
    # A rule naming a group goes when that group is deleted.
    from_other = conn.network.create_security_group_rule(
        security_group_id=sg.id, direction='ingress', protocol='vrrp',
        remote_group_id=other.id)
    conn.network.delete_security_group(other.id)
    assert from_other.id not in {r.id for r in _rules(conn, sg)}

    port = conn.network.create_port(network_id=h.network(conn).id,
                                    name=unique_name, security_groups=[sg.id])
    cleanup.add(conn.network.delete_port, port.id)
    assert port.security_group_ids == [sg.id]
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.network.delete_security_group(sg.id)
    assert 'in use' in str(err.value)


def test_member_sees_and_changes_only_own_groups(request, conn, member_conn,
                                                 unique_name):
    cleanup = h.Cleanup(request)
    admin_sg = _group(conn, cleanup, unique_name + '-admin')
    mine = member_conn.network.create_security_group(name=unique_name)
    cleanup.add(member_conn.network.delete_security_group, mine.id)
    seen = {g.id for g in member_conn.network.security_groups()}
    assert mine.id in seen and admin_sg.id not in seen
    assert {r.security_group_id
            for r in member_conn.network.security_group_rules()} <= seen
    # Another project's group: policy says no (403), it does not hide it.
    with pytest.raises(openstack.exceptions.ForbiddenException) as err:
        member_conn.network.create_security_group_rule(
            security_group_id=admin_sg.id, direction='ingress')
    assert 'rule:create_security_group_rule is disallowed by policy' in \
        str(err.value)
    rule = member_conn.network.create_security_group_rule(
        security_group_id=mine.id, direction='ingress', protocol='vrrp',
        remote_group_id=mine.id)
    assert rule.project_id == mine.project_id == \
        member_conn.current_project_id
    # The admin sees it; the owner may delete it.
    assert conn.network.get_security_group_rule(rule.id).id == rule.id
    member_conn.network.delete_security_group_rule(rule.id)
    (default,) = list(member_conn.network.security_groups(name='default'))
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        member_conn.network.delete_security_group(default.id)
    assert 'default security group' in str(err.value)
