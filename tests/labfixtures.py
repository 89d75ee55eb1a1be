"""Factories of the ``lab``/``conn`` fixtures, and helpers that use them.

A test module or conftest makes its fixtures with::

    lab = lab_fixture(hosts=2, delays=DELAYS)
    conn = conn_fixture()

``lab`` is a started :class:`vmr_lab.cloud.LabCloud` (no servers), stopped
after the test even on failure; ``conn`` an admin openstacksdk Connection to
it through the clouds.yaml written at ``<tmp_path>/clouds.yaml``.  Both are
function-scoped.  vmr_lab and openstacksdk are imported when a fixture runs,
so a module may still ``pytest.importorskip`` them first.
"""

import pytest


def lab_fixture(hosts, delays, state_dir='lab-state', doc=None, skip=None):
    """A ``lab`` fixture: a LabCloud with ``hosts`` hosts and ``delays``.

    With ``skip`` (a reason) every test that needs it is skipped instead.
    """
    def lab(tmp_path):
        if skip:
            pytest.skip(skip)
        from vmr_lab.cloud import LabCloud
        cloud = LabCloud(hosts=hosts, servers=0, service_down_time=2.0,
                         report_interval=0.25, delays=delays,
                         state_dir=str(tmp_path / state_dir))
        cloud.start()
        try:
            yield cloud
        finally:
            cloud.stop()
    lab.__doc__ = doc or ('A started lab cloud with %d hosts; stopped after '
                          'the test.' % hosts)
    return pytest.fixture(lab)


def conn_fixture(compute_api_version=None, doc=None, cloud='vmr-lab',
                 name='conn'):
    """A ``conn`` fixture; compute pinned to ``compute_api_version`` if set.

    ``cloud`` names the lab cloud: ``vmr-lab`` (admin), ``vmr-lab-member``
    or ``vmr-lab-reader``; ``name`` is the fixture's name (``member_conn =
    conn_fixture(cloud='vmr-lab-member', name='member_conn')``).
    """
    def conn(lab, tmp_path):
        import openstack.config
        import openstack.connection
        path = lab.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
        config = openstack.config.OpenStackConfig(config_files=[path])
        kwargs = {}
        if compute_api_version:
            kwargs['compute_api_version'] = compute_api_version
        connection = openstack.connection.Connection(
            config=config.get_one(cloud, **kwargs))
        yield connection
        connection.close()
    conn.__doc__ = doc or 'openstacksdk Connection to the lab as %s.' % cloud
    return pytest.fixture(conn, name=name)


def boot(conn, name, host, metadata=None, network='private', image=None,
         flavor=None, **server_args):
    """Boot ``name`` on ``host`` (admin ``zone:host``); wait ACTIVE.

    ``image`` and ``flavor`` default to the first active image and the
    smallest flavor; ``server_args`` go to ``create_server`` as they are
    (``scheduler_hints``, ``tags``...).
    """
    net = conn.network.find_network(network)
    image = image or next(conn.image.images(status='active'))
    flavor = flavor or sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
    server = conn.compute.create_server(
        name=name, image_id=image.id, flavor_id=flavor.id,
        networks=[{'uuid': net.id}], metadata=metadata or {},
        availability_zone='nova:%s' % host, **server_args)
    server = conn.compute.wait_for_server(server, interval=0.05, wait=30)
    assert server.compute_host == host
    return server


def port_of(conn, server):
    """The (first) port of ``server``."""
    return next(conn.network.ports(device_id=server.id))
