"""``GET /v1/plan?host=X``, ``GET /v1/capacity`` and ``vmr plan|capacity``
against the lab cloud through openstacksdk, like the coordinator.

The lab has no Placement, so usage comes from os-hypervisors pinned at 2.87
(the last microversion with usage fields).

compute-1 (16 vCPU, 32 GiB) runs web-1 (m1.xlarge), web-2 (m1.large), db-1
(no contract) and amphora-7 (a service VM); compute-2 has an m1.xlarge and
compute-3 an m1.large filler.
"""

import json

import pytest

from tests.support.api_harness import start_harness
from vmr_coordinator import cloud as cloud_mod

WEB = {'name': 'web-ha', 'priority': 200, 'trigger': {'type': 'host_down'},
       'selector': {'metadata': {'ha': 'true'}},
       'action': {'type': 'evacuate'}}


@pytest.fixture
def lab(tmp_path):
    from vmr_lab.cloud import LabCloud
    cloud = LabCloud(hosts=3, servers=0, bmc=False, service_down_time=30.0,
                     state_dir=str(tmp_path / 'lab'))
    cloud.start()
    ids = {}
    for name, host, flavor in (('web-1', 'compute-1', '5'),
                               ('web-2', 'compute-1', '4'),
                               ('db-1', 'compute-1', '2'),
                               ('amphora-7', 'compute-1', '2'),
                               ('filler-2', 'compute-2', '5'),
                               ('filler-3', 'compute-3', '4')):
        ids[name] = cloud.nova.seed_server(name, host, flavor_id=flavor)
        if name.startswith(('web', 'amphora')):
            cloud.nova.servers[ids[name]]['metadata']['ha'] = 'true'
    cloud.clouds_path = cloud.write_clouds_yaml(str(tmp_path / 'c.yaml'))
    cloud.ids = ids
    try:
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture
def api(etcd_server, lab):
    harness = start_harness(etcd_server)
    harness.conf.set_override('cloud', 'vmr-lab', 'cloud')
    harness.conf.set_override('clouds_yaml', lab.clouds_path, 'cloud')
    yield harness
    harness.close()


@pytest.fixture
def conn(api):
    """The coordinator's own openstacksdk Connection (admin)."""
    connection = cloud_mod.connect(api.conf)
    yield connection
    connection.close()


def force_down(conn, host):
    service = next(s for s in conn.compute.services(binary='nova-compute')
                   if s.host == host)
    conn.compute.update_service_forced_down(service, host=host, forced=True)


def test_plan_orders_servers_and_places_them_by_free_room(api, lab, conn):
    assert api.post('/v1/contracts', WEB).status_code == 201
    r = api.get('/v1/plan', host='compute-1')
    assert r.status_code == 200, r.text
    plan = r.json()['plan']
    assert [(s['order'], s['server_name'], s['contract'], s['action'],
             s['destination']) for s in plan['steps']] == [
        # compute-3 has the most free RAM for web-1; then compute-2 for web-2.
        (1, 'web-1', 'web-ha', 'evacuate', 'compute-3'),
        (2, 'web-2', 'web-ha', 'evacuate', 'compute-2')]
    assert plan['steps'][0]['server_id'] == lab.ids['web-1']
    assert plan['steps'][0]['size'] == {'vcpus': 8, 'ram_mb': 16384,
                                        'disk_gb': 160}
    assert plan['fits'] is True and plan['servers_on_host'] == 4
    assert [u['server_name'] for u in plan['unmatched']] == ['db-1']
    (amphora,) = plan['skipped']
    assert amphora['server_name'] == 'amphora-7'
    assert 'amphora' in amphora['reason']
    assert plan['summary'].endswith('fits: yes')

    # An operator forces compute-3 down: web-1 takes all of compute-2 and
    # web-2 has nowhere to go.
    force_down(conn, 'compute-3')
    plan = api.get('/v1/plan', host='compute-1').json()['plan']
    assert [(s['server_name'], s['destination'], s['outcome'])
            for s in plan['steps']] == [
        ('web-1', 'compute-2', 'placed'), ('web-2', None, 'no capacity')]
    assert 'compute-2: not enough vCPU, RAM MiB' in plan['steps'][1]['reason']
    assert plan['fits'] is False and plan['without_capacity'] == 1
    assert {'host': 'compute-3', 'reason': 'compute service forced down'} in \
        plan['unusable_hosts']


def test_plan_keeps_anti_affinity_groups_apart(api, lab, conn):
    group = conn.compute.create_server_group(name='web-group',
                                             policy='anti-affinity')
    # Seeded servers skip the scheduler: put them in the group by hand.
    lab.nova.server_groups[group.id]['members'].extend(
        [lab.ids['web-1'], lab.ids['filler-3']])
    by_group = dict(WEB, name='web-group',
                    selector={'server_group': 'web-group'}, priority=300)
    assert api.post('/v1/contracts', WEB).status_code == 201
    assert api.post('/v1/contracts', by_group).status_code == 201
    plan = api.get('/v1/plan', host='compute-1').json()['plan']
    # web-1 may not join filler-3 on compute-3 (the roomiest host).
    assert [(s['server_name'], s['contract'], s['destination'])
            for s in plan['steps']] == [
        ('web-1', 'web-group', 'compute-2'), ('web-2', 'web-ha', 'compute-3')]
    assert plan['fits'] is True


def test_plan_heals_inside_the_segment_onto_its_disabled_spare(api, lab,
                                                               conn):
    """compute-3, the roomiest, is outside the segment; compute-2 is its
    reserved host, disabled as VMR keeps an idle spare."""
    svc = next(s for s in conn.compute.services(binary='nova-compute')
               if s.host == 'compute-2')
    conn.compute.disable_service(svc, svc.host, svc.binary,
                                 disabled_reason='vmr: reserved')
    assert api.post('/v1/contracts', WEB).status_code == 201
    assert api.post('/v1/segments', {
        'name': 'rack-a', 'hosts': ['compute-1'],
        'reserved_hosts': ['compute-2'],
        'recovery_method': 'reserved_host'}).status_code == 201
    plan = api.get('/v1/plan', host='compute-1').json()['plan']
    assert [(s['server_name'], s['destination'], s.get('reserved_host'))
            for s in plan['steps']] == [
        ('web-1', 'compute-2', True), ('web-2', None, None)]
    assert plan['segment']['name'] == 'rack-a'
    assert plan['reserved_hosts_used'] == ['compute-2']
    assert plan['fits'] is False
    assert 'compute-3' not in [d['host'] for d in plan['destinations']]
    assert 'in segment rack-a (reserved_host), reserved host(s) compute-2 ' \
        'enabled' in plan['summary']
    # vmr capacity: the segment's N+k counts its disabled spare as room
    groups = {(g['kind'], g['name']): g for g in
              api.get('/v1/capacity').json()['capacity']['groups']}
    segment = groups[('segment', 'rack-a')]
    assert segment['host_names'] == ['compute-1', 'compute-2']
    assert segment['unusable'] == [] and segment['usable_hosts'] == 2
    assert segment['recovery_method'] == 'reserved_host'


def test_plan_needs_a_host(api):
    r = api.get('/v1/plan')
    assert r.status_code == 400
    assert r.json()['error']['field'] == 'host'


def test_capacity_per_aggregate_and_zone(api, lab, conn):
    aggregate = conn.compute.create_aggregate(name='general',
                                              availability_zone='az1')
    for host in ('compute-1', 'compute-2'):
        conn.compute.add_host_to_aggregate(aggregate, host)
    r = api.get('/v1/capacity')
    assert r.status_code == 200, r.text
    body = r.json()['capacity']
    groups = {(g['kind'], g['name']): g for g in body['groups']}
    assert set(groups) == {('aggregate', 'general'), ('zone', 'az1'),
                           ('zone', 'nova')}
    general = groups[('aggregate', 'general')]
    # compute-1 uses 14 of 16 vCPUs, compute-2 8: losing either leaves at
    # most 8 free vCPUs for up to 14.
    assert general['resources']['vcpus'] == {'total': 32, 'used': 22,
                                             'free': 10}
    assert general['resources']['ram_mb']['used'] == 28672 + 16384
    assert general['tolerates'] == 0
    assert general['breaks_at']['resource'] == 'vcpus'
    assert groups[('zone', 'az1')]['tolerates'] == 0
    assert groups[('zone', 'nova')]['host_names'] == ['compute-3']
    # The whole cloud: 22 free vCPUs absorb any one host (16 at most).
    assert body['cloud']['tolerates'] == 1 and body['cloud']['n_plus'] == 'N+1'
    assert body['summary'].startswith(
        'cloud: 3 usable host(s) of 3, survives 1 host failure(s)')

    force_down(conn, 'compute-3')
    cloud = api.get('/v1/capacity').json()['capacity']['cloud']
    assert cloud['usable_hosts'] == 2 and cloud['tolerates'] == 0


def test_an_unreachable_cloud_is_a_503_naming_the_option(etcd_server):
    api = start_harness(etcd_server)
    api.conf.set_override('cloud', 'no-such-cloud', 'cloud')
    try:
        for path, params in (('/v1/plan', {'host': 'compute-1'}),
                             ('/v1/capacity', {})):
            r = api.get(path, **params)
            assert r.status_code == 503, r.text
            message = r.json()['error']['message']
            assert "[cloud] cloud 'no-such-cloud'" in message
            assert 'Traceback' not in message
    finally:
        api.close()


def test_cli_plan_and_capacity(api, lab, capsys, monkeypatch):
    from vmr_client import shell
    from vmr_client.commands import planning as planning_cmds
    # Registered here until the vmr.cli entry points are installed; with
    # them the same names resolve to the same classes.
    monkeypatch.setitem(shell.COMMANDS, 'plan', planning_cmds.Plan)
    monkeypatch.setitem(shell.COMMANDS, 'capacity', planning_cmds.Capacity)
    api.post('/v1/contracts', WEB)

    capsys.readouterr()
    assert shell.main(['--url', api.url, 'plan', 'compute-1']) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if 'Server' in line)
    assert [cell.strip() for cell in header.split('|')[1:6]] == [
        'Order', 'Server', 'Contract', 'Action', 'Destination']
    rows = [line for line in lines if 'web-' in line and '|' in line]
    assert 'web-1' in rows[0] and 'compute-3' in rows[0]
    assert 'web-2' in rows[1] and 'compute-2' in rows[1]
    assert 'unmatched (no contract heals it): db-1' in out
    assert 'skipped: amphora-7: ' in out
    assert lines[-1] == 'fits: yes'

    assert shell.main(['--url', api.url, 'plan', 'compute-1',
                       '-f', 'json']) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r['Server'], r['Destination']) for r in rows] == [
        ('web-1', 'compute-3'), ('web-2', 'compute-2')]

    assert shell.main(['--url', api.url, 'capacity']) == 0
    out = capsys.readouterr().out
    assert 'N+1' in out and 'all hosts' in out and '26 / 48' in out
    assert 'losing compute-1, compute-2: 10 vCPU short' in out
    assert 'survives 1 host failure(s)' in out.splitlines()[-1]
    assert shell.main(['--url', api.url, 'capacity', '-f', 'json']) == 0
    cloud = json.loads(capsys.readouterr().out)[-1]
    assert cloud['vCPU used / total'] == {'used': 26, 'total': 48}
    assert cloud['Usable hosts']['total'] == 3

    # a typo is refused, never "fits: yes" for a host that does not exist
    assert shell.main(['--url', api.url, 'plan', 'compute-9']) == 1
    captured = capsys.readouterr()
    assert captured.out == ''
    assert "unknown host 'compute-9': neither Nova nor VMR knows it " \
           "(known: compute-1, compute-2, compute-3)" in captured.err
