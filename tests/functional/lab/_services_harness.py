"""Helpers shared by the Neutron, Octavia, Glance/Cinder and Mistral tests.

Everything goes through openstacksdk, so the same tests run against the lab
(the ``lab``/``conn`` fixtures of ``conftest.py``) and against a real cloud
named by ``VMR_TEST_CLOUD``.  On a real cloud these variables pick what the
tests use (defaults: the lab's seeded names):

``VMR_TEST_NETWORK``           tenant network with a subnet routed to ...
                               (``none``: boot with ``networks='none'``,
                               for a cloud without Neutron)
``VMR_TEST_EXTERNAL_NETWORK``  ... this external network (floating IPs)
``VMR_TEST_IMAGE``             image to boot (default: first active image)
``VMR_TEST_FLAVOR``            flavor to boot (default: the smallest)
"""

import os
import time

import openstack.exceptions
import pytest

REAL_CLOUD = os.environ.get('VMR_TEST_CLOUD')
NETWORK = os.environ.get('VMR_TEST_NETWORK', 'private')
EXTERNAL_NETWORK = os.environ.get('VMR_TEST_EXTERNAL_NETWORK', 'public')


def lab_or_none(request):
    """The lab fixture's cloud, or None on a real cloud (no skip)."""
    if REAL_CLOUD:
        return None
    return request.getfixturevalue('lab')


class Cleanup:
    """Undo what a test created, newest first, even when the test failed."""

    def __init__(self, request):
        self._calls = []
        request.addfinalizer(self.run)

    def add(self, func, *args, **kwargs):
        self._calls.append((func, args, kwargs))

    def run(self):
        # A step may fail because a later one has not run yet (a volume
        # still attached to a server created before it): retry those after
        # the others, a few rounds, then report what is left.
        failed = []
        for _ in range(5):
            failed = []
            while self._calls:
                func, args, kwargs = self._calls.pop()
                try:
                    func(*args, **kwargs)
                except openstack.exceptions.NotFoundException:
                    pass
                except openstack.exceptions.SDKException as exc:
                    failed.append((func, args, kwargs, exc))
            if not failed:
                return
            self._calls = [call[:3] for call in reversed(failed)]
            time.sleep(0.5)
        raise AssertionError('cleanup left resources behind: %s'
                             % [str(call[3]) for call in failed])


#: The project behind each service type, for skip reasons.
PROJECTS = {'network': 'Neutron', 'load-balancer': 'Octavia',
            'block-storage': 'Cinder', 'workflow': 'Mistral',
            'image': 'Glance', 'compute': 'Nova'}


def require_service(conn, service_type):
    """Skip when a real cloud has no ``service_type`` in its catalog.

    The real tier always runs Keystone, Placement, Nova, Glance and
    Neutron; Cinder, Octavia, Mistral and Aodh only when a test session
    asks for them: without them their tests skip with this reason.
    """
    if REAL_CLOUD and not conn.has_service(service_type):
        pytest.skip('%s is not on cloud %s (no %s service in its catalog)'
                    % (PROJECTS.get(service_type, service_type), REAL_CLOUD,
                       service_type))


def no_network():
    """True when the tests boot without a network (VMR_TEST_NETWORK=none)."""
    return NETWORK == 'none'


def network(conn, name=NETWORK):
    require_service(conn, 'network')
    net = conn.network.find_network(name)
    if net is None:
        pytest.skip('network %r not found (set VMR_TEST_NETWORK)' % name)
    return net


def external_network(conn):
    require_service(conn, 'network')
    net = conn.network.find_network(EXTERNAL_NETWORK)
    if net is None:
        pytest.skip('external network %r not found (set '
                    'VMR_TEST_EXTERNAL_NETWORK)' % EXTERNAL_NETWORK)
    return net


def image_id(conn):
    wanted = os.environ.get('VMR_TEST_IMAGE')
    if wanted:
        return conn.image.find_image(wanted, ignore_missing=False).id
    for image in conn.image.images(status='active'):
        return image.id
    pytest.skip('no active image to boot')


def flavor_id(conn):
    wanted = os.environ.get('VMR_TEST_FLAVOR')
    if wanted:
        return conn.compute.find_flavor(wanted, ignore_missing=False).id
    flavors = sorted(conn.compute.flavors(), key=lambda f: (f.ram, f.vcpus))
    if not flavors:
        pytest.skip('no flavor to boot')
    return flavors[0].id


def boot_server(conn, cleanup, name, port_id=None, image=None):
    """Boot ``name`` on the test network (or on ``port_id``), wait ACTIVE.

    With ``VMR_TEST_NETWORK=none`` (and no port) the server boots with
    ``networks='none'``: a cloud without Neutron.
    """
    if port_id:
        networks = [{'port': port_id}]
    elif no_network():
        networks = 'none'
    else:
        networks = [{'uuid': network(conn).id}]
    server = conn.compute.create_server(
        name=name, image_id=image or image_id(conn),
        flavor_id=flavor_id(conn), networks=networks)
    cleanup.add(delete_server, conn, server.id)
    return conn.compute.wait_for_server(server, interval=0.1, wait=120)


def delete_server(conn, server_id):
    server = conn.compute.get_server(server_id)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.1, wait=120)


def wait_lb(conn, lb_id):
    return conn.load_balancer.wait_for_load_balancer(lb_id, interval=0.1,
                                                     wait=300)
