"""VMR's only door to OpenStack: an openstacksdk Connection from clouds.yaml.

Microversions are pinned where behaviour depends on them (DESIGN §7): at
compute 2.95 an evacuated server ends SHUTOFF and the evacuate action starts
it.  Credentials stay in clouds.yaml; nothing here logs them.
"""

import logging
import os
import time

import openstack
from openstack.config import loader

from vmr_common import exceptions
from vmr_coordinator.contracts import ServerFacts

LOG = logging.getLogger(__name__)


class CloudError(exceptions.VmrError):
    """OpenStack could not be reached or refused; the message says which."""


#: connections requests keeps per host by default (urllib3's pool size)
DEFAULT_POOL_SIZE = 10


def connect(conf, pool_size=None):
    """An openstacksdk Connection for ``[cloud] cloud``.

    ``pool_size``: HTTP connections kept per endpoint.  The recovery
    engine's workers share one Connection; with more workers than the
    default 10, urllib3 opened and threw away a connection per request
    ("Connection pool is full, discarding connection").
    """
    files = [conf.cloud.clouds_yaml] if conf.cloud.clouds_yaml else None
    if files and not os.access(files[0], os.R_OK):
        raise CloudError('cannot read [cloud] clouds_yaml %s: it does not '
                         'exist or this user may not read it; fix the path '
                         'or its mode' % files[0])
    try:
        # With clouds_yaml set, that file is the only source: openstacksdk
        # would otherwise put $OS_CLIENT_CONFIG_FILE before it and read
        # OS_* variables of whatever shell or unit started us.
        config = loader.OpenStackConfig(config_files=files,
                                        load_envvars=not files)
        # The microversion goes into the region's config: Connection()
        # ignores compute_api_version once it is given a config.
        region = config.get_one(
            cloud=conf.cloud.cloud,
            compute_api_version=conf.cloud.compute_microversion)
    except Exception as exc:  # openstacksdk raises several config errors
        raise CloudError('cannot load cloud %r from %s: %s; check [cloud] '
                         'cloud and clouds_yaml' % (
                             conf.cloud.cloud, files or 'clouds.yaml',
                             str(exc).splitlines()[0]))
    conn = openstack.connection.Connection(config=region)
    if pool_size and pool_size > DEFAULT_POOL_SIZE:
        size_pool(conn, pool_size)
    return conn


def size_pool(conn, size):
    """Keep up to ``size`` HTTP connections per endpoint in ``conn``."""
    from keystoneauth1 import session as ks_session
    requests_session = conn.session.session
    for scheme in ('https://', 'http://'):
        old = requests_session.get_adapter(scheme)
        # keystoneauth's adapter (TCP keep-alive, no Nagle), with its TLS
        # settings, only wider
        requests_session.mount(scheme, ks_session.TCPKeepAliveAdapter(
            pool_connections=size, pool_maxsize=size,
            tls_ciphers=getattr(old, 'tls_ciphers', None),
            tls_min_version=getattr(old, 'tls_min_version', None)))


def server_facts(server, aggregates=(), group=None, image=None,
                 flavor_ids=None):
    """The :class:`ServerFacts` contracts are matched against.

    ``group`` is the server's server group (see :func:`server_groups`), if
    any: its name and id both count for ``selector.server_group``. ``image``
    is its Glance image, when known: its name, tags and owner project serve
    the service-VM rules (:class:`ServiceVmPolicy`). ``flavor_ids`` maps flavor names to ids
    (:func:`flavor_ids`): from microversion 2.47 on a server shows its
    flavor's name only.
    """
    flavor_name, flavor_id = _flavor_of(server, flavor_ids or {})
    image_id = server.image.id if server.image else None
    return ServerFacts(
        id=server.id, name=server.name or '',
        project_id=server.project_id or '',
        metadata=dict(server.metadata or {}),
        host=server.compute_host, status=server.status or '',
        availability_zone=server.availability_zone,
        server_groups=frozenset(n for n in (
            getattr(group, 'id', None), getattr(group, 'name', None)) if n),
        aggregates=frozenset(aggregates),
        tags=frozenset(server.tags or ()),
        flavor_id=flavor_id, flavor_name=flavor_name,
        image_id=image_id or None,
        image_name=getattr(image, 'name', None),
        image_tags=frozenset(getattr(image, 'tags', None) or ()),
        image_owner=getattr(image, 'owner_id', None) or getattr(
            image, 'owner', None))


def _flavor_of(server, flavor_ids):
    """(name, id) of the server's flavor, None where unknown."""
    flavor = server.flavor
    if not flavor:
        return None, None
    # From 2.47 on Nova embeds the flavor with its name only, and
    # openstacksdk then reports that name as the flavor's id too.
    name = getattr(flavor, 'original_name', None)
    if name:
        return name, flavor_ids.get(name)
    names = {fid: fname for fname, fid in flavor_ids.items()}
    return names.get(flavor.id), flavor.id


def describe_servers(conn, servers, groups=None):
    """:class:`ServerFacts` of ``servers``, with everything selectors look
    at beyond the server itself (aggregates, server groups, flavor ids,
    images), each listed or fetched once. Used by recoveries, plans and
    contract dry runs alike; ``groups`` is :func:`server_groups` when the
    caller has it already."""
    servers = list(servers)
    if not servers:
        return []
    by_host = aggregates_by_host(conn)
    if groups is None:
        groups = server_groups(conn)
    flavors = flavor_ids(conn)
    images = {}
    for server in servers:
        image_id = server.image.id if server.image else None
        if image_id and image_id not in images:
            images[image_id] = image_of(conn, image_id)
    return [server_facts(s, by_host.get(s.compute_host, ()),
                         groups.get(s.id),
                         images.get(s.image.id if s.image else None),
                         flavors) for s in servers]


def flavor_ids(conn):
    """flavor name -> id, public and private ({} when they cannot be
    listed)."""
    try:
        return {f.name: f.id for f in conn.compute.flavors(is_public=None)}
    except openstack.exceptions.SDKException as exc:
        LOG.debug('flavors unavailable: %s', exc)
        return {}


def image_of(conn, image_id):
    """The Glance image ``image_id``, or None when it is gone or Glance
    cannot be reached (the server's facts then say nothing of it)."""
    try:
        return conn.image.get_image(image_id)
    except openstack.exceptions.SDKException as exc:
        LOG.debug('image %s unavailable: %s', image_id, exc)
        return None


def aggregates_by_host(conn):
    """host -> names of its aggregates ({} when they cannot be listed)."""
    by_host = {}
    try:
        for aggregate in conn.compute.aggregates():
            for host in aggregate.hosts or ():
                by_host.setdefault(host, []).append(aggregate.name)
    except openstack.exceptions.SDKException as exc:
        LOG.debug('aggregates unavailable: %s', exc)
    return by_host


def server_groups(conn):
    """server id -> its server group, all projects ({} when they cannot be
    listed)."""
    groups = {}
    try:
        for group in conn.compute.server_groups(all_projects=True):
            for member in group.member_ids or ():
                groups[member] = group
    except openstack.exceptions.SDKException as exc:
        LOG.debug('server groups unavailable: %s', exc)
    return groups


def warm_up(conn, renew_within):
    """Make ``conn`` ready for a heal: a token that does not expire within
    ``renew_within`` seconds (renewed now rather than by the first call of
    a heal), and the compute and image endpoints discovered, each with one
    small read.  On the real tier the first calls of a fresh connection
    (a token, two version documents, the proxies loaded) cost as much as
    the fence's own.  Returns the seconds the token had left when it was
    renewed, or None."""
    auth, session = conn.session.auth, conn.session
    renewed = None
    access = auth.get_access(session)
    if access.will_expire_soon(renew_within):
        expires = access.expires
        renewed = max(0, int(expires.timestamp() - time.time())) \
            if expires else 0
        auth.invalidate()
        auth.get_access(session)
    list(conn.compute.services(binary='nova-compute'))
    next(iter(conn.image.images(limit=1)), None)
    return renewed


def servers_on_host(conn, host):
    """Every server Nova places on ``host`` (all projects)."""
    servers = list(conn.compute.servers(details=True, all_projects=True,
                                        compute_host=host))
    # Some clouds ignore the host filter for non-admin users: filter again.
    return [s for s in servers if s.compute_host == host]


# -- maintenance: keep new servers off a host being drained -------------------

#: disabled_reason prefix of a compute service VMR disabled for maintenance
MAINTENANCE_REASON = 'vmr: maintenance'


def compute_service(conn, host):
    """The nova-compute service of ``host``; CloudError when Nova has none."""
    found = [s for s in conn.compute.services(host=host, binary='nova-compute')
             if s.host == host]
    if not found:
        raise CloudError('Nova has no nova-compute service on host %s' % host)
    return found[0]


def disable_for_maintenance(conn, host, reason=''):
    """Disable ``host``'s nova-compute so the scheduler sends nothing new
    there while it is drained. Returns ``(disabled_by_vmr, sentence)``: an
    already disabled service (an operator's reason) is left as it is."""
    svc = compute_service(conn, host)
    label = 'nova-compute@%s' % host
    if svc.status == 'disabled':
        return False, '%s already disabled (%s): left as it is' % (
            label, svc.disabled_reason or 'no reason')
    why = ('%s %s' % (MAINTENANCE_REASON, reason)).strip()[:255]
    conn.compute.disable_service(svc, svc.host, svc.binary,
                                 disabled_reason=why)
    return True, "%s disabled ('%s')" % (label, why)


def enable_after_maintenance(conn, host):
    """Enable ``host``'s nova-compute again if VMR's maintenance disabled
    it. Returns ``(done, sentence)``; not done while the service is down
    (enabling a down service leaves COMPUTE_STATUS_DISABLED stuck)."""
    svc = compute_service(conn, host)
    label = 'nova-compute@%s' % host
    if svc.status != 'disabled':
        return True, '%s already enabled' % label
    if not (svc.disabled_reason or '').startswith(MAINTENANCE_REASON):
        return True, "%s left disabled (not by VMR's maintenance: %s)" % (
            label, svc.disabled_reason or 'no reason')
    if svc.state != 'up':
        return False, '%s not enabled yet: Nova reports it %s' % (
            label, svc.state)
    conn.compute.enable_service(svc, svc.host, svc.binary)
    return True, '%s enabled' % label


def keep_reserved(conn, host, reason):
    """Keep an idle reserved host's nova-compute disabled with ``reason``
    (``vmr: reserved``) so the scheduler puts nothing there.  Returns
    ``(changed, sentence)``; a service an operator disabled for another
    reason is left as it is."""
    svc = compute_service(conn, host)
    label = 'nova-compute@%s' % host
    if svc.status == 'disabled':
        return False, '%s disabled already (%s)' % (
            label, svc.disabled_reason or 'no reason')
    conn.compute.disable_service(svc, svc.host, svc.binary,
                                 disabled_reason=reason)
    return True, "%s disabled ('%s')" % (label, reason)


def enable_reserved(conn, host):
    """Enable a reserved host's nova-compute to take a failed host's
    servers.  Returns ``(enabled, sentence)``; False when Nova reports the
    service down (evacuating onto it would fail)."""
    svc = compute_service(conn, host)
    label = 'nova-compute@%s' % host
    if svc.state != 'up':
        return False, '%s not enabled: Nova reports it %s' % (label,
                                                               svc.state)
    if svc.status == 'enabled':
        return True, '%s enabled already' % label
    # read first: openstacksdk updates ``svc`` from Nova's answer
    was = svc.disabled_reason or 'no reason'
    conn.compute.enable_service(svc, svc.host, svc.binary)
    return True, '%s enabled (was disabled: %s)' % (label, was)


# -- capacity and planning data (vmr plan, vmr capacity) ---------------------

#: the last compute microversion whose os-hypervisors still has usage fields
HYPERVISOR_USAGE_MICROVERSION = '2.87'


def compute_services(conn):
    """nova-compute services as :class:`planning.ComputeService` records."""
    from vmr_coordinator import planning
    return [planning.ComputeService(
        host=s.host, enabled=s.status == 'enabled', up=s.state == 'up',
        forced_down=bool(s.is_forced_down), zone=s.availability_zone,
        disabled_reason=s.disabled_reason)
        for s in conn.compute.services(binary='nova-compute')]


def aggregates(conn):
    """Host aggregates as :class:`planning.Aggregate` records."""
    from vmr_coordinator import planning
    return [planning.Aggregate(name=a.name, hosts=a.hosts or (),
                               availability_zone=a.availability_zone)
            for a in conn.compute.aggregates()]


def hypervisor_capacity(conn):
    """Room and usage of every hypervisor (:class:`planning.HostCapacity`).

    Nova >= 2.88 dropped the usage fields from os-hypervisors (DESIGN §7):
    Placement is the source when the catalog has it; otherwise the
    hypervisor fields are read at 2.87 (no allocation ratios then: the
    numbers are physical).
    """
    from openstack.compute.v2 import hypervisor as hypervisor_mod
    details = list(hypervisor_mod.Hypervisor.list(
        conn.compute, base_path='/os-hypervisors/detail',
        microversion=HYPERVISOR_USAGE_MICROVERSION))
    if conn.has_service('placement'):
        return _placement_capacity(conn, details)
    from vmr_coordinator import planning
    return [planning.HostCapacity(
        name=_service_host(h), vcpus=h.vcpus, ram_mb=h.memory_size,
        disk_gb=h.local_disk_size, vcpus_used=h.vcpus_used,
        ram_mb_used=h.memory_used, disk_gb_used=h.local_disk_used,
        source='os-hypervisors %s' % HYPERVISOR_USAGE_MICROVERSION)
        for h in details]


def _service_host(hypervisor):
    # Servers and services name the compute host; a hypervisor's own name
    # may be its FQDN node name.
    service = hypervisor.service_details or {}
    return service.get('host') or hypervisor.name


_PLACEMENT_CLASSES = {'VCPU': 'vcpus', 'MEMORY_MB': 'ram_mb', 'DISK_GB': 'disk_gb'}


def _placement_capacity(conn, hypervisors):
    from vmr_coordinator import planning
    host_of = {h.name: _service_host(h) for h in hypervisors}
    out = []
    for provider in conn.placement.resource_providers():
        if provider.name not in host_of:
            continue  # nested or sharing providers: not compute nodes
        fields = {}
        for inv in conn.placement.resource_provider_inventories(provider):
            name = _PLACEMENT_CLASSES.get(inv.resource_class)
            if name:
                fields[name] = (inv.total - (inv.reserved or 0)) * float(
                    inv.allocation_ratio or 1.0)
        usages = conn.placement.fetch_resource_provider_usages(provider).usages or {}
        for rc, name in _PLACEMENT_CLASSES.items():
            fields[name + '_used'] = usages.get(rc, 0)
        out.append(planning.HostCapacity(name=host_of[provider.name],
                                         source='placement', **fields))
    return out


def server_loads(conn):
    """Every server with its flavor's size and server group
    (:class:`planning.ServerLoad`), for plans."""
    servers = list(conn.compute.servers(details=True, all_projects=True))
    groups = server_groups(conn)
    return [server_load(server, group=groups.get(server.id), facts=facts)
            for server, facts in zip(servers, describe_servers(
                conn, servers, groups), strict=True)]


def server_load(server, aggregates=(), group=None, facts=None):
    """One server as a :class:`planning.ServerLoad` (its flavor's size)."""
    from vmr_coordinator import planning
    if facts is None:
        facts = server_facts(server, aggregates, group)
    flavor = server.flavor
    ephemeral = (flavor.ephemeral or 0) + (flavor.swap or 0) / 1024.0
    # A server booted from a volume takes no local root disk.
    root = (flavor.disk or 0) if server.image and server.image.id else 0
    return planning.ServerLoad(
        facts=facts, vcpus=flavor.vcpus or 0, ram_mb=flavor.ram or 0,
        disk_gb=root + ephemeral, group=group.id if group else None,
        group_policy=getattr(group, 'policy', None) if group else None,
        pinned_zone=getattr(server, 'pinned_availability_zone', None))


def host_view(conn):
    """Every compute host's room and state (:func:`planning.host_view`)."""
    from vmr_coordinator import planning
    return planning.host_view(hypervisor_capacity(conn),
                              compute_services(conn), aggregates(conn))
