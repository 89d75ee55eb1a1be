"""rebuild in place, against the lab's Nova and Glance.

Real Nova 34 takes only an image id as rebuild's ``imageRef`` (a name gets
400 "is not a 'uuid'", FACTS.md): the action resolves names in Glance.
"""

import pytest

from tests.labfixtures import boot
from tests.support.actions import context, events, run
from vmr_coordinator.actions import base


def _snapshot(conn, server, name):
    image = conn.compute.create_server_image(server, name)
    return conn.image.wait_for_status(conn.image.get_image(image), 'active',
                                      interval=0.05, wait=30)


def test_rebuild_resolves_an_image_name(lab, conn):
    server = boot(conn, 'kiosk-1', 'compute-1')
    golden = _snapshot(conn, server, 'kiosk-golden')

    action, result = run('rebuild', {'image': 'kiosk-golden'},
                         context(conn, server, 'compute-1'))
    assert action.needs_fence is False
    assert result.startswith('rebuild from kiosk-golden (%s): ACTIVE'
                             % golden.id)
    [sent] = events(lab, 'rebuild')
    assert (sent['image'], sent['preserve_ephemeral']) == (golden.id, False)
    assert conn.compute.get_server(server.id).image.id == golden.id


def test_preserve_ephemeral_is_passed_and_fails_on_libvirt_like_nova(
        lab, conn):
    # preserve_ephemeral goes to Nova as given; Nova's default rebuild
    # (libvirt, the fake driver: real Nova 34 on the real tier) cannot keep
    # the ephemeral disk and puts the server in ERROR -- only Ironic can.
    server = boot(conn, 'kiosk-1', 'compute-1')
    golden = _snapshot(conn, server, 'kiosk-golden')
    with pytest.raises(base.ActionError) as err:
        run('rebuild', {'image': 'kiosk-golden', 'preserve_ephemeral': True},
            context(conn, server, 'compute-1'))
    assert 'went to ERROR' in str(err.value)
    [sent] = events(lab, 'rebuild')
    assert (sent['image'], sent['preserve_ephemeral']) == (golden.id, True)
    assert conn.compute.get_server(server.id).fault['message'] == (
        'The current driver does not support preserving ephemeral '
        'partitions.')


def test_rebuild_by_id_and_by_default_image(lab, conn):
    server = boot(conn, 'kiosk-1', 'compute-1')
    image_id = conn.compute.get_server(server.id).image.id
    run('rebuild', {'image': image_id}, context(conn, server, 'compute-1'))
    run('rebuild', {}, context(conn, server, 'compute-1'))
    assert [(e['image'], e['preserve_ephemeral'])
            for e in events(lab, 'rebuild')] == [(image_id, False)] * 2


def test_rebuild_with_an_unknown_image_name_says_so(lab, conn):
    server = boot(conn, 'kiosk-1', 'compute-1')
    with pytest.raises(base.ActionError) as err:
        run('rebuild', {'image': 'no-such-golden'},
            context(conn, server, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert "no image named (or with id) 'no-such-golden'" in str(err.value)
    assert 'params.image' in str(err.value)
    assert events(lab, 'rebuild') == []


def test_rebuild_with_an_ambiguous_image_name_lists_the_ids(lab, conn):
    server = boot(conn, 'kiosk-1', 'compute-1')
    first = _snapshot(conn, server, 'kiosk-golden')
    second = _snapshot(conn, server, 'kiosk-golden')
    with pytest.raises(base.ActionError) as err:
        run('rebuild', {'image': 'kiosk-golden'},
            context(conn, server, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    text = str(err.value)
    assert "2 active images are named 'kiosk-golden'" in text
    assert first.id in text and second.id in text
    assert events(lab, 'rebuild') == []
