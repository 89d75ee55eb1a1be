"""boot_from_snapshot replaces a fenced server once, resumably."""

import pytest

from tests.labfixtures import boot, port_of
from tests.support.actions import context, events, fence, floating_ip, run
from vmr_coordinator.actions import base


def _batch_server(conn):
    """A server with a data volume, a floating IP and a snapshot."""
    server = boot(conn, 'batch-1', 'compute-1',
                  {'recovery': 'snapshot', 'team': 'batch'})
    volume = conn.block_storage.create_volume(size=1, name='batch-data')
    conn.block_storage.wait_for_status(volume, 'available', interval=0.05,
                                       wait=30)
    conn.compute.create_volume_attachment(server, volume_id=volume.id)
    conn.block_storage.wait_for_status(volume, 'in-use', interval=0.05,
                                       wait=30)
    fip = floating_ip(conn, server)
    old = conn.compute.create_server_image(server, 'batch-1-old', wait=True)
    snap = conn.compute.create_server_image(server, 'batch-1-nightly',
                                            wait=True)
    conn.compute.wait_for_server(server, interval=0.05)
    return server, volume, fip, old, snap


def _replacements(conn, server):
    return [s for s in conn.compute.servers(details=True, all_projects=True)
            if (s.metadata or {}).get('vmr_replaces') == server.id]


def test_replaces_server_resumes_and_never_boots_twice(lab, conn):
    server, volume, fip, _, snap = _batch_server(conn)
    # The engine keeps the server's facts from before the recovery: a
    # retry has them even once the old record is deleted.
    ctx, retry = (context(conn, server, 'compute-1') for _ in range(2))
    fence(lab, conn, 'compute-1')
    created_before = len(events(lab, 'server_created'))

    # The first attempt dies after the boot and the old server's deletion
    # (its host is down: only that frees the volume): Nova refuses the
    # volume attachment to the replacement (503).
    lab.nova.inject_fault(503, count=1, method='POST',
                          path_contains='/os-volume_attachments')
    with pytest.raises(base.RetryableError, match='HTTP 503'):
        run('boot_from_snapshot', {}, ctx)
    assert len(_replacements(conn, server)) == 1
    assert conn.block_storage.get_volume(volume.id).status == 'available'
    assert conn.compute.find_server(server.id, ignore_missing=True) is None

    # The retry (or a new leader) continues with that replacement.
    action, result = run('boot_from_snapshot', {}, retry)
    assert action.needs_fence is True
    assert result.startswith('replaced by batch-1 ')
    assert 'found replacement' in result and 'booted' not in result
    (new,) = _replacements(conn, server)
    assert new.status == 'ACTIVE' and new.compute_host != 'compute-1'
    assert new.name == 'batch-1'
    assert new.image['id'] == snap.id       # the newest snapshot
    assert new.flavor.original_name == server.flavor.original_name
    assert new.metadata == {'recovery': 'snapshot', 'team': 'batch',
                            'vmr_replaces': server.id}
    assert new.availability_zone == server.availability_zone
    attached = conn.block_storage.get_volume(volume.id)
    assert attached.status == 'in-use'
    assert [a['server_id'] for a in attached.attachments] == [new.id]
    assert conn.network.get_ip(fip.id).port_id == port_of(conn, new).id
    assert conn.compute.find_server(server.id, ignore_missing=True) is None
    assert len(events(lab, 'server_created')) == created_before + 1

    # Once more: everything holds, nothing is sent.
    action, result = run('boot_from_snapshot', {}, ctx)
    assert 'found replacement %s' % new.id in result
    assert action.request_ids == []
    assert len(events(lab, 'server_created')) == created_before + 1
    assert lab.monitor.violations() == []


def test_named_image_keep_old(lab, conn):
    server = boot(conn, 'batch-2', 'compute-1', {'recovery': 'snapshot'})
    base_image = next(conn.image.images(status='active'))
    fence(lab, conn, 'compute-1')
    _, result = run('boot_from_snapshot',
                    {'image': base_image.name, 'delete_old': False,
                     'reattach_volumes': False, 'move_floating_ips': False},
                    context(conn, server, 'compute-1'))
    assert 'booted' in result and 'deleted' not in result
    (new,) = _replacements(conn, server)
    assert new.image['id'] == base_image.id
    assert conn.compute.get_server(server.id).compute_host == 'compute-1'
    assert lab.monitor.violations() == []


def test_no_snapshot_is_final(lab, conn):
    server = boot(conn, 'batch-3', 'compute-1')
    fence(lab, conn, 'compute-1')
    with pytest.raises(base.ActionError, match='has no active snapshot') \
            as err:
        run('boot_from_snapshot', {}, context(conn, server, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert _replacements(conn, server) == []


def test_replacing_an_unfenced_server_is_caught_by_the_lab(lab, conn):
    """Why needs_fence is true: the lab's monitor flags the replacement."""
    server, _, _, _, _ = _batch_server(conn)
    run('boot_from_snapshot', {'delete_old': False, 'reattach_volumes': False,
                               'move_floating_ips': False},
        context(conn, server, 'compute-1'))
    kinds = {v['type'] for v in lab.monitor.violations()}
    assert kinds == {'moved_while_running'}


def test_old_record_with_volumes_is_kept(lab, conn):
    """reattach_volumes false: deleting the old server could delete them."""
    server, volume, _, _, _ = _batch_server(conn)
    fence(lab, conn, 'compute-1')
    _, result = run('boot_from_snapshot', {'reattach_volumes': False},
                    context(conn, server, 'compute-1'))
    assert 'kept %s: volumes %s still attached' % (server.id, volume.id) \
        in result
    assert conn.compute.get_server(server.id).id == server.id
    assert [a['server_id'] for a in conn.block_storage.get_volume(
        volume.id).attachments] == [server.id]
    assert lab.monitor.violations() == []


def test_volumes_of_a_down_host_move_only_by_deleting_the_old(lab, conn):
    """Nova detaches nothing from a server whose host is down (409, as real
    Nova 34); with delete_old false the action refuses before it boots or
    marks anything."""
    import openstack.exceptions
    server, volume, fip, _, _ = _batch_server(conn)
    fence(lab, conn, 'compute-1')
    with pytest.raises(openstack.exceptions.ConflictException,
                       match='Service is unavailable at this time'):
        conn.compute.delete_volume_attachment(server, volume.id)
    # delete_on_termination is a database change: allowed (2.85+).
    conn.compute.update_volume_attachment(server, volume.id,
                                          delete_on_termination=True)
    (att,) = conn.compute.volume_attachments(server)
    assert att.delete_on_termination is True

    action = base.load_action('boot_from_snapshot', {'delete_old': False})
    with pytest.raises(base.ActionError, match='delete_old: false') as err:
        action.run(context(conn, server, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert _replacements(conn, server) == []
    volume = conn.block_storage.get_volume(volume.id)
    assert 'vmr_replacement' not in volume.metadata
    assert [a['server_id'] for a in volume.attachments] == [server.id]
    assert conn.network.get_ip(fip.id).port_id == port_of(conn, server).id

    # With the default the old server goes (taking the attachment with it),
    # delete_on_termination off first: the volume survives and moves.
    _, result = run('boot_from_snapshot', {},
                    context(conn, server, 'compute-1'))
    assert 'deleted %s' % server.id in result
    (new,) = _replacements(conn, server)
    volume = conn.block_storage.get_volume(volume.id)
    assert [a['server_id'] for a in volume.attachments] == [new.id]
    assert volume.metadata['vmr_replacement'] == new.id
