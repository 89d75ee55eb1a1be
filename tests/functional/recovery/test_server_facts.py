"""The server facts a real recovery gathers carry what selectors and the
service-VM rules look at: server groups, tags, flavor, image (with its tags
and owner), so contracts match at run time as they do in ``vmr plan``."""

import time

from tests.labfixtures import boot
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import snapshot as snapshot_mod

HOST = 'compute-1'


def _plan(recovery, contracts):
    """Plan a fenced host_down recovery of HOST; the record."""
    store = recovery.store
    for doc in contracts:
        store.put(store.keys.contract(doc['name']), doc)
    rid = 'facts-' + HOST
    rec = journal_mod.new_record(rid, HOST, {'type': 'host_down',
                                             'host': HOST}, time.time())
    rec['state'] = journal_mod.RecoveryState.FENCED
    rec['fencing'] = {'verified': True}
    store.put(store.keys.recovery(rid), rec)
    snap = snapshot_mod.take(store, recovery.conf.heartbeat.group)
    recovery._plan(rid, snap)
    return store.get(store.keys.recovery(rid)).json()


def _healed(rec):
    return {s['server_name']: s['contract'] for s in rec['steps']}


def test_server_group_selector_matches_in_a_recovery(recovery, lab, conn):
    group = conn.compute.create_server_group(name='web-group',
                                             policy='soft-anti-affinity')
    boot(conn, 'web-1', HOST, scheduler_hints={'group': group.id})
    boot(conn, 'web-2', HOST)

    rec = _plan(recovery, [
        {'name': 'by-group-name', 'priority': 300,
         'trigger': {'type': 'host_down'},
         'selector': {'server_group': 'web-group'},
         'action': {'type': 'evacuate'}},
        {'name': 'by-group-id', 'priority': 200,
         'trigger': {'type': 'host_down'},
         'selector': {'server_group': group.id},
         'action': {'type': 'boot_from_snapshot'}}])

    assert _healed(rec) == {'web-1': 'by-group-name'}
    assert [s['server_name'] for s in rec['skipped']] == ['web-2']
    (step,) = rec['steps']
    assert set(step['server']['server_groups']) == {'web-group', group.id}


def _image(conn, name, **fields):
    return conn.image.create_image(name=name, disk_format='qcow2',
                                   container_format='bare',
                                   data=b'vmr test image ' + name.encode(),
                                   **fields)


def test_tag_flavor_and_image_selectors_match_in_a_recovery(
        recovery, lab, conn):
    cirros = next(conn.image.images(status='active'))
    rhel = _image(conn, 'rhel-9')
    large = conn.compute.find_flavor('m1.large')
    tagged = boot(conn, 'tagged', HOST, image=cirros, tags=['evacuable'])
    conn.compute.add_tag_to_server(tagged, 'gold')
    boot(conn, 'large', HOST, image=cirros, flavor=large)
    boot(conn, 'rhel', HOST, image=rhel)
    boot(conn, 'plain', HOST, image=cirros)

    rec = _plan(recovery, [
        {'name': 'evacuable-servers', 'trigger': {'type': 'host_down'},
         'selector': {'tags': ['evacuable']},
         'action': {'type': 'evacuate'}},
        # by id: at microversion 2.95 Nova shows a server's flavor by name
        # only, so the id has to be looked up
        {'name': 'large-flavor', 'trigger': {'type': 'host_down'},
         'selector': {'flavors': [large.id]},
         'action': {'type': 'evacuate'}},
        {'name': 'rhel-image', 'trigger': {'type': 'host_down'},
         'selector': {'images': ['rhel-9']},
         'action': {'type': 'evacuate'}}])

    assert _healed(rec) == {'tagged': 'evacuable-servers',
                            'large': 'large-flavor', 'rhel': 'rhel-image'}
    facts = {s['server_name']: s['server'] for s in rec['steps']}
    assert facts['tagged']['tags'] == ['evacuable', 'gold']
    assert (facts['large']['flavor_id'], facts['large']['flavor_name']) == (
        large.id, 'm1.large')
    assert (facts['rhel']['image_id'], facts['rhel']['image_name']) == (
        rhel.id, 'rhel-9')


def test_service_vm_rules_fire_on_image_tags_and_image_owner(
        recovery, lab, conn):
    from vmr_coordinator.contracts import ServiceVmPolicy
    service_project = 'octavia-service-project'
    recovery.service_vm_policy = ServiceVmPolicy(
        project_ids={service_project})
    cirros = next(conn.image.images(status='active'))
    # Names say nothing: only the image's tag or owner gives them away.
    tagged = _image(conn, 'haproxy-focal', tags=['amphora'])
    owned = _image(conn, 'lb-appliance', owner=service_project)
    boot(conn, 'lb-a', HOST, image=tagged)
    boot(conn, 'lb-b', HOST, image=owned)
    boot(conn, 'web', HOST, image=cirros)

    rec = _plan(recovery, [{'name': 'everything',
                            'trigger': {'type': 'host_down'},
                            'selector': {'all': True},
                            'action': {'type': 'evacuate'}}])

    assert _healed(rec) == {'web': 'everything'}
    skipped = {s['server_name']: s['reason'] for s in rec['skipped']}
    assert "image tagged 'amphora'" in skipped['lb-a']
    assert ('runs image lb-appliance of service project '
            'octavia-service-project') in skipped['lb-b']
