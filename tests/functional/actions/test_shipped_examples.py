"""Every shipped example contract, as a new user would use it (issue 18).

For each file of ``etc/vmr/contracts/``: validate it with the documented
check (``python -m vmr_coordinator.contracts validate``) and with the API's
dry run (``POST /v1/contracts?dry_run=1``, what ``vmr contract validate``
sends), which must select exactly the servers the example is written for
in a lab cloud built to hold them and neighbours it must leave alone; then
run the contract's action with the contract's own params, as the engine
runs it, on the selected server, and check that the goal holds.

A new example without a scene here fails ``test_every_example_has_a_scene``.
What the lab cannot know is site-specific and replaced, said in the scene:
the webhook's URL (a receiver on 127.0.0.1 instead of cmdb.example.com).
"""

import dataclasses
import http.server
import os
import threading
from typing import Callable

import pytest
from oslo_config import cfg

from tests.labfixtures import boot, conn_fixture, lab_fixture, port_of
from tests.support.actions import (DELAYS, context, fence, floating_ip,
                                   lb_pair, member_states, run)
from tests.support.api_harness import start_harness
from tests.support.examples import EXAMPLE_DIR, EXAMPLES, load
from vmr_coordinator import contracts

#: the spare host maintenance-live-migrate-spares.yaml names
HOSTS = ['compute-1', 'compute-2', 'compute-3', 'compute-spare-1']
SECRET = 'example-hmac-key-5e2a'
RESUMABLE = ('evacuate', 'live_migrate', 'fip_failover', 'lb_failover',
             'mistral', 'suspend', 'resume', 'webhook')

lab = lab_fixture(hosts=HOSTS, delays=DELAYS, doc='A started lab cloud with compute-1 '
                  'to compute-3 and the spare compute-spare-1.')
conn = conn_fixture(compute_api_version='2.95')


@dataclasses.dataclass
class Scene:
    """The lab world of one example, ready for its action."""
    server: object                  # the server the action heals
    host: str                       # the host of the event
    event: dict
    selected: set                   # names the dry run must select
    check: Callable[[], None]       # the action's goal holds
    params: dict = None             # site-specific replacements, if any


# -- helpers --------------------------------------------------------------
def wait_status(conn, server, status):
    # openstacksdk returns a resource already in the status without a
    # refresh: fetch it first
    return conn.compute.wait_for_server(conn.compute.get_server(server.id),
                                        status=status, interval=0.05, wait=30)


def to_error(conn, server):
    conn.compute.reset_server_state(server, 'error')
    return wait_status(conn, server, 'ERROR')


def active_on(conn, server, not_on=None, on=None):
    def check():
        now = wait_status(conn, server, 'ACTIVE')
        if not_on:
            assert now.compute_host != not_on, now.compute_host
        if on:
            assert now.compute_host == on, now.compute_host
    return check


def project_with_id(lab, conn, project_id, name):
    """A project with the id an example names; the lab's admin (VMR's
    user here) gets admin and member roles in it, as the example says an
    operator must do."""
    keystone = lab.keystone
    with keystone.lock:
        keystone.projects[project_id] = {
            'id': project_id, 'name': name, 'description': '',
            'enabled': True, 'domain_id': 'default',
            'parent_id': 'default', 'is_domain': False, 'tags': [],
            'options': {}}
    admin = keystone.user_by_name('admin')
    for role in ('admin', 'member'):
        entry = (admin['id'], project_id, keystone.add_role(role)['id'])
        with keystone.lock:
            if entry not in keystone.assignments:
                keystone.assignments.append(entry)
    # connect_as_project() would send the id as the project's name
    return conn.connect_as(project_id=project_id, project_name=None)


def aggregate(conn, name, hosts, zone=None):
    agg = conn.compute.create_aggregate(name=name, availability_zone=zone)
    for host in hosts:
        conn.compute.add_host_to_aggregate(agg, host)
    return agg


def host_down(host):
    return {'type': 'host_down', 'host': host, 'reason': 'power loss (test)'}


# -- one scene per example ------------------------------------------------
def scene_alarm_alertmanager(lab, conn, tmp_path):
    web = boot(conn, 'web-1', 'compute-1', {'ha': 'true'})
    boot(conn, 'db-1', 'compute-1', {'ha': 'false'})
    return Scene(web, 'compute-1', {
        'type': 'alarm', 'source': 'alertmanager', 'name': 'NodeDiskFailing',
        'host': 'compute-1', 'labels': {'severity': 'critical',
                                        'team': 'cloud'}},
        {'web-1'}, active_on(conn, web, not_on='compute-1'))


def scene_alarm_aodh(lab, conn, tmp_path):
    replica = boot(conn, 'replica-1', 'compute-1', {'role': 'db-replica'})
    boot(conn, 'primary-1', 'compute-2', {'role': 'db-primary'})
    replica = to_error(conn, replica)
    return Scene(replica, 'compute-1', {
        'type': 'alarm', 'source': 'aodh', 'name': 'instance-error-db',
        'server_id': replica.id}, {'replica-1'},
        active_on(conn, replica, on='compute-1'))


def scene_boot_from_snapshot(lab, conn, tmp_path):
    batch = project_with_id(lab, conn, '9c1c3a5e6b2f4c0e8f7a6d5b4c3a2f10',
                            'batch')
    server = boot(batch, 'batch-1', 'compute-1', {'recovery': 'snapshot'})
    snapshot = batch.compute.create_server_image(server, 'batch-1-nightly',
                                                 wait=True)
    wait_status(batch, server, 'ACTIVE')
    fip = floating_ip(conn, server)
    # the same metadata in another project: not this contract's
    boot(conn, 'batch-9', 'compute-1', {'recovery': 'snapshot'})
    fence(lab, conn, 'compute-1')

    def check():
        (new,) = [s for s in conn.compute.servers(
            details=True, all_projects=True)
            if (s.metadata or {}).get('vmr_replaces') == server.id]
        new = wait_status(conn, new, 'ACTIVE')
        assert new.name == 'batch-1' and new.compute_host != 'compute-1'
        assert new.project_id == '9c1c3a5e6b2f4c0e8f7a6d5b4c3a2f10'  # owner
        assert new.image['id'] == snapshot.id
        assert conn.network.get_ip(fip.id).port_id == port_of(conn, new).id
        assert conn.compute.find_server(server.id, ignore_missing=True,
                                        all_projects=True) is None or \
            conn.compute.get_server(server.id).status == 'DELETED'
    return Scene(server, 'compute-1', host_down('compute-1'), {'batch-1'},
                 check)


def scene_evacuable(lab, conn, tmp_path):
    large = conn.compute.find_flavor('m1.large')
    web = boot(conn, 'web-1', 'compute-1', flavor=large, tags=['evacuable'])
    boot(conn, 'web-2', 'compute-1', tags=['evacuable'])       # m1.tiny
    boot(conn, 'web-3', 'compute-1', flavor=large)              # no tag
    fence(lab, conn, 'compute-1')
    return Scene(web, 'compute-1', host_down('compute-1'), {'web-1'},
                 active_on(conn, web, not_on='compute-1'))


def scene_evacuate(lab, conn, tmp_path):
    web = boot(conn, 'web-1', 'compute-1', {'ha': 'true'})
    boot(conn, 'batch-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    return Scene(web, 'compute-1', host_down('compute-1'), {'web-1'},
                 active_on(conn, web, not_on='compute-1'))


def scene_fip_failover(lab, conn, tmp_path):
    active = boot(conn, 'vpn-a', 'compute-1',
                  {'vmr_pair': 'vpn', 'vmr_role': 'active', 'app': 'vpn'})
    standby = boot(conn, 'vpn-b', 'compute-2',
                   {'vmr_pair': 'vpn', 'vmr_role': 'standby', 'app': 'vpn'})
    boot(conn, 'db-b', 'compute-2', {'vmr_pair': 'db', 'vmr_role': 'standby'})
    fip = floating_ip(conn, active)
    fence(lab, conn, 'compute-1')

    def check():
        assert conn.network.get_ip(fip.id).port_id == \
            port_of(conn, standby).id
        assert conn.compute.get_server(standby.id).metadata['vmr_role'] == \
            'active'
        assert conn.compute.get_server(active.id).metadata['vmr_role'] == \
            'standby'
    return Scene(active, 'compute-1', host_down('compute-1'),
                 {'vpn-a', 'vpn-b'}, check)


def scene_instance_down_rebuild(lab, conn, tmp_path):
    group = conn.compute.create_server_group(name='frontends',
                                             policy='soft-anti-affinity')
    frontend = boot(conn, 'fe-1', 'compute-1',
                    scheduler_hints={'group': group.id})
    boot(conn, 'fe-9', 'compute-1')
    frontend = to_error(conn, frontend)
    return Scene(frontend, 'compute-1', {
        'type': 'instance_down', 'host': 'compute-1',
        'server_id': frontend.id, 'status': 'ERROR'}, {'fe-1'},
        active_on(conn, frontend, on='compute-1'))


def scene_lb_failover(lab, conn, tmp_path):
    active, pool, members = lb_pair(conn)
    fence(lab, conn, 'compute-1')
    a, b, x = (members[n].address for n in ('api-a', 'api-b', 'api-x'))

    def check():
        assert member_states(conn, pool) == {a: (False, 'OFFLINE'),
                                             b: (True, 'ONLINE'),
                                             x: (False, 'OFFLINE')}
    return Scene(active, 'compute-1', host_down('compute-1'),
                 {'api-a', 'api-b', 'api-x'}, check)


def scene_live_migrate(lab, conn, tmp_path):
    web = boot(conn, 'web-1', 'compute-1')
    boot(conn, 'web-2', 'compute-2')
    return Scene(web, 'compute-1', {'type': 'maintenance',
                                    'host': 'compute-1'},
                 {'web-1', 'web-2'}, active_on(conn, web, not_on='compute-1'))


def scene_maintenance_live_migrate_spares(lab, conn, tmp_path):
    aggregate(conn, 'az1', HOSTS, zone='az1')
    group = conn.compute.create_server_group(name='db-anti-affinity',
                                             policy='anti-affinity')
    db = boot(conn, 'db-1', 'compute-1', scheduler_hints={'group': group.id})
    boot(conn, 'db-2', 'compute-1')
    return Scene(db, 'compute-1', {'type': 'maintenance',
                                   'host': 'compute-1'},
                 {'db-1'}, active_on(conn, db, on='compute-spare-1'))


def scene_manual_rebuild(lab, conn, tmp_path):
    db = boot(conn, 'db-3', 'compute-1', {'tier': 'db'})
    boot(conn, 'web-3', 'compute-1', {'tier': 'web'})
    return Scene(db, 'compute-1', {
        'type': 'manual', 'servers': [db.id], 'reason': 'guest broken'},
        {'db-3'}, active_on(conn, db, on='compute-1'))


SAP_WORKFLOW = """\
version: '2.0'
sap_recover:
  input: [event, server, notify]
  tasks:
    restart:
      action: std.noop
"""


def scene_mistral(lab, conn, tmp_path):
    aggregate(conn, 'sap-hosts', ['compute-1'])
    conn.workflow.create_workflow(definition=SAP_WORKFLOW, scope='private')
    sap = boot(conn, 'sap-1', 'compute-1', {'app': 'sap'})
    boot(conn, 'sap-2', 'compute-2', {'app': 'sap'})    # not a sap host
    fence(lab, conn, 'compute-1')

    def check():
        (execution,) = list(conn.workflow.executions())
        assert execution.status == 'SUCCESS'
        assert lab.mistral.execution_input(execution.id)['notify'] == \
            'sap-oncall'
    return Scene(sap, 'compute-1', host_down('compute-1'), {'sap-1'}, check)


def scene_reboot(lab, conn, tmp_path):
    tenant = project_with_id(lab, conn, '4a2e8f1c9b7d4e6fa1c3b5d7e9f20413',
                             'appliances')
    appliance = boot(tenant, 'fw-1', 'compute-1', {'role': 'appliance'})
    boot(conn, 'fw-9', 'compute-1', {'role': 'appliance'})  # other project
    conn.compute.stop_server(appliance)
    appliance = wait_status(conn, appliance, 'SHUTOFF')
    return Scene(appliance, 'compute-1', {
        'type': 'instance_down', 'host': 'compute-1',
        'server_id': appliance.id, 'status': 'SHUTOFF'}, {'fw-1'},
        active_on(conn, appliance, on='compute-1'))


def scene_rebuild(lab, conn, tmp_path):
    golden = conn.image.create_image(
        name='kiosk-golden-2026.10', data=b'golden kiosk image\n' * 64,
        disk_format='raw', container_format='bare')
    kiosk = boot(conn, 'kiosk-1', 'compute-1', {'role': 'kiosk'})
    boot(conn, 'till-1', 'compute-1', {'role': 'till'})

    def check():
        now = wait_status(conn, kiosk, 'ACTIVE')
        assert now.image['id'] == golden.id
        assert now.compute_host == 'compute-1'
    return Scene(kiosk, 'compute-1', {
        'type': 'manual', 'servers': [kiosk.id]}, {'kiosk-1'}, check)


def scene_resume(lab, conn, tmp_path):
    batch = boot(conn, 'batch-1', 'compute-1', {'preemptible': 'true'})
    boot(conn, 'web-1', 'compute-1', {'preemptible': 'false'})
    conn.compute.suspend_server(batch)
    batch = wait_status(conn, batch, 'SUSPENDED')
    return Scene(batch, 'compute-1', {
        'type': 'alarm', 'source': 'alertmanager',
        'name': 'HypervisorMemoryAvailable', 'host': 'compute-1'},
        {'batch-1'}, active_on(conn, batch, on='compute-1'))


def scene_suspend(lab, conn, tmp_path):
    batch = boot(conn, 'batch-1', 'compute-1', {'preemptible': 'true'})
    boot(conn, 'web-1', 'compute-1')

    def check():
        assert wait_status(conn, batch, 'SUSPENDED').compute_host == \
            'compute-1'
    return Scene(batch, 'compute-1', {
        'type': 'alarm', 'source': 'alertmanager',
        'name': 'HypervisorMemoryPressure', 'host': 'compute-1',
        'labels': {'severity': 'warning'}}, {'batch-1'}, check)


class _Receiver(http.server.ThreadingHTTPServer):
    calls = None


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.calls.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


def scene_webhook(lab, conn, tmp_path, request):
    from vmr_common.conf import actions as actions_conf
    from vmr_coordinator.api import webhooks
    receiver = _Receiver(('127.0.0.1', 0), _Handler)
    receiver.calls = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    request.addfinalizer(receiver.server_close)
    request.addfinalizer(receiver.shutdown)
    path = tmp_path / 'secrets.yaml'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, 'w') as fh:
        fh.write('secrets:\n  cmdb: %s\n' % SECRET)
    actions_conf.register_opts(cfg.CONF)
    cfg.CONF.set_override('secrets_file', str(path), group='actions')
    request.addfinalizer(lambda: cfg.CONF.clear_override(
        'secrets_file', group='actions'))
    web = boot(conn, 'web-1', 'compute-1')
    boot(conn, 'web-2', 'compute-2')

    def check():
        (headers, body), = receiver.calls
        assert webhooks.check(SECRET, body, signature=headers[
            'X-VMR-Signature']) == (True, 'signature')
        assert headers['X-Source'] == 'vmr'
    url = 'http://127.0.0.1:%d/hooks/vmr' % receiver.server_address[1]
    return Scene(web, 'compute-1', {
        'type': 'process_down', 'host': 'compute-1',
        'process': 'nova-compute'}, {'web-1', 'web-2'}, check,
        params={'url': url})


SCENES = {
    'alarm-alertmanager.yaml': scene_alarm_alertmanager,
    'alarm-aodh.yaml': scene_alarm_aodh,
    'boot_from_snapshot.yaml': scene_boot_from_snapshot,
    'evacuable.yaml': scene_evacuable,
    'evacuate.yaml': scene_evacuate,
    'fip_failover.yaml': scene_fip_failover,
    'instance-down-rebuild.yaml': scene_instance_down_rebuild,
    'lb_failover.yaml': scene_lb_failover,
    'live_migrate.yaml': scene_live_migrate,
    'maintenance-live-migrate-spares.yaml':
        scene_maintenance_live_migrate_spares,
    'manual-rebuild.yaml': scene_manual_rebuild,
    'mistral.yaml': scene_mistral,
    'reboot.yaml': scene_reboot,
    'rebuild.yaml': scene_rebuild,
    'resume.yaml': scene_resume,
    'suspend.yaml': scene_suspend,
    'webhook.yaml': scene_webhook,
}


def test_every_example_has_a_scene():
    assert EXAMPLES, EXAMPLE_DIR
    assert set(EXAMPLES) == set(SCENES), (
        'examples without a scene: %s; scenes without an example: %s' % (
            sorted(set(EXAMPLES) - set(SCENES)),
            sorted(set(SCENES) - set(EXAMPLES))))


def dry_run(etcd_server, lab, tmp_path, text):
    """``POST /v1/contracts?dry_run=1`` with the file's text, like
    ``vmr contract validate FILE``; the API lists the lab's servers."""
    api = start_harness(etcd_server)
    try:
        api.conf.set_override('cloud', 'vmr-lab', 'cloud')
        api.conf.set_override('clouds_yaml', lab.write_clouds_yaml(
            str(tmp_path / 'dry-run-clouds.yaml')), 'cloud')
        r = api.call('POST', '/v1/contracts', raw=text.encode('utf-8'),
                     headers={'Content-Type': 'application/yaml'},
                     dry_run='1')
        assert r.status_code == 200, r.text
        assert api.store.get_prefix(api.store.keys.contracts)[0] == []
        return r.json()
    finally:
        api.close()


@pytest.mark.parametrize('name', EXAMPLES)
def test_example_validates_dry_runs_and_acts(name, etcd_server, lab, conn,
                                             tmp_path, request):
    text, doc = load(name)
    # 1. the documented check, then the coordinator's own parser
    assert contracts.main(['validate', os.path.join(EXAMPLE_DIR, name)]) == 0
    contract = contracts.parse_contract(text)
    assert SCENES.get(name), 'no scene for %s' % name
    scene_of = SCENES[name]
    if 'request' in scene_of.__code__.co_varnames:
        scene = scene_of(lab, conn, tmp_path, request)
    else:
        scene = scene_of(lab, conn, tmp_path)

    # 2. the dry run selects what the example is written for, nothing else
    body = dry_run(etcd_server, lab, tmp_path, text)
    assert body['contract']['name'] == doc['name']
    matches = body['matches']
    assert matches['checked'] is True, matches
    assert {s['name'] for s in matches['selected']} == scene.selected, \
        matches
    assert scene.server.id in {s['id'] for s in matches['selected']}

    # 3. the action with the example's params, as the engine runs it
    params = dict(contract.action.params, **(scene.params or {}))
    action, result = run(contract.action.type, params, context(
        conn, scene.server, scene.host, event=scene.event, timeout=60))
    assert isinstance(result, str) and result, result
    scene.check()
    assert lab.monitor.violations() == []
    # a second run (a new leader resuming the step) finds the goal held
    # and sends nothing; reboot and rebuild have no goal to find, and
    # boot_from_snapshot deleted the server the step names
    if contract.action.type in RESUMABLE:
        again, _ = run(contract.action.type, params, context(
            conn, scene.server, scene.host, event=scene.event, timeout=60))
        assert getattr(again, 'request_ids', []) == []
        scene.check()
