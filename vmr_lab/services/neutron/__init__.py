"""Neutron v2.0 simulator: networks, subnets, ports, floating IPs, routers,
security groups and their rules.

Enough of the real API for openstacksdk's ``conn.network`` proxy and for VMR's
``fip_failover`` action: ports with ``allowed_address_pairs``, fixed IP
allocation from a subnet's pools, floating IPs that associate, disassociate and
re-associate directly to another port, the real ``NeutronError`` bodies and
the real status codes (404 ``PortNotFound``, 409 ``IpAddressInUse``,
409 ``FloatingIPPortAlreadyAssociated``, 409 ``SecurityGroupRuleExists``, ...).
Each project gets its ``default`` security group on first use, with the four
rules Neutron gives it; other groups start with the two egress rules.

Every address here is data inside the simulator: nothing ever binds to the
seeded ``10.0.0.0/24`` and ``172.24.4.0/24`` networks.

Nova reaches this service through plain Python hooks
(:meth:`NeutronAPI.create_server_port`, :meth:`NeutronAPI.server_addresses`,
:meth:`NeutronAPI.on_server_deleted`, :meth:`NeutronAPI.on_server_moved`).

One module per part of the API: ``attributes`` (errors and the attribute
map), ``resources`` (the generic handlers), ``networks`` (networks,
subnets, IP allocation), ``ports``, ``security_groups``, ``routers``
(routers and floating IPs), ``hooks`` (the calls of other lab services)
and ``api`` (:class:`NeutronAPI`, which puts them together).
"""

from vmr_lab.services.neutron.api import API_VERSION, EXTENSIONS, NeutronAPI  # noqa: F401 - the API
from vmr_lab.services.neutron.attributes import ATTRIBUTES, CREATE_ONLY, READ_ONLY, NeutronFault  # noqa: F401
from vmr_lab.services.neutron.security_groups import SG_PROTOCOLS  # noqa: F401
