"""Nova through openstacksdk: every call VMR needs, with Nova's real rules.

Runs against the lab by default; ``VMR_TEST_CLOUD=<name>`` runs the tests
that do not need lab fault injection against a real cloud (admin tests then
need an admin cloud; lab-only tests skip with a reason).
"""

import time

import openstack.config
import openstack.connection
import pytest
from openstack import exceptions

from tests.support.lab import lab_only

try:
    from . import _services_harness as h
except ImportError:  # the lab test directory is not a package
    import _services_harness as h

WAIT = dict(interval=0.05, wait=30)


# -- helpers ------------------------------------------------------------------
def _image_id(conn):
    images = [i for i in conn.image.images() if i.status == 'active']
    if not images:
        pytest.skip('no active image in this cloud')
    return images[0].id


def _flavor(conn, name=None):
    flavors = list(conn.compute.flavors())
    if name:
        return next(f for f in flavors if f.name == name)
    return min(flavors, key=lambda f: (f.ram, f.vcpus))


def boot(conn, name, host=None, flavor=None, active=True, **attrs):
    """Boot ``name`` (optionally on ``host``); wait for ACTIVE."""
    if host:
        attrs['host'] = host
    server = conn.compute.create_server(
        name=name, image_id=attrs.pop('image_id', None) or _image_id(conn),
        flavor_id=(flavor or _flavor(conn)).id, networks='none', **attrs)
    if active:
        server = wait(conn, server)
    return server


def wait(conn, server, status='ACTIVE'):
    """Wait for ``status`` from a fresh read (a stale object may match)."""
    server = conn.compute.get_server(server)
    if server.status == status and not server.task_state:
        return server
    return conn.compute.wait_for_server(server, status=status, **WAIT)


def compute_service(conn, host):
    return next(s for s in conn.compute.services(binary='nova-compute')
                if s.host == host)


def pinned(clouds_yaml, version, cloud='vmr-lab'):
    """A connection whose compute calls use microversion ``version``."""
    config = openstack.config.OpenStackConfig(config_files=[clouds_yaml])
    region = config.get_one(cloud, compute_api_version=version)
    return openstack.connection.Connection(config=region)


def fence(lab, conn, host):
    """What VMR does before an evacuation: power off, then force down."""
    lab.hosts[host].set_power('off')
    conn.compute.update_service_forced_down(compute_service(conn, host),
                                            forced=True)


# -- microversions, discovery -------------------------------------------------
def test_microversion_negotiation(conn):
    data = conn.compute.get_endpoint_data()
    assert data.min_microversion == (2, 1)
    assert data.max_microversion >= (2, 95)
    resp = conn.compute.get('/servers', microversion='2.53')
    assert resp.headers['OpenStack-API-Version'] == 'compute 2.53'
    assert resp.headers['x-openstack-request-id'].startswith('req-')


def test_unsupported_microversion_is_406(conn):
    # One above the advertised maximum (the lab: 2.96; Nova 34: 2.104).
    top = conn.compute.get_endpoint_data().max_microversion
    above = '%d.%d' % (top[0], top[1] + 1)
    resp = conn.compute.get('/servers', microversion=above)
    assert resp.status_code == 406
    assert resp.json()['computeFault']['message'] == (
        'Version %s is not supported by the API. Minimum is 2.1 and maximum '
        'is %d.%d.' % (above, top[0], top[1]))


# -- boot ---------------------------------------------------------------------
@lab_only('boots 20 servers on chosen lab hosts')
def test_boot_twenty_servers_on_chosen_hosts(lab, conn):
    hosts = sorted(lab.hosts)
    created = [boot(conn, 'many-%02d' % i, host=hosts[i % 3], active=False)
               for i in range(20)]
    for i, server in enumerate(created):
        server = wait(conn, server)
        assert server.compute_host == hosts[i % 3]
        assert server.status == 'ACTIVE'
    on_first = list(conn.compute.servers(all_projects=True,
                                            compute_host=hosts[0]))
    assert len(on_first) == 7
    assert sum(len(h.running) for h in lab.hosts.values()) == 20
    assert lab.monitor.violations() == []


def test_boot_errors(conn):
    # No cloud has a host named compute-99 (the lab, the real tier).
    with pytest.raises(exceptions.BadRequestException) as info:
        boot(conn, 'nowhere', host='compute-99')
    assert 'Compute host compute-99 could not be found' in str(info.value)
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.compute.create_server(name='x', image_id=_image_id(conn),
                                   flavor_id='no-such-flavor',
                                   networks='none')
    assert 'Flavor no-such-flavor could not be found' in str(info.value)


# -- evacuate and the section 7 rules -----------------------------------------
@lab_only('powers a host off')
def test_evacuate_refused_while_source_up_then_succeeds(lab, conn):
    server = boot(conn, 'evac', host='compute-1')
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.compute.evacuate_server(server)
    assert 'Compute service of compute-1 is still in use' in str(info.value)

    fence(lab, conn, 'compute-1')
    service = compute_service(conn, 'compute-1')
    assert service.is_forced_down and service.state == 'down'
    conn.compute.evacuate_server(server)
    # sdk negotiates 2.96: an evacuated server ends SHUTOFF (>= 2.95)
    server = wait(conn, server, 'SHUTOFF')
    assert server.compute_host in ('compute-2', 'compute-3')
    conn.compute.start_server(server)
    server = wait(conn, server)
    assert lab.nova.server_running(server.id)
    migrations = list(conn.compute.migrations(migration_type='evacuation'))
    assert [m.server_id for m in migrations] == [server.id]
    assert lab.monitor.violations() == []
    assert lab.monitor.end_scenario() == []


@lab_only('powers a host off')
def test_evacuated_status_depends_on_microversion(lab, conn, clouds_yaml):
    old = boot(conn, 'mv294', host='compute-1')
    new = boot(conn, 'mv295', host='compute-1')
    fence(lab, conn, 'compute-1')
    with pinned(clouds_yaml, '2.94') as c294, \
            pinned(clouds_yaml, '2.95') as c295:
        c294.compute.evacuate_server(old)
        c295.compute.evacuate_server(new)
    old = wait(conn, old, 'ACTIVE')
    new = wait(conn, new, 'SHUTOFF')
    assert old.compute_host != 'compute-1' != new.compute_host
    assert lab.nova.server_running(old.id)
    assert not lab.nova.server_running(new.id)


@lab_only('powers a host off')
def test_evacuate_on_shared_storage_required_below_2_14(lab, conn,
                                                        clouds_yaml):
    server = boot(conn, 'old-evacuate', host='compute-1')
    fence(lab, conn, 'compute-1')
    with pinned(clouds_yaml, '2.11') as old:
        with pytest.raises(exceptions.BadRequestException) as info:
            old.compute.evacuate_server(server)
        assert "'onSharedStorage' is a required property" in str(info.value)
        old.compute.evacuate_server(server, on_shared_storage=False)
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.compute.evacuate_server(server, on_shared_storage=False)
    assert "('onSharedStorage' was unexpected)" in str(info.value)
    # sent at 2.11: the evacuated server comes back ACTIVE (< 2.95)
    assert wait(conn, server).compute_host != 'compute-1'


@lab_only('powers a lab host off and fills the others with m1.xlarge')
def test_evacuate_refused_without_capacity(lab, conn):
    big = _flavor(conn, 'm1.xlarge')        # 8 vCPUs: two per lab host
    server = boot(conn, 'victim', host='compute-1', flavor=big)
    for host in ('compute-2', 'compute-3'):
        for i in range(2):
            boot(conn, 'filler-%s-%d' % (host, i), host=host, flavor=big)
    fence(lab, conn, 'compute-1')
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.compute.evacuate_server(server)
    assert 'No valid host was found' in str(info.value)


@lab_only('evacuates without powering off on purpose')
def test_monitor_catches_evacuation_without_power_off(lab, conn, clouds_yaml):
    server = boot(conn, 'unsafe', host='compute-1')
    # The unsafe sequence: force down, no power off, evacuate.
    conn.compute.update_service_forced_down(
        compute_service(conn, 'compute-1'), forced=True)
    with pinned(clouds_yaml, '2.94') as c294:
        c294.compute.evacuate_server(server)
    wait(conn, server, 'ACTIVE')
    kinds = {v['type'] for v in lab.monitor.violations()
             if v['server'] == server.id}
    assert kinds == {'moved_while_running', 'double_run'}


# -- other actions ------------------------------------------------------------
@lab_only('checks the lab hypervisors')
def test_live_migrate(lab, conn):
    server = boot(conn, 'lm', host='compute-1')
    conn.compute.live_migrate_server(server, host='compute-2',
                                     block_migration='auto')
    server = conn.compute.get_server(server)
    assert server.status == 'MIGRATING'
    with pytest.raises(exceptions.ConflictException) as info:
        conn.compute.stop_server(server)
    assert 'task_state migrating' in str(info.value)
    server = wait(conn, server)
    assert server.compute_host == 'compute-2'
    assert lab.hosts['compute-2'].possibly_running(server.id)
    assert not lab.hosts['compute-1'].possibly_running(server.id)
    migrations = list(conn.compute.migrations(
        migration_type='live-migration'))
    assert migrations[0].status == 'completed'
    assert lab.monitor.violations() == []


@lab_only('powers a host off')
def test_live_migrate_refused_from_dead_host(lab, conn):
    server = boot(conn, 'lm-dead', host='compute-1')
    fence(lab, conn, 'compute-1')
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.compute.live_migrate_server(server, block_migration='auto')
    assert 'unavailable' in str(info.value)


def test_stop_start_suspend_resume_reboot_rebuild(conn, unique_name):
    server = boot(conn, unique_name + '-cycle')
    try:
        conn.compute.stop_server(server)
        server = wait(conn, server, 'SHUTOFF')
        with pytest.raises(exceptions.ConflictException) as info:
            conn.compute.stop_server(server)
        assert 'vm_state stopped' in str(info.value)
        conn.compute.start_server(server)
        server = wait(conn, server)
        conn.compute.suspend_server(server)
        server = wait(conn, server, 'SUSPENDED')
        conn.compute.resume_server(server)
        server = wait(conn, server)
        conn.compute.reboot_server(server, 'HARD')
        server = wait(conn, server)
        conn.compute.rebuild_server(server, image=_image_id(conn),
                                    name=unique_name + '-rebuilt')
        server = wait(conn, server)
        assert server.name == unique_name + '-rebuilt'
        actions = [a.action for a in conn.compute.server_actions(server)]
        for name in ('create', 'stop', 'start', 'suspend', 'resume',
                     'reboot', 'rebuild'):
            assert name in actions
    finally:
        conn.compute.delete_server(server, ignore_missing=True)


def test_rebuild_refuses_an_image_name(conn, unique_name):
    # Real Nova 34: rebuild's imageRef must be an image id (FACTS.md).
    server = boot(conn, unique_name + '-rebuild-name')
    try:
        name = next(i.name for i in conn.image.images()
                    if i.id == _image_id(conn))
        with pytest.raises(exceptions.BadRequestException) as info:
            conn.compute.rebuild_server(server, image=name)
        assert ("Invalid input for field/attribute imageRef. Value: %s. "
                "%r is not a 'uuid'" % (name, name)) in str(info.value)
        # Nova's default rebuild (libvirt's, the fake driver's) cannot keep
        # the ephemeral disk: the server ends in ERROR with that fault.
        conn.compute.rebuild_server(server, image=_image_id(conn),
                                    preserve_ephemeral=True)
        server = wait(conn, server, 'ERROR')
        assert server.fault['message'] == ('The current driver does not '
                                           'support preserving ephemeral '
                                           'partitions.')
        assert server.fault['code'] == 400
        actions = {a.action: a.message
                   for a in conn.compute.server_actions(server)}
        assert actions['rebuild'] == 'Error'
    finally:
        conn.compute.delete_server(server, ignore_missing=True)


def test_soft_reboot_refused_from_error_hard_works(conn, unique_name):
    # Real Nova 34: SOFT only from ACTIVE; HARD from ERROR (FACTS.md).
    server = boot(conn, unique_name + '-reboot-error')
    try:
        conn.compute.reset_server_state(server, 'error')
        with pytest.raises(exceptions.ConflictException) as info:
            conn.compute.reboot_server(server, 'SOFT')
        assert ("Cannot 'reboot' instance %s while it is in vm_state error"
                % server.id) in str(info.value)
        conn.compute.reboot_server(server, 'HARD')
        # ERROR until the compute takes the hard reboot: not a failure.
        server = conn.compute.wait_for_server(server, failures=[], **WAIT)
        assert server.status == 'ACTIVE'
    finally:
        conn.compute.delete_server(server, ignore_missing=True)


@lab_only('makes the lab guest ignore a soft reboot (lab delay)')
def test_hard_reboot_over_a_running_soft_reboot(lab, conn):
    # Nova lets a hard reboot interrupt a soft one (task_state rebooting).
    lab.delays['soft_reboot'] = 3600   # a guest ignoring ACPI
    server = boot(conn, 'soft-stuck')
    conn.compute.reboot_server(server, 'SOFT')
    assert conn.compute.get_server(server).task_state == 'rebooting'
    with pytest.raises(exceptions.ConflictException):
        conn.compute.reboot_server(server, 'SOFT')
    conn.compute.reboot_server(server, 'HARD')
    assert wait(conn, server).status == 'ACTIVE'


def test_create_image_and_boot_from_it(conn, unique_name):
    server = boot(conn, unique_name + '-snap')
    try:
        image = conn.compute.create_server_image(
            server, unique_name + '-image', metadata={'vmr': 'snapshot'})
        image = conn.image.wait_for_status(image, 'active', interval=0.05,
                                           wait=60)
        assert image.status == 'active'
        clone = boot(conn, unique_name + '-clone', image_id=image.id)
        assert clone.image.id == image.id
        conn.compute.delete_server(clone)
        conn.image.delete_image(image)
    finally:
        conn.compute.delete_server(server, ignore_missing=True)


def test_metadata_and_delete(conn, unique_name):
    server = boot(conn, unique_name + '-meta', metadata={'ha': 'true'})
    conn.compute.set_server_metadata(server, role='web')
    assert conn.compute.get_server_metadata(server).metadata == {
        'ha': 'true', 'role': 'web'}
    conn.compute.delete_server_metadata(server, ['role'])
    assert conn.compute.get_server_metadata(server).metadata == {
        'ha': 'true'}
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.05, wait=30)
    # Real Nova answers a deleted server with status DELETED for a short
    # while (openstacksdk's wait_for_delete stops there), then 404.
    deadline = time.monotonic() + 30
    while True:
        try:
            gone = conn.compute.get_server(server.id)
        except exceptions.NotFoundException as exc:
            assert 'could not be found' in str(exc)
            break
        assert gone.status == 'DELETED', gone.status
        assert time.monotonic() < deadline, 'still DELETED after 30 s'
        time.sleep(0.05)


# -- policy -------------------------------------------------------------------
def test_non_admin_gets_403_on_admin_calls(member_conn, conn, unique_name):
    with pytest.raises(exceptions.ForbiddenException):
        list(member_conn.compute.services())
    with pytest.raises(exceptions.ForbiddenException):
        list(member_conn.compute.hypervisors())
    with pytest.raises(exceptions.ForbiddenException):
        list(member_conn.compute.servers(all_projects=True))
    server = boot(member_conn, unique_name + '-mine')
    try:
        with pytest.raises(exceptions.ForbiddenException):
            member_conn.compute.evacuate_server(server)
        with pytest.raises(exceptions.ForbiddenException):
            member_conn.compute.live_migrate_server(server,
                                                    block_migration='auto')
    finally:
        member_conn.compute.delete_server(server)


def test_reader_cannot_write(reader_conn, member_conn, unique_name):
    server = boot(member_conn, unique_name + '-ro')
    assert reader_conn.compute.get_server(server.id).name == server.name
    with pytest.raises(exceptions.ForbiddenException):
        reader_conn.compute.stop_server(server)
    member_conn.compute.delete_server(server)


# -- os-services --------------------------------------------------------------
@lab_only('changes lab compute services')
def test_service_disable_enable_and_sticky_trait(lab, conn):
    from vmr_lab.client import LabClient
    service = compute_service(conn, 'compute-3')
    service = conn.compute.disable_service(
        service, disabled_reason='vmr: recovery 42 failed: no capacity')
    assert service.status == 'disabled'
    assert compute_service(conn, 'compute-3').disabled_reason == \
        'vmr: recovery 42 failed: no capacity'
    # Enabling while the service is down leaves the trait behind.
    conn.compute.update_service_forced_down(service, forced=True)
    conn.compute.enable_service(service)
    hosts = LabClient(lab.control_url).hosts()
    assert hosts['compute-3']['nova_compute'][
        'compute_status_disabled_trait'] is True
    # ... and the scheduler avoids the host.
    conn.compute.update_service_forced_down(service, forced=False)
    server = boot(conn, 'avoid', host='compute-3', active=False)
    server = wait(conn, server, 'ERROR')
    assert 'No valid host' in server.fault['message']


@lab_only('waits for a lab service to go down')
def test_power_loss_stops_vms_and_service_goes_down(lab, conn):
    servers = [boot(conn, 'p%d' % i, host='compute-2') for i in range(2)]
    boot_id = lab.hosts['compute-2'].boot_id
    lab.hosts['compute-2'].set_power('off')
    assert not any(lab.nova.server_running(s.id) for s in servers)
    LabWait.until(lambda: compute_service(conn, 'compute-2').state == 'down',
                  timeout=lab.service_down_time + 3)
    lab.hosts['compute-2'].set_power('on')
    assert lab.hosts['compute-2'].boot_id != boot_id
    with open(lab.hosts['compute-2'].boot_id_path) as fh:
        assert fh.read().strip() == lab.hosts['compute-2'].boot_id
    # nova-compute restarts and finds its VMs off (no resume on boot).
    for server in servers:
        wait(conn, server, 'SHUTOFF')
    LabWait.until(lambda: compute_service(conn, 'compute-2').state == 'up')
    lost = {v['server'] for v in lab.monitor.end_scenario()}
    assert lost == {s.id for s in servers}


class LabWait:
    """Polling with a clear failure message."""

    @staticmethod
    def until(predicate, timeout=10.0):
        from vmr_lab.client import LabClient
        LabClient.wait_for(predicate, timeout=timeout, interval=0.1,
                           what=getattr(predicate, '__name__', 'condition'))


# -- hypervisors, groups, aggregates, zones, flavors --------------------------
@lab_only('counts lab hosts')
def test_hypervisors_with_servers(lab, conn):
    server = boot(conn, 'hv', host='compute-2')
    hypervisors = {h.name: h for h in conn.compute.hypervisors(
        details=True, with_servers=True)}
    assert set(hypervisors) == set(lab.hosts)
    assert [s['uuid'] for s in hypervisors['compute-2'].servers] == \
        [server.id]
    assert hypervisors['compute-2'].state == 'up'


@lab_only('needs exactly three lab hosts')
def test_anti_affinity_group(lab, conn):
    group = conn.compute.create_server_group(name='web',
                                             policy='anti-affinity')
    servers = [boot(conn, 'g%d' % i, scheduler_hints={'group': group.id})
               for i in range(3)]
    assert len({s.compute_host for s in servers}) == 3
    extra = boot(conn, 'g4', scheduler_hints={'group': group.id},
                 active=False)
    extra = wait(conn, extra, 'ERROR')
    assert set(conn.compute.get_server_group(group).member_ids) == \
        {s.id for s in servers} | {extra.id}


@lab_only('changes lab aggregates')
def test_aggregates_and_zones(lab, conn):
    aggregate = conn.compute.create_aggregate(name='rack-a',
                                              availability_zone='az-a')
    conn.compute.add_host_to_aggregate(aggregate, 'compute-1')
    aggregate = conn.compute.set_aggregate_metadata(aggregate,
                                                    {'ssd': 'true'})
    assert aggregate.hosts == ['compute-1']
    assert aggregate.metadata == {'availability_zone': 'az-a',
                                  'ssd': 'true'}
    zones = {z.name for z in conn.compute.availability_zones()}
    assert zones == {'az-a', 'nova'}
    server = boot(conn, 'in-az', availability_zone='az-a')
    assert server.compute_host == 'compute-1'
    assert server.availability_zone == 'az-a'


def test_flavors(conn):
    flavors = list(conn.compute.flavors())
    assert flavors and all(f.vcpus and f.ram for f in flavors)
    assert conn.compute.get_flavor(flavors[0].id).name == flavors[0].name


def test_volume_attachment(request, conn):
    h.require_service(conn, 'block-storage')
    cleanup = h.Cleanup(request)
    server = boot(conn, 'vol')
    cleanup.add(conn.compute.delete_server, server.id)
    volume = conn.block_storage.create_volume(size=1, name='data')
    cleanup.add(conn.block_storage.delete_volume, volume.id)
    storage = conn.block_storage
    storage.wait_for_status(volume, 'available', interval=0.05, wait=120)
    conn.compute.create_volume_attachment(server, volume_id=volume.id)
    # Nova records the attachment before it answers; the attach itself and
    # the detach run after the answer (Cinder says when they are done)
    attachments = list(conn.compute.volume_attachments(server))
    assert [a.volume_id for a in attachments] == [volume.id]
    storage.wait_for_status(volume, 'in-use', interval=0.05, wait=120)
    conn.compute.delete_volume_attachment(server, volume.id)
    storage.wait_for_status(volume, 'available', interval=0.05, wait=120)
    # Real Nova's compute deletes the Cinder attachment (the volume is
    # then available) and only after that its own record of it: seen on
    # the real tier, the list still had it right after 'available'.
    deadline = time.monotonic() + 30
    while list(conn.compute.volume_attachments(server)):
        assert time.monotonic() < deadline, 'Nova still lists it after 30 s'
        time.sleep(0.05)


@lab_only('hangs a lab host')
def test_disabling_a_dead_compute_nova_believes_up_blocks(lab, conn):
    import time
    lab.hosts['compute-1'].apply_fault('kernel_hang')
    service = compute_service(conn, 'compute-1')
    assert service.state == 'up'          # Nova has not noticed yet
    start = time.monotonic()
    conn.compute.disable_service(service, disabled_reason='maintenance')
    assert time.monotonic() - start >= lab.delays['rpc_timeout']
    types = [e['type'] for e in lab.events.since(0)]
    assert 'rpc_timeout' in types


@lab_only('moves servers between lab hosts')
def test_cold_migrate_confirm_and_revert(lab, conn):
    server = boot(conn, 'cold', host='compute-1')
    conn.compute.migrate_server(server, host='compute-2')
    server = wait(conn, server, 'VERIFY_RESIZE')
    assert server.compute_host == 'compute-2'
    conn.compute.revert_server_resize(server)
    server = wait(conn, server, 'ACTIVE')
    assert server.compute_host == 'compute-1'
    conn.compute.migrate_server(server)
    server = wait(conn, server, 'VERIFY_RESIZE')
    conn.compute.confirm_server_resize(server)
    server = wait(conn, server, 'ACTIVE')
    assert server.compute_host != 'compute-1'
    assert lab.nova.server_running(server.id)
    statuses = sorted(m.status for m in conn.compute.migrations(
        migration_type='migration'))
    assert statuses == ['confirmed', 'reverted']
    assert lab.monitor.violations() == []


@lab_only('uses lab admin actions and old microversions')
def test_admin_actions_and_old_microversions(lab, conn, clouds_yaml):
    server = boot(conn, 'admin-actions', host='compute-2')
    conn.compute.reset_server_state(server, 'error')
    assert conn.compute.get_server(server).status == 'ERROR'
    conn.compute.reset_server_state(server, 'active')
    conn.compute.lock_server(server)
    assert conn.compute.get_server(server).is_locked
    conn.compute.unlock_server(server)
    with pinned(clouds_yaml, '2.11') as old:
        service = compute_service(old, 'compute-2')
        old.compute.update_service_forced_down(service, 'compute-2',
                                               'nova-compute', forced=True)
        assert compute_service(conn, 'compute-2').is_forced_down
        group = old.compute.create_server_group(name='old',
                                                policies=['affinity'])
        assert group.policies == ['affinity']
        hypervisors = list(old.compute.hypervisors(details=True))
        assert all(h.vcpus == 16 for h in hypervisors)
    page = list(conn.compute.servers(limit=1, paginated=True))
    assert [s.id for s in page] == [server.id]
    flavor = conn.compute.create_flavor(name='lab.custom', ram=256, vcpus=1,
                                        disk=1)
    assert conn.compute.find_flavor('lab.custom').id == flavor.id
    conn.compute.delete_flavor(flavor)
    limits = conn.compute.get_limits()
    assert limits.absolute.instances_used == 1


@lab_only('asks the lab Neutron for a network that does not exist')
def test_boot_on_missing_network_is_400(lab, conn):
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.compute.create_server(
            name='no-net', image_id=_image_id(conn),
            flavor_id=_flavor(conn).id,
            networks=[{'uuid': '00000000-0000-0000-0000-000000000000'}])
    assert 'could not be found' in str(info.value)
    assert list(conn.compute.servers(all_projects=True)) == []


@lab_only('replaces a server of a partitioned lab host')
def test_monitor_catches_replacement_while_old_host_runs(lab, conn):
    server = boot(conn, 'original', host='compute-1')
    image = conn.compute.create_server_image(server, 'original-snap')
    conn.image.wait_for_status(image, 'active', interval=0.05, wait=30)
    # compute-1 is cut off, not fenced: its VMs still run.
    lab.hosts['compute-1'].apply_fault('partition')
    conn.compute.update_service_forced_down(
        compute_service(conn, 'compute-1'), forced=True)
    boot(conn, 'replacement', image_id=image.id)
    assert [(v['type'], v['server']) for v in lab.monitor.violations()] == [
        ('moved_while_running', server.id)]
