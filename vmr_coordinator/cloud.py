"""VMR's only door to OpenStack: an openstacksdk Connection from clouds.yaml.

Microversions are pinned where behaviour depends on them (DESIGN §7): at
compute 2.95 an evacuated server ends SHUTOFF and the evacuate action starts
it.  Credentials stay in clouds.yaml; nothing here logs them.
"""

import logging

import openstack
from openstack.config import loader

from vmr_common import exceptions
from vmr_coordinator.contracts import ServerFacts

LOG = logging.getLogger(__name__)


class CloudError(exceptions.VmrError):
    """OpenStack could not be reached or refused; the message says which."""


def connect(conf):
    """An openstacksdk Connection for ``[cloud] cloud``."""
    files = [conf.cloud.clouds_yaml] if conf.cloud.clouds_yaml else None
    try:
        config = loader.OpenStackConfig(config_files=files)
        region = config.get_one(cloud=conf.cloud.cloud)
    except Exception as exc:  # openstacksdk raises several config errors
        raise CloudError('cannot load cloud %r from %s: %s; check [cloud] '
                         'cloud and clouds_yaml' % (
                             conf.cloud.cloud, files or 'clouds.yaml',
                             str(exc).splitlines()[0]))
    return openstack.connection.Connection(
        config=region, compute_api_version=conf.cloud.compute_microversion)


def server_facts(server, aggregates=()):
    """The :class:`ServerFacts` contracts are matched against."""
    return ServerFacts(
        id=server.id, name=server.name or '',
        project_id=server.project_id or '',
        metadata=dict(server.metadata or {}),
        host=server.compute_host, status=server.status or '',
        availability_zone=server.availability_zone,
        aggregates=frozenset(aggregates))


def servers_on_host(conn, host):
    """Every server Nova places on ``host`` (all projects)."""
    servers = list(conn.compute.servers(details=True, all_projects=True,
                                        compute_host=host))
    # Some clouds ignore the host filter for non-admin users: filter again.
    return [s for s in servers if s.compute_host == host]


def host_aggregates(conn, host):
    try:
        return [a.name for a in conn.compute.aggregates()
                if host in (a.hosts or [])]
    except openstack.exceptions.SDKException as exc:
        LOG.debug('aggregates unavailable: %s', exc)
        return []
