"""plan_vrrp_pair: the Neutron operations a VRRP pair still needs, as data."""

import pytest

from vmr_keepalived.neutron_plan import (
    FLOATING_IP_REF,
    VIP_PORT_REF,
    PlanError,
    Ref,
    plan_vrrp_pair,
    resolve,
)

NET, SUBNET = 'net-1', 'subnet-1'


def servers(**over):
    a = {'server': 'web-1', 'port_id': 'port-a', 'fixed_ip': '10.0.0.11', 'network_id': NET}
    b = {'server': 'web-2', 'port_id': 'port-b', 'fixed_ip': '10.0.0.12',
         'allowed_address_pairs': ({'ip_address': '10.0.0.50', 'mac_address': 'fa:16:3e:0:0:1'},)}
    a.update(over)
    return [a, b]


def vip_net(address='10.0.0.100'):
    return {'network_id': NET, 'subnet_id': SUBNET, 'vip_address': address}


def methods(ops):
    return [(op.method, op.target) for op in ops]


def test_fresh_pair_with_new_floating_ip():
    ops = plan_vrrp_pair(servers(), vip_net(), pair_name='web', floating_network_id='ext',
                         security_group_id='sg-1')
    assert methods(ops) == [('create_port', None), ('update_port', 'port-a'),
                            ('update_port', 'port-b'), ('create_security_group_rule', None),
                            ('create_ip', None)]
    create = ops[0]
    assert create.ref == VIP_PORT_REF
    assert create.args['fixed_ips'] == [{'subnet_id': SUBNET, 'ip_address': '10.0.0.100'}]
    assert create.args['network_id'] == NET and create.args['name'] == 'vmr-vip-web'
    assert ops[1].args == {'allowed_address_pairs': [{'ip_address': '10.0.0.100'}]}
    # The existing pair on port-b is kept: Neutron replaces the whole list.
    assert ops[2].args['allowed_address_pairs'] == [
        {'ip_address': '10.0.0.50', 'mac_address': 'fa:16:3e:0:0:1'},
        {'ip_address': '10.0.0.100'}]
    rule = ops[3]
    assert rule.conflict_ok and rule.args['protocol'] == 'vrrp'
    assert rule.args['remote_group_id'] == 'sg-1' and rule.args['ether_type'] == 'IPv4'
    fip = ops[4]
    assert fip.ref == FLOATING_IP_REF
    assert fip.args['port_id'] == Ref(VIP_PORT_REF, 'id')
    assert all(op.reason for op in ops)


def test_neutron_allocated_vip_uses_a_reference():
    ops = plan_vrrp_pair(servers(), vip_net(None), pair_name='web')
    assert ops[0].args['fixed_ips'] == [{'subnet_id': SUBNET}]
    assert ops[1].args['allowed_address_pairs'] == [
        {'ip_address': Ref(VIP_PORT_REF, 'ip_address')}]
    results = {VIP_PORT_REF: {'id': 'vip-port',
                              'fixed_ips': [{'subnet_id': SUBNET, 'ip_address': '10.0.0.7'}]}}
    assert resolve(ops[1].args, results) == {
        'allowed_address_pairs': [{'ip_address': '10.0.0.7'}]}


def test_done_pair_needs_nothing():
    """Idempotent: a second run over the finished state plans no operation."""
    done = [{**s, 'allowed_address_pairs': (*s.get('allowed_address_pairs', ()),
                                            {'ip_address': '10.0.0.100/32'})}
            for s in servers()]
    vip_port = {'id': 'vip-port', 'network_id': NET,
                'fixed_ips': [{'subnet_id': SUBNET, 'ip_address': '10.0.0.100'}]}
    ops = plan_vrrp_pair(done, vip_net(), pair_name='web', vip_port=vip_port,
                         floating_ip={'id': 'fip-1', 'port_id': 'vip-port'})
    assert ops == []


def test_existing_fip_is_moved_to_vip_port():
    vip_port = {'id': 'vip-port', 'fixed_ips': [{'subnet_id': SUBNET,
                                                 'ip_address': '10.0.0.100'}]}
    ops = plan_vrrp_pair(servers(), vip_net(None), pair_name='web', vip_port=vip_port,
                         floating_ip={'id': 'fip-1', 'port_id': 'port-a',
                                      'floating_ip_address': '203.0.113.5'})
    assert methods(ops) == [('update_port', 'port-a'), ('update_port', 'port-b'),
                            ('update_ip', 'fip-1')]
    assert ops[0].args['allowed_address_pairs'] == [{'ip_address': '10.0.0.100'}]
    assert ops[2].args == {'port_id': 'vip-port'}
    assert '203.0.113.5' in ops[2].reason


def test_port_without_port_security_is_left_alone():
    ops = plan_vrrp_pair(servers(port_security_enabled=False), vip_net(), pair_name='web')
    assert methods(ops) == [('create_port', None), ('update_port', 'port-b')]


def test_resolve_with_sdk_like_objects():
    class Port:
        id = 'p-1'
        fixed_ips = [{'ip_address': '10.0.0.9'}]
    assert resolve({'port_id': Ref('vip_port')}, {'vip_port': Port()}) == {'port_id': 'p-1'}
    with pytest.raises(PlanError, match="'vip_port' is not available"):
        resolve(Ref('vip_port'), {})


@pytest.mark.parametrize('kwargs,message', [
    ({'servers': servers()[:1]}, 'exactly 2 servers'),
    ({'servers': servers(port_id='port-b')}, 'both members use port port-b'),
    ({'servers': servers(fixed_ip='10.0.0.12')}, 'both members have fixed IP'),
    ({'servers': servers(fixed_ip='nope')}, 'servers[0].fixed_ip: not a valid IP'),
    ({'servers': servers(network_id='other')}, 'not on the VIP network net-1'),
    ({'servers': servers(prot_id='x')}, "servers[0]: unknown field 'prot_id'"),
    ({'vip_network': vip_net('10.0.0.11')}, "is a member's fixed IP"),
    ({'vip_network': vip_net('2001:db8::1')}, 'one IP version'),
    ({'floating_ip': {'id': 'f'}, 'floating_network_id': 'ext'}, 'not both'),
    ({'vip_port': {'id': 'v', 'fixed_ips': [{'subnet_id': 'other', 'ip_address': '1.2.3.4'}]}},
     'has no address on subnet subnet-1'),
    ({'vip_port': {'id': 'v', 'fixed_ips': [{'subnet_id': SUBNET, 'ip_address': '10.0.0.9'}]}},
     'holds 10.0.0.9, not the wanted VIP 10.0.0.100'),
    ({'vip_port': {'id': 'v', 'network_id': 'other', 'fixed_ips': []}}, 'is on network other'),
])
def test_plan_errors(kwargs, message):
    args = {'servers': servers(), 'vip_network': vip_net(), 'pair_name': 'web', **kwargs}
    with pytest.raises(PlanError) as info:
        plan_vrrp_pair(**args)
    assert message in str(info.value)
    assert '\n' not in str(info.value)
