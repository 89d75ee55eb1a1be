"""What the real tier's cloud holds once its services run: the Keystone
catalog, service users, the demo project and its users, flavors, an image,
and the lab's network topology (``private`` routed to ``public``).

All through openstacksdk as the admin that ``keystone-manage bootstrap``
made, like an operator would do it.
"""

import openstack.connection

from vmr_lab.real.config import REGION

ROLES = ('admin', 'member', 'reader', 'service')
FLAVORS = (('m1.tiny', 1, 512, 1), ('m1.small', 2, 2048, 20))
# A few KB that Glance stores as the "cirros" image; nothing boots it.
IMAGE_BYTES = b'VMR real tier fake image\n' * 160


def connect(auth_url, username, password, project, **options):
    return openstack.connection.Connection(
        auth=dict(auth_url=auth_url, username=username, password=password,
                  project_name=project, user_domain_name='Default',
                  project_domain_name='Default'),
        region_name=REGION, interface='public', identity_api_version='3',
        **options)


def _role(conn, name):
    return conn.identity.find_role(name) or conn.identity.create_role(
        name=name)


def _project(conn, name, description):
    return conn.identity.find_project(name, domain_id='default') or \
        conn.identity.create_project(name=name, domain_id='default',
                                     description=description)


def _user(conn, name, password, project, roles):
    user = conn.identity.find_user(name, domain_id='default') or \
        conn.identity.create_user(name=name, password=password,
                                  domain_id='default',
                                  default_project_id=project.id)
    for role in roles:
        conn.identity.assign_project_role_to_user(project, user, role)
    return user


def register_services(conn, services, service_password):
    """Service users (admin + service roles in project ``service``) and
    their catalog entries.  ``services`` holds (user, name, type, url).
    """
    roles = {name: _role(conn, name) for name in ROLES}
    project = _project(conn, 'service', 'OpenStack service users')
    for user, name, kind, url in services:
        _user(conn, user, service_password, project,
              (roles['admin'], roles['service']))
        service = conn.identity.find_service(name) or \
            conn.identity.create_service(name=name, type=kind)
        for interface in ('public', 'internal', 'admin'):
            conn.identity.create_endpoint(service_id=service.id,
                                          interface=interface, url=url,
                                          region_id=REGION)


def create_demo_project(conn, password):
    """Project ``demo`` with ``demo-member`` (member) and ``demo-reader``."""
    project = _project(conn, 'demo', 'VMR demo tenant')
    _user(conn, 'demo-member', password, project,
          (_role(conn, 'member'),))
    _user(conn, 'demo-reader', password, project,
          (_role(conn, 'reader'),))
    return project


def create_flavors(conn):
    for name, vcpus, ram, disk in FLAVORS:
        if conn.compute.find_flavor(name) is None:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram,
                                       disk=disk, is_public=True)


def create_image(conn, path):
    """Upload the tiny ``cirros`` image and return its UUID."""
    with open(path, 'wb') as fh:
        fh.write(IMAGE_BYTES)
    image = conn.create_image('cirros', filename=path, disk_format='raw',
                              container_format='bare', visibility='public',
                              wait=True, timeout=60)
    return image.id


#: The lab's topology (``vmr_lab.services.neutron`` seeds the same names):
#: a shared tenant network routed to an external one.  The addresses exist
#: only in Neutron's database: no agent plugs anything.
PUBLIC_CIDR = '172.24.4.0/24'
PRIVATE_CIDR = '10.0.0.0/22'


def create_networks(conn, public_physnet):
    """``public`` (external, flat), ``private`` (shared) and ``router1``.

    Returns ``{name: id}`` of the networks, subnets and router, like the
    lab's ``NeutronAPI.seeded``.
    """
    net = conn.network
    public = net.create_network(
        name='public', is_router_external=True, is_shared=False,
        provider_network_type='flat',
        provider_physical_network=public_physnet)
    public_subnet = net.create_subnet(
        network_id=public.id, name='public-subnet', cidr=PUBLIC_CIDR,
        ip_version=4, is_dhcp_enabled=False)
    private = net.create_network(name='private', is_shared=True)
    private_subnet = net.create_subnet(
        network_id=private.id, name='private-subnet', cidr=PRIVATE_CIDR,
        ip_version=4)
    router = net.create_router(
        name='router1', external_gateway_info={'network_id': public.id})
    net.add_interface_to_router(router, subnet_id=private_subnet.id)
    return {'public': public.id, 'private': private.id,
            'public_subnet': public_subnet.id,
            'private_subnet': private_subnet.id, 'router': router.id}
