"""``vmr status``'s duplicate_agents and fence_paths fields."""

from vmr_client import render


def test_duplicates_name_both_agents():
    assert render.format_duplicates([]) == 'none'
    text = render.format_duplicates([
        {'host': 'compute-2', 'boot_id': 'b2', 'addresses': {},
         'holder': {'boot_id': 'a2', 'addresses': {'mgmt': '10.0.0.2'}}},
        {'host': 'compute-1', 'boot_id': 'b1',
         'addresses': {'mgmt': '10.0.1.1', 'tenant': '10.1.1.1'},
         'holder': {}}])
    assert text == (
        'REFUSED compute-1 (boot id b1, mgmt=10.0.1.1, tenant=10.1.1.1): the '
        'name is held by boot id unknown (no address); '
        'REFUSED compute-2 (boot id b2, no address): the name is held by '
        'boot id a2 (mgmt=10.0.0.2)')


def test_fence_paths_all_ok_or_the_failed_hosts():
    assert render.format_fence_paths(None) == 'not checked yet'
    assert render.format_fence_paths({'checked': 0, 'failed': []}) == \
        'not checked yet'
    assert render.format_fence_paths({'checked': 3, 'failed': []}) == \
        '3 hosts checked, all ok'
    assert render.format_fence_paths({'checked': 3, 'failed': [
        {'host': 'compute-2', 'why': 'ipmi: BMC unreachable'}]}) == \
        '3 hosts checked; FAILED: compute-2 (ipmi: BMC unreachable)'
