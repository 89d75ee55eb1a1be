"""``vmr import-masakari``'s mapping of a Masakari segment (pure: the
resources are openstacksdk's own classes, built in memory)."""

import pytest
from openstack.instance_ha.v1 import host as masakari_host
from openstack.instance_ha.v1 import segment as masakari_segment

from vmr_client.commands.masakari import _rename_map, segment_from_masakari
from vmr_client.errors import ApiError


def segment(**fields):
    base = {'name': 'rack-a', 'recovery_method': 'rh_priority',
            'service_type': 'COMPUTE', 'is_enabled': True}
    return masakari_segment.Segment(**dict(base, **fields))


def host(name, **fields):
    return masakari_host.Host(name=name, type='COMPUTE',
                              control_attributes='SSH', **fields)


def test_reserved_hosts_members_method_and_state_carry_over():
    doc, notes = segment_from_masakari(
        segment(description='rack A'),
        [host('compute-2'), host('compute-9', reserved=True),
         host('compute-1', on_maintenance=True)])
    assert doc == {'name': 'rack-a', 'recovery_method': 'rh_priority',
                   'enabled': True, 'description': 'rack A',
                   'hosts': ['compute-1', 'compute-2'],
                   'reserved_hosts': ['compute-9']}
    assert notes == ['compute-1 is on maintenance in Masakari: vmr host '
                     'maintenance compute-1 --on']


def test_a_disabled_segment_stays_disabled_and_a_missing_spare_is_said():
    doc, notes = segment_from_masakari(
        segment(is_enabled=False, recovery_method='reserved_host'),
        [host('compute-1')])
    assert doc['enabled'] is False and doc['reserved_hosts'] == []
    assert notes == ['recovery method reserved_host with no reserved host']


def test_a_name_vmr_cannot_take_needs_a_rename():
    with pytest.raises(ApiError, match=r"'rack A' cannot be a VMR segment "
                       r"name .* pass --rename rack A=NEW-NAME"):
        segment_from_masakari(segment(name='rack A'), [])
    doc, _ = segment_from_masakari(segment(name='rack A'), [],
                                   rename=_rename_map(['rack A=rack-a']))
    assert doc['name'] == 'rack-a'


def test_an_unknown_recovery_method_is_refused_by_name():
    with pytest.raises(ApiError, match="recovery method 'magic'"):
        segment_from_masakari(segment(recovery_method='magic'), [])


@pytest.mark.parametrize('bad', ['rack', '=x', 'x='])
def test_rename_takes_old_equals_new(bad):
    with pytest.raises(ApiError, match='--rename takes'):
        _rename_map([bad])
