"""Helpers of the real tier's tests (``tests/real``): what the fencing stage
does to a real host, where a server's port and floating IP are, that the
request ids an action recorded are in the services' own logs, and the
lab's own test modules run in a pytest of their own against the tier.
"""

import os
import re
import subprocess
import sys

import openstack.exceptions

from tests.support.scenario import fenced_then_done
from vmr_lab.real.lab_vs_real import outcomes  # noqa: F401  (re-exported)

#: the repository (the lab's tests run from there)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

REQUEST_IDS = re.compile(r'req-[0-9a-f-]{36}')


def fence(cloud, conn, host):
    """What the fencing stage does: power off, then force the service down."""
    cloud.hosts[host].set_power('off')
    conn.compute.update_service_forced_down(nova_service(conn, host),
                                            forced=True)


def nova_service(conn, host):
    """Nova's nova-compute service record of ``host``."""
    (service,) = [s for s in conn.compute.services(binary='nova-compute')
                  if s.host == host]
    return service


def port_of(conn, server):
    """The port of ``server`` (it has exactly one)."""
    (port,) = list(conn.network.ports(device_id=server.id))
    return port


def floating_ip(conn, server):
    """A new floating IP from ``public`` on ``server``'s port."""
    public = conn.network.find_network('public', ignore_missing=False)
    return conn.network.create_ip(floating_network_id=public.id,
                                  port_id=port_of(conn, server).id)


def assert_logged(cloud, result, logs=('nova-api', 'neutron-api'),
                  exactly=None, some=()):
    """Every request id of ``result`` is in the log of one of the API
    services ``logs``; ``exactly`` maps a service to how many of the ids
    must be in its log, and each service of ``some`` has at least one."""
    ids = REQUEST_IDS.findall(result)
    assert ids, result
    texts = {name: cloud.openstack.log_text(name) for name in logs}
    missing = [i for i in ids if not any(i in t for t in texts.values())]
    assert not missing, 'request ids in no API log of %s: %s' % (
        ', '.join(logs), missing)
    for name, count in (exactly or {}).items():
        assert len([i for i in ids if i in texts[name]]) == count, \
            (name, result)
    for name in some:
        assert any(i in texts[name] for i in ids), (name, result)


# -- Cinder --------------------------------------------------------------------
def wait_volume(conn, volume_id, status, timeout=300):
    volume = conn.block_storage.get_volume(volume_id)
    return conn.block_storage.wait_for_status(
        volume, status, failures=['error', 'error_attaching',
                                  'error_detaching'],
        interval=0.2, wait=timeout)


def attach(conn, server, size=1):
    """A new volume attached to ``server`` through Nova."""
    volume = conn.block_storage.create_volume(size=size,
                                              name='%s-data' % server.name)
    wait_volume(conn, volume.id, 'available')
    conn.compute.create_volume_attachment(server, volume_id=volume.id)
    return wait_volume(conn, volume.id, 'in-use')


def delete_volume(conn, volume_id):
    """Delete a test's volume: the servers it is attached to first (the
    cloud's restore deletes every server anyway); a failure is printed,
    not raised (a clean-up)."""
    try:
        volume = conn.block_storage.get_volume(volume_id)
        for att in volume.attachments or ():
            conn.compute.delete_server(att['server_id'])
        volume = wait_volume(conn, volume_id, 'available', timeout=120)
        conn.block_storage.delete_volume(volume)
    except openstack.exceptions.SDKException as exc:
        print('left volume %s: %s' % (volume_id, exc))


def run_lab_tests(cloud, tmp_path, paths, network, timeout, name):
    """Run the lab's service tests ``paths`` against ``cloud`` (a real
    tier) in a pytest of their own; ``(completed process, junit path)``."""
    junit = str(tmp_path / ('%s.xml' % name))
    env = dict(os.environ,
               OS_CLIENT_CONFIG_FILE=cloud.write_clouds_yaml(
                   str(tmp_path / 'clouds.yaml')),
               VMR_TEST_CLOUD=cloud.cloud_name,
               VMR_TEST_MEMBER_CLOUD=cloud.cloud_name + '-member',
               VMR_TEST_READER_CLOUD=cloud.cloud_name + '-reader',
               VMR_TEST_NETWORK=network,
               VMR_TEST_IMAGE=cloud.openstack.image_name,
               VMR_TEST_FLAVOR='m1.tiny',
               PYTHONPATH=os.pathsep.join(
                   [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    env.pop('VMR_SLOW', None)
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-rs', '-p', 'no:cacheprovider',
         '--junitxml', junit] + list(paths),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return proc, junit


def nova_story(conn, server_id):
    """What real Nova says of a server, for a failed check: its state,
    its evacuations and the events of its instance actions."""
    server = conn.compute.get_server(server_id)
    lines = ['server %s: status %s, vm_state %s, task %s, host %s' % (
        server_id, server.status, server.vm_state, server.task_state,
        server.compute_host)]
    for m in conn.compute.migrations(server_id=server_id):
        lines.append('  migration %s %s %s -> %s: %s (created %s)' % (
            m.id, m.migration_type, m.source_compute, m.dest_compute,
            m.status, m.created_at))
    for action in conn.compute.server_actions(server_id):
        detail = conn.compute.get_server_action(action.request_id, server_id)
        lines.append('  action %s %s at %s: %s' % (
            action.action, action.request_id, action.start_time, ', '.join(
                '%s@%s %s' % (e.event, e.host, e.result)
                for e in (detail.events or [])) or 'no events'))
    return '\n'.join(lines)


def assert_healed(demo, victim):
    """The one recovery of a demo run on the real tier healed every server
    of ``victim``, fenced first, once each, and the monitor saw nothing
    wrong."""
    rec = fenced_then_done(demo)
    for step in rec['steps']:
        server = demo.lab.get_server(step['server_id'])
        assert server['status'] == 'ACTIVE' and server['host'] != victim, \
            nova_story(demo.lab.conn, step['server_id'])
        assert demo.lab.wait_running(step['server_id'], server['host'])
    # Real Nova agrees: one evacuation carried out per server (of this
    # run's servers: the session's cloud remembers earlier tests'
    # migrations).  An evacuation Nova accepted and never carried out (its
    # cast lost in a restart) leaves a migration with no destination; the
    # step says it found it lost and evacuated again.  (Which record stays
    # empty is Nova's choice: its conductor takes the server's first
    # ``accepted`` migration, the lost one, for the second evacuation.)
    current = {s['id'] for s in demo.lab.find_servers()}
    migrations = [m for m in demo.lab.conn.compute.migrations()
                  if m.migration_type == 'evacuation'
                  and m.server_id in current]
    carried_out = [m for m in migrations if m.dest_compute]
    assert sorted(m.server_id for m in carried_out) == sorted(
        s['server_id'] for s in rec['steps'])
    # So is one Nova gave up on (no valid host), and which of a server's
    # records ends ``error`` and which stays ``accepted`` is Nova's choice
    # too: the step names one or the other.
    said = {s['server_id']: '%s %s' % (s.get('result'), s.get('error'))
            for s in rec['steps']}
    for empty in (m for m in migrations if not m.dest_compute):
        assert empty.status in ('accepted', 'error'), (empty.id,
                                                       empty.status)
        assert ' lost (accepted ' in said[empty.server_id] or \
            'evacuation failed in Nova: ' in said[empty.server_id], \
            said[empty.server_id]
    assert nova_service(demo.lab.conn, victim).is_forced_down is True
    assert demo.lab.monitor.violations() == []
