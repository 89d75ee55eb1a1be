"""``boot_from_snapshot`` moves a data volume with real Cinder and Nova.

The session's real tier runs Cinder 29 (cinder-api, -scheduler, -volume
with Cinder's NFS driver on a local directory, see
``vmr_lab/real/cinder.py``) for these tests only
(``real_services('cinder')``).  A server with a data volume attached
through Nova's ``os-volume_attachments`` (Nova then drives Cinder's
attachments API) is replaced after its host is fenced; the action marks
the volume, detaches it from the dead server and attaches it to the
replacement.  Cinder's attachment records and Nova's volume attachments
must tell the same story.
"""

import time

import openstack.exceptions
import pytest

from tests.support.actions import context, run
from tests.support.real_tier import (assert_logged, attach, delete_volume,
                                     fence, wait_volume)

pytestmark = pytest.mark.real_services('cinder')

#: Cinder's attachments API (3.27), with the instance filter of 3.31... the
#: attachments' ``instance`` field is in every version from 3.27
ATTACHMENTS_VERSION = '3.44'


def cinder_attachments(cloud, conn, volume_id):
    """Cinder's own attachment records of ``volume_id`` (attachments API)."""
    url = cloud.openstack.endpoints['block-storage'] + \
        '/attachments/detail?volume_id=%s&all_tenants=1' % volume_id
    resp = conn.session.get(url, headers={
        'OpenStack-API-Version': 'volume %s' % ATTACHMENTS_VERSION})
    return resp.json()['attachments']


@pytest.fixture
def volumes(cloud, conn):
    """Volumes the test made; deleted afterwards (the cloud's restore
    deletes the servers only)."""
    made = []
    yield made
    for volume_id in made:
        delete_volume(conn, volume_id)


# The first real test of a session pays for the tier's start-up; on a
# loaded 2-core machine that was 10 minutes with Cinder.
@pytest.mark.timeout(2400)
def test_boot_from_snapshot_moves_the_data_volume(cloud, conn, volumes):
    print('real tier start-up (s): %s' % cloud.openstack.timings)
    t0 = time.monotonic()
    # Generous waits: on a loaded 2-core machine a boot took 50 s.
    server = cloud.boot('data-1', 'compute-2', metadata={'app': 'data'},
                        wait=300)
    volume = attach(conn, server)
    volumes.append(volume.id)
    (nova_att,) = conn.compute.volume_attachments(server)
    assert nova_att.volume_id == volume.id
    snapshot = conn.compute.create_server_image(server, 'data-1-snap',
                                                wait=True, timeout=300)
    fence(cloud, conn, 'compute-2')

    params = {'reattach_volumes': True, 'move_floating_ips': False}
    first, resumed = (context(conn, server, 'compute-2', timeout=600,
                              poll=0.2) for _ in range(2))
    t_action = time.monotonic()
    _, result = run('boot_from_snapshot', params, first)
    action_time = time.monotonic() - t_action
    print(result)
    # Every request id in nova-api's or cinder-api's log; Cinder has some
    # (the volume was marked in Cinder).
    assert_logged(cloud, result, logs=('nova-api', 'cinder-api'),
                  some=('cinder-api',))
    assert 'from %s (%s)' % (snapshot.name, snapshot.id) in result
    assert 'volumes %s' % volume.id in result
    assert 'deleted %s' % server.id in result

    (new,) = [s for s in conn.compute.servers(details=True)
              if s.name == 'data-1']
    assert new.id != server.id
    assert new.metadata['vmr_replaces'] == server.id
    assert new.status == 'ACTIVE' and new.compute_host != 'compute-2'
    assert cloud.wait_running(new.id, new.compute_host, timeout=60)

    # Cinder: in-use, one attachment, to the replacement, on its host.
    volume = conn.block_storage.get_volume(volume.id)
    assert volume.status == 'in-use'
    assert [(a['server_id'], a['host_name']) for a in volume.attachments] \
        == [(new.id, new.compute_host)]
    assert volume.metadata['vmr_replacement'] == new.id
    (record,) = cinder_attachments(cloud, conn, volume.id)
    assert (record['instance'], record['status']) == (new.id, 'attached')
    # Nova agrees, attachment id included (2.89+).
    (nova_att,) = conn.compute.volume_attachments(new)
    assert nova_att.volume_id == volume.id
    assert nova_att.attachment_id == record['id']
    # The old server is gone.
    with pytest.raises(openstack.exceptions.NotFoundException):
        old = conn.compute.get_server(server.id)
        if old.status == 'DELETED':   # FACTS: a short while after DELETE
            raise openstack.exceptions.NotFoundException()

    # A new leader resuming finds it all done and sends nothing.
    action, again = run('boot_from_snapshot', params, resumed)
    assert 'found replacement %s' % new.id in again
    assert action.request_ids == []
    assert cloud.monitor.violations() == []
    print('test: %.1f s (the action: %.1f s)' % (time.monotonic() - t0,
                                                  action_time))


@pytest.mark.slow
def test_nova_detaches_on_a_down_host_only_by_deleting_the_server(
        cloud, conn, volumes):
    """The three facts the action is built on (doc/lab-vs-real.rst)."""
    server = cloud.boot('data-2', 'compute-3', wait=300)
    volume = attach(conn, server)
    volumes.append(volume.id)
    fence(cloud, conn, 'compute-3')
    # 1. No detach while the host is down (forced down by the fence).
    with pytest.raises(openstack.exceptions.ConflictException,
                       match='Service is unavailable at this time'):
        conn.compute.delete_volume_attachment(server, volume.id)
    assert wait_volume(conn, volume.id, 'in-use').attachments[0][
        'server_id'] == server.id
    # 2. delete_on_termination changes without the host (2.85+).
    conn.compute.update_volume_attachment(server, volume.id,
                                          delete_on_termination=True)
    (att,) = conn.compute.volume_attachments(server)
    assert att.delete_on_termination is True
    conn.compute.update_volume_attachment(server, volume.id,
                                          delete_on_termination=False)
    # 3. Deleting the server frees the volume: Nova deletes its Cinder
    # attachment itself.
    conn.compute.delete_server(server)
    volume = wait_volume(conn, volume.id, 'available')
    assert volume.attachments == []
    assert cinder_attachments(cloud, conn, volume.id) == []
