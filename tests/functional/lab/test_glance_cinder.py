"""Glance and Cinder through openstacksdk: what ``boot_from_snapshot`` needs.

Snapshot a server, find its newest snapshot, boot a replacement from it,
move the data volume and the floating IP over; plus the images/volumes
basics and the real error codes.
"""

import json

import openstack.exceptions
import pytest

try:
    from . import _services_harness as h
except ImportError:  # the lab test directory is not a package
    import _services_harness as h

from tests.support.lab import lab_only


@pytest.fixture
def cinder(conn):
    """Skip on a real cloud without Cinder in its catalog."""
    h.require_service(conn, 'block-storage')


def test_image_create_upload_update_tags_delete(request, conn, unique_name):
    cleanup = h.Cleanup(request)
    image = conn.image.create_image(
        unique_name, data=b'lab image bytes', disk_format='raw',
        container_format='bare', wait=True, timeout=60,
        properties={'vmr_test': 'yes'})
    cleanup.add(conn.image.delete_image, image.id)
    image = conn.image.get_image(image.id)
    assert image.status == 'active'
    assert image.size == len(b'lab image bytes')
    assert image.properties['vmr_test'] == 'yes'

    # A multi-store Glance names the image's store in ``stores`` (not a
    # property: it cannot be removed).  openstacksdk's update_image with an
    # extra property sends the whole property set, removing the others --
    # ``stores`` too -- and Glance refuses: 409.
    assert 'stores' in image.properties
    with pytest.raises(openstack.exceptions.ConflictException) as err:
        conn.image.update_image(image, name=unique_name + '-renamed',
                                vmr_extra='1')
    assert 'Property stores does not exist.' in str(err.value.details) + \
        err.value.response.text
    # The cloud layer adds properties ("add" replaces an existing one);
    # a fresh read, since the refused update changed the local object.
    image = conn.image.get_image(image.id)
    conn.update_image_properties(image=image, name=unique_name + '-renamed',
                                 vmr_extra='1', vmr_test='again')
    conn.image.add_tag(image, 'vmr-tag')
    image = conn.image.get_image(image.id)
    assert image.name == unique_name + '-renamed'
    assert image.properties['vmr_extra'] == '1'
    assert image.properties['vmr_test'] == 'again'
    assert image.tags == ['vmr-tag']
    assert [i.id for i in conn.image.images(tag='vmr-tag')] == [image.id]

    conn.image.delete_image(image)
    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.image.get_image(image.id)
    assert 'No image found' in str(err.value) or '404' in str(err.value)


def test_image_errors(conn, unique_name):
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.image.create_image(unique_name, disk_format='no-such-format',
                                container_format='bare')
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.image.get_image('00000000-0000-0000-0000-000000000000')


@lab_only('attaches a volume to an instance id no Nova knows, through '
          'the bare Cinder actions')
def test_volume_lifecycle_and_errors(request, cinder, lab, conn,
                                     unique_name):
    # Lab only: attaches to an instance id no Nova knows, through the bare
    # Cinder actions (a real cloud needs the full reserve/connect dance).
    cleanup = h.Cleanup(request)
    volume = conn.block_storage.create_volume(size=1, name=unique_name,
                                              metadata={'ha': 'true'})
    cleanup.add(conn.block_storage.delete_volume, volume.id)
    assert volume.status == 'creating'
    volume = conn.block_storage.wait_for_status(volume, 'available',
                                                interval=0.1, wait=60)
    assert volume.is_bootable is False and volume.attachments == []
    assert unique_name in [v.name for v in conn.block_storage.volumes()]

    # Attach/detach through Cinder's own actions, as a non-Nova consumer.
    conn.block_storage.attach_volume(volume, '/dev/vdz',
                                     instance='00000000-0000-0000-0000-0000'
                                              '00000abc')
    volume = conn.block_storage.get_volume(volume.id)
    assert volume.status == 'in-use'
    with pytest.raises(openstack.exceptions.BadRequestException) as err:
        conn.block_storage.delete_volume(volume)
    assert 'Volume status must be available' in str(err.value)
    conn.block_storage.detach_volume(
        volume, volume.attachments[0]['attachment_id'])
    assert conn.block_storage.get_volume(volume.id).status == 'available'

    with pytest.raises(openstack.exceptions.NotFoundException) as err:
        conn.block_storage.get_volume('00000000-0000-0000-0000-000000000000')
    assert 'could not be found' in str(err.value)
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.block_storage.create_volume(size=0, name=unique_name + '-zero')


@lab_only('creates a Cinder attachment for an instance id no Nova knows')
def test_attachments_api_and_microversions(request, cinder, lab, conn,
                                           unique_name):
    # Lab only: an attachment for an instance id no Nova knows.
    cleanup = h.Cleanup(request)
    volume = conn.block_storage.create_volume(size=1, name=unique_name)
    cleanup.add(conn.block_storage.delete_volume, volume.id)
    volume = conn.block_storage.wait_for_status(volume, 'available',
                                                interval=0.1, wait=60)
    server_id = '00000000-0000-0000-0000-000000000def'
    attachment = conn.block_storage.create_attachment(
        volume, instance=server_id,
        connector={'host': 'compute-1', 'mountpoint': '/dev/vdc'})
    conn.block_storage.complete_attachment(attachment)
    volume = conn.block_storage.get_volume(volume.id)
    assert volume.status == 'in-use'
    assert volume.attachments[0]['server_id'] == server_id
    conn.block_storage.delete_attachment(attachment, volume)
    assert conn.block_storage.get_volume(volume.id).status == 'available'
    # Beyond the highest microversion: 406 as Cinder answers.
    with pytest.raises(openstack.exceptions.HttpException) as err:
        response = conn.block_storage.get('/volumes', microversion='3.999')
        openstack.exceptions.raise_from_response(response)
    assert err.value.status_code == 406


def test_snapshot_boot_and_reattach(request, cinder, conn, unique_name):
    """The whole ``boot_from_snapshot`` path VMR takes after a host dies."""
    cleanup = h.Cleanup(request)
    net = h.network(conn)
    ext = h.external_network(conn)
    original = h.boot_server(conn, cleanup, unique_name + '-orig')
    data = conn.block_storage.create_volume(size=1, name=unique_name)
    cleanup.add(conn.block_storage.delete_volume, data.id)
    conn.block_storage.wait_for_status(data, 'available', interval=0.1,
                                       wait=60)
    conn.compute.create_volume_attachment(original, volume_id=data.id)
    data = conn.block_storage.wait_for_status(data, 'in-use', interval=0.1,
                                              wait=60)
    assert data.attachments[0]['server_id'] == original.id
    port = next(conn.network.ports(device_id=original.id))
    fip = conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
    cleanup.add(conn.network.delete_ip, fip.id)

    # Two snapshots: VMR boots from the newest one.
    images = []
    for i in range(2):
        image = conn.compute.create_server_image(
            original, '%s-snap-%d' % (unique_name, i),
            metadata={'vmr_snapshot': str(i)}, wait=True, timeout=120)
        cleanup.add(conn.image.delete_image, image.id)
        images.append(image)
    found = list(conn.image.images(instance_uuid=original.id,
                                   sort='created_at:desc'))
    assert [i.id for i in found] == [images[1].id, images[0].id]
    # image_type is no Image attribute of openstacksdk: it is not sent as
    # a filter, so VMR reads it from the properties.
    assert {i.properties.get('image_type') for i in found} == {'snapshot'}
    newest = conn.image.get_image(found[0].id)
    assert newest.status == 'active'
    assert newest.properties['image_type'] == 'snapshot'
    assert newest.properties['vmr_snapshot'] == '1'
    assert newest.instance_uuid == original.id

    # The replacement, then the volume and the floating IP move over.
    replacement = h.boot_server(conn, cleanup, unique_name + '-new',
                                image=newest.id)
    assert replacement.image.id == newest.id
    conn.compute.delete_volume_attachment(original, data.id)
    conn.block_storage.wait_for_status(data, 'available', interval=0.1,
                                       wait=60)
    conn.compute.create_volume_attachment(replacement, volume_id=data.id)
    data = conn.block_storage.wait_for_status(data, 'in-use', interval=0.1,
                                              wait=60)
    assert [a['server_id'] for a in data.attachments] == [replacement.id]
    new_port = next(conn.network.ports(device_id=replacement.id))
    fip = conn.network.update_ip(fip, port_id=new_port.id)
    addresses = conn.compute.get_server(replacement.id).addresses[net.name]
    assert fip.floating_ip_address in [a['addr'] for a in addresses]


def test_volume_in_use_cannot_attach_twice(request, cinder, conn,
                                           unique_name):
    cleanup = h.Cleanup(request)
    first = h.boot_server(conn, cleanup, unique_name + '-1')
    second = h.boot_server(conn, cleanup, unique_name + '-2')
    volume = conn.block_storage.create_volume(size=1, name=unique_name)
    cleanup.add(conn.block_storage.delete_volume, volume.id)
    conn.block_storage.wait_for_status(volume, 'available', interval=0.1,
                                       wait=60)
    conn.compute.create_volume_attachment(first, volume_id=volume.id)
    with pytest.raises(openstack.exceptions.BadRequestException) as err:
        conn.compute.create_volume_attachment(second, volume_id=volume.id)
    # Nova refuses from its own block device mappings, before Cinder
    assert 'Invalid volume: volume %s is already attached to instances: %s' \
        % (volume.id, first.id) in err.value.details
    # Deleting the server frees the volume (it is not deleted with it).
    h.delete_server(conn, first.id)
    volume = conn.block_storage.get_volume(volume.id)
    assert volume.status == 'available' and volume.attachments == []


def test_bootable_volume_from_image(request, cinder, conn, unique_name):
    cleanup = h.Cleanup(request)
    image_id = h.image_id(conn)
    volume = conn.block_storage.create_volume(size=1, name=unique_name,
                                              image_id=image_id)
    cleanup.add(conn.block_storage.delete_volume, volume.id)
    volume = conn.block_storage.wait_for_status(volume, 'available',
                                                interval=0.1, wait=60)
    assert volume.is_bootable is True
    assert volume.volume_image_metadata['image_id'] == image_id


@lab_only('saves and restores the lab Glance and Cinder state')
def test_state_snapshot_round_trip(lab, conn, unique_name):
    volume = conn.block_storage.create_volume(size=1, name=unique_name)
    image = conn.image.create_image(unique_name, disk_format='raw',
                                    container_format='bare')
    glance = json.loads(json.dumps(lab.glance.snapshot()))
    cinder = json.loads(json.dumps(lab.cinder.snapshot()))
    conn.block_storage.wait_for_status(volume, 'available', interval=0.1,
                                       wait=60)
    conn.block_storage.delete_volume(volume)
    conn.image.delete_image(image)
    lab.glance.restore(glance)
    lab.cinder.restore(cinder)
    assert conn.image.get_image(image.id).name == unique_name
    conn.block_storage.wait_for_status(volume, 'available', interval=0.1,
                                       wait=60)


def test_image_error_bodies(conn):
    """Malformed requests: the status codes and bodies of Glance.

    Glance's errors are webob's: JSON only when the client accepts
    ``application/json``, HTML for ``*/*`` (and plain text for openstacksdk's
    empty Accept).
    """
    # Bodies openstacksdk would never build, sent through its own session.
    as_json = {'Accept': 'application/json'}
    response = conn.image.post('/images', json={'min_disk': 'three'},
                               headers=as_json)
    assert response.status_code == 400
    assert response.json()['message'].startswith(
        "Provided object does not match schema 'image': 'three' is not of "
        "type 'integer'")
    assert response.json()['code'] == '400 Bad Request'
    response = conn.image.post('/images', json={'min_disk': 'three'},
                               headers={'Accept': '*/*'})
    assert response.status_code == 400
    assert response.headers['Content-Type'].startswith('text/html')
    assert "is not of type &#x27;integer&#x27;" in response.text
    missing = '00000000-0000-0000-0000-00000000000f'
    response = conn.image.get('/images/' + missing, headers=as_json)
    assert response.status_code == 404
    # (Glance's JSON message keeps webob's "<br /><br />" tail.)
    assert response.json()['message'].startswith(
        'No image found with ID ' + missing)


def test_volume_error_bodies(cinder, conn):
    """Malformed requests: the status codes and bodies of Cinder."""
    response = conn.block_storage.post('/volumes', json={
        'volume': {'size': 'big'}})
    assert response.status_code == 400
    assert response.json()['badRequest']['code'] == 400
    response = conn.block_storage.post('/volumes', json={
        'volume': {'size': 1, 'metadata': 'not-a-dict'}})
    assert response.status_code == 400
    response = conn.block_storage.get(
        '/volumes/00000000-0000-0000-0000-00000000000f')
    assert response.status_code == 404
    assert 'could not be found' in response.json()['itemNotFound']['message']


def test_reader_cannot_write_images(reader_conn, unique_name):
    list(reader_conn.image.images())
    with pytest.raises(openstack.exceptions.ForbiddenException):
        reader_conn.image.create_image(unique_name, disk_format='raw',
                                       container_format='bare')


def test_reader_cannot_write_volumes(cinder, reader_conn, unique_name):
    list(reader_conn.block_storage.volumes())
    with pytest.raises(openstack.exceptions.ForbiddenException):
        reader_conn.block_storage.create_volume(size=1, name=unique_name)
