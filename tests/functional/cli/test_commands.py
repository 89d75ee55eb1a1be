"""Every `vmr` command against the real API (noauth) on a real etcd."""

import csv
import io
import json
import re
import subprocess
import sys

import yaml

CONTRACT = '''\
name: web-ha
priority: 200
trigger: {type: host_down}
selector:
  metadata: {ha: "true"}
action: {type: evacuate}
on_failure: [{type: boot_from_snapshot}]
'''


def write(tmp_path, text, name='contract.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_contract_lifecycle(vmr, api, tmp_path):
    path = write(tmp_path, CONTRACT)
    out, _ = vmr('contract', 'validate', path, '-f', 'json')
    assert json.loads(out)['name'] == 'web-ha'
    assert api.store.get(api.store.keys.contract('web-ha')) is None

    out, _ = vmr('contract', 'create', path)
    assert 'web-ha' in out and 'evacuate' in out
    assert api.store.get(api.store.keys.contract('web-ha')) is not None

    _, err = vmr('contract', 'create', path, expect=1)
    assert 'exists' in err and 'HTTP 409' in err
    replaced = write(tmp_path, CONTRACT.replace('200', '300'), 'v2.yaml')
    out, _ = vmr('contract', 'create', '--replace', replaced, '-f', 'json')
    assert json.loads(out)['priority'] == 300

    out, _ = vmr('contract', 'list', '-f', 'json')
    (row,) = json.loads(out)
    assert row['Name'] == 'web-ha'
    assert row['On failure'] == 'boot_from_snapshot'
    assert row['Selector'] == {'metadata': {'ha': 'true'}}

    out, _ = vmr('contract', 'show', 'web-ha', '-f', 'yaml')
    shown = yaml.safe_load(out)
    assert shown['action'] == {'type': 'evacuate', 'params': {
        'on_shared_storage': 'auto', 'start_if_shutoff': True,
        'lost_after': 300}}

    out, _ = vmr('contract', 'delete', 'web-ha')
    assert 'deleted contract web-ha' in out
    _, err = vmr('contract', 'delete', 'web-ha', expect=1)
    assert "no contract named 'web-ha'" in err


def test_contract_validate_names_the_bad_field(vmr, tmp_path):
    bad = write(tmp_path, CONTRACT.replace('evacuate', 'evacuat'))
    _, err = vmr('contract', 'validate', bad, expect=1)
    assert 'action.type' in err and 'HTTP 400' in err
    broken = write(tmp_path, 'name: [unclosed', 'broken.yaml')
    _, err = vmr('contract', 'create', broken, expect=1)
    assert 'not valid YAML' in err
    _, err = vmr('contract', 'create', str(tmp_path / 'missing.yaml'),
                 expect=1)
    assert 'cannot read' in err


def test_contract_create_dry_run_from_json(vmr, api, tmp_path):
    doc = yaml.safe_load(CONTRACT)
    path = write(tmp_path, json.dumps(doc), 'c.json')
    out, _ = vmr('contract', 'create', '--dry-run', path, '-f', 'value',
                 '-c', 'name')
    assert out.strip() == 'web-ha'
    assert api.store.get(api.store.keys.contract('web-ha')) is None


DRAIN = {'name': 'drain', 'trigger': {'type': 'maintenance'},
         'selector': {'all': True}, 'action': {'type': 'live_migrate'}}


def test_host_commands(vmr, api):
    api.add_host('compute-1')
    api.add_member('compute-1', version='0.1.0')
    api.add_host('compute-2', state='blocked', recovery='r-9')

    out, _ = vmr('host', 'list')
    assert 'compute-1' in out and 'blocked' in out and 'r-9' in out
    out, _ = vmr('host', 'list', '--state', 'blocked', '-f', 'value',
                 '-c', 'Host')
    assert out.split() == ['compute-2']

    out, _ = vmr('host', 'show', 'compute-1', '-f', 'json')
    shown = json.loads(out)
    assert shown['boot_id'] == 'b-compute-1'
    assert shown['live'] is True
    assert shown['member']['version'] == '0.1.0'

    api.store.put(api.store.keys.contract('drain'), DRAIN)
    out, _ = vmr('host', 'maintenance', 'compute-1', '--on', '--reason',
                 'BIOS update', '-f', 'json')
    assert json.loads(out)['maintenance'] is True
    record = api.store.get(api.store.keys.host('compute-1')).json()
    assert record['maintenance_reason'] == 'BIOS update'
    vmr('host', 'maintenance', 'compute-1', '--off')
    assert api.store.get(api.store.keys.host(
        'compute-1')).json()['maintenance'] is False
    _, err = vmr('host', 'maintenance', 'compute-1', expect=2)
    assert '--on' in err

    _, err = vmr('host', 'confirm-fenced', 'compute-2', expect=1)
    assert '--yes' in err
    out, _ = vmr('host', 'confirm-fenced', 'compute-2', '--yes', '--reason',
                 'PDU off')
    assert 'handed to the leader' in out
    request = api.store.get(api.store.keys.root +
                            'requests/confirm-fenced/compute-2').json()
    assert request['reason'] == 'PDU off'
    _, err = vmr('host', 'show', 'compute-9', expect=1)
    assert "no host named 'compute-9'" in err


def test_host_list_output_formats(vmr, api):
    api.add_host('compute-1')
    api.add_host('compute-2', state='failed')
    api.add_member('compute-1')

    out, _ = vmr('host', 'list', '-f', 'table')
    assert out.splitlines()[0].startswith('+')
    assert '| Host' in out and '| compute-2' in out

    out, _ = vmr('host', 'list', '-f', 'json')
    rows = json.loads(out)
    assert [(r['Host'], r['State'], r['Live']) for r in rows] == [
        ('compute-1', 'up', True), ('compute-2', 'failed', False)]
    # a time, not "8.6 s ago", for machines
    assert all(r['Since'] is None or r['Since'].endswith('Z') for r in rows)

    out, _ = vmr('host', 'list', '-f', 'yaml')
    assert [r['Host'] for r in yaml.safe_load(out)] == ['compute-1',
                                                        'compute-2']

    out, _ = vmr('host', 'list', '-f', 'value', '-c', 'Host', '-c', 'State')
    assert out.splitlines() == ['compute-1 up', 'compute-2 failed']

    out, _ = vmr('host', 'list', '-f', 'csv')
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:2] == ['Host', 'State']
    assert rows[2][:2] == ['compute-2', 'failed']


def test_recovery_commands(vmr, api):
    api.add_recovery('r-1', 'compute-2', state='acting')
    api.add_recovery('r-0', 'compute-1', state='done', created_at=50.0)

    out, _ = vmr('recovery', 'list', '-f', 'json')
    rows = json.loads(out)
    assert [r['ID'] for r in rows] == ['r-1', 'r-0']
    # values in json, the sentence in tables
    assert rows[0]['Steps'] == {'total': 2, 'by_state': {'done': 1,
                                                         'running': 1}}
    assert rows[0]['Created'].endswith('Z') and 'T' in rows[0]['Created']
    out, _ = vmr('recovery', 'list', '-f', 'value', '-c', 'Steps')
    assert '1 done, 1 running of 2' in out.splitlines()
    out, _ = vmr('recovery', 'list', '--state', 'done', '-f', 'value',
                 '-c', 'ID')
    assert out.split() == ['r-0']
    out, _ = vmr('recovery', 'list', '--limit', '1', '-f', 'value', '-c',
                 'ID')
    assert out.split() == ['r-1']

    out, _ = vmr('recovery', 'show', 'r-1')
    assert 'Recovery r-1: host compute-2, ACTING (trigger host_down)' in out
    assert 'Fencing: verified off' in out
    assert 'web-1 (s1)' in out and '[req-1]' in out
    assert '+4.0 s' in out and 'fenced' in out

    out, _ = vmr('recovery', 'show', 'r-1', '-f', 'json')
    data = json.loads(out)
    assert data['steps'][0]['request_ids'] == ['req-1']
    assert data['created_at'] == '1970-01-01T00:01:40.000Z'
    _, err = vmr('recovery', 'show', 'r-404', expect=1)
    assert 'no recovery' in err


def test_recovery_history_list_and_purge(vmr, api):
    import time
    from tests.support.api_harness import archive
    api.add_recovery('r-open', 'compute-2', state='acting')
    week_ago = time.time() - 7 * 86400
    archive(api, 'r-week', 'compute-1', week_ago + 3600,
            updated_at=week_ago)
    archive(api, 'r-hour', 'compute-1', time.time(),
            updated_at=time.time() - 3600)

    out, _ = vmr('recovery', 'list', '-f', 'value', '-c', 'ID')
    assert out.split() == ['r-open']
    out, _ = vmr('recovery', 'list', '--all', '-f', 'json')
    rows = {r['ID']: r for r in json.loads(out)}
    assert sorted(rows) == ['r-hour', 'r-open', 'r-week']
    assert rows['r-open']['Archived'] is None
    assert rows['r-week']['Archived'].endswith('Z')

    _, err = vmr('recovery', 'purge', 'r-open', expect=1)
    assert 'still in the journal' in err
    _, err = vmr('recovery', 'purge', expect=1)
    assert 'give recovery ids or --older-than DAYS' in err
    out, _ = vmr('recovery', 'purge', '--older-than', '2')
    assert out.split('\n')[0] == 'purged recovery r-week'
    out, _ = vmr('recovery', 'list', '--all', '-f', 'value', '-c', 'ID')
    assert sorted(out.split()) == ['r-hour', 'r-open']
    out, _ = vmr('recovery', 'purge', '--older-than', '2')
    assert 'nothing in the history closed more than 2 days ago' in out


def test_segment_create_set_list_show_delete(vmr, api):
    out, _ = vmr('segment', 'create', 'rack-a', '--host', 'compute-1',
                 '--host', 'compute-2', '--reserved', 'compute-9',
                 '--recovery-method', 'rh_priority', '-f', 'json')
    shown = json.loads(out)
    assert shown['hosts'] == 'compute-1, compute-2'
    assert shown['reserved_hosts'] == 'compute-9'
    assert shown['recovery_method'] == 'rh_priority'
    _, err = vmr('segment', 'create', 'rack-b', '--host', 'compute-2',
                 expect=1)
    assert 'host compute-2 is in segment rack-a already' in err
    _, err = vmr('segment', 'create', 'rack-c', '--host', 'compute-5',
                 '--recovery-method', 'reserved_host', expect=1)
    assert 'recovery_method reserved_host needs reserved_hosts' in err

    # the used spare compute-9 took servers; compute-2 becomes the spare
    out, _ = vmr('segment', 'set', 'rack-a', '--add-host', 'compute-9',
                 '--reserved', 'compute-2', '--disable', '-f', 'json')
    shown = json.loads(out)
    assert shown['hosts'] == 'compute-1, compute-9'
    assert shown['reserved_hosts'] == 'compute-2'
    assert shown['enabled'] is False
    _, err = vmr('segment', 'set', 'rack-a', '--remove-host', 'compute-7',
                 expect=1)
    assert 'compute-7 is not in segment rack-a' in err

    out, _ = vmr('segment', 'list', '-f', 'json')
    assert json.loads(out) == [{
        'Name': 'rack-a', 'Recovery method': 'rh_priority',
        'Members': 'compute-1, compute-9', 'Reserved hosts': 'compute-2',
        'Enabled': False}]
    out, _ = vmr('segment', 'show', 'rack-a', '-f', 'value', '-c',
                 'recovery_method')
    assert out.strip() == 'rh_priority'
    out, _ = vmr('segment', 'delete', 'rack-a')
    assert out.strip() == 'deleted segment rack-a'
    _, err = vmr('segment', 'show', 'rack-a', expect=1)
    assert "no segment named 'rack-a'" in err


def test_status_pause_resume_brake(vmr, api):
    api.add_host('compute-1')
    api.add_host('compute-2', state='failed')
    api.add_member('compute-1', heartbeat='grpc')
    api.store.put(api.store.keys.leader, 'controller-1')

    out, _ = vmr('status', '-f', 'json')
    status = json.loads(out)
    assert status['leader'] == 'controller-1'
    # (other tests' agents may still be live in the shared group)
    assert status['agents_live']['live'] >= 1
    assert status['agents_live']['heartbeat']['grpc'] >= 1
    assert status['hosts']['total'] == 2
    assert status['hosts']['by_state']['failed'] == 1
    assert status['paused'] is False
    assert status['brake'] is None
    out, _ = vmr('status', '-f', 'value', '-c', 'hosts', '-c', 'brake',
                 '-c', 'agents_live')
    assert '2 (failed=1, up=1)' in out and 'released' in out
    assert 'heartbeat: ' in out and 'grpc=' in out

    out, _ = vmr('pause', '--reason', 'etcd upgrade')
    assert 'paused' in out and 'etcd upgrade' in out
    out, _ = vmr('status', '-f', 'json')
    assert json.loads(out)['paused']['reason'] == 'etcd upgrade'
    out, _ = vmr('resume')
    assert out.strip() == 'VMR resumed'
    assert api.store.get(api.store.keys.pause) is None

    api.store.put(api.store.keys.brake, {'zones': {'az1': {
        'reason': '4 of 5 hosts went silent', 'hosts': []}}, 'since': 1.0})
    out, _ = vmr('status', '-f', 'value', '-c', 'brake')
    assert 'az1: 4 of 5 hosts went silent' in out
    out, _ = vmr('brake', 'release')
    assert out.strip() == 'disruption brake released'
    out, _ = vmr('brake', 'release')
    assert 'not engaged' in out


def test_as_a_subprocess_with_the_url_from_the_environment(api):
    import os
    env = dict(os.environ, VMR_URL=api.url)
    result = subprocess.run(
        [sys.executable, '-m', 'vmr_client.shell', 'status', '-f', 'json'],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)['leader'] is None   # no leader yet


def test_no_url_and_unreachable_api(capsys, monkeypatch):
    from tests.etcd_fixture import free_port
    from vmr_client import shell
    for name in ('VMR_URL', 'OS_CLOUD', 'OS_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    assert shell.main(['status']) == 1
    assert '--url' in capsys.readouterr().err
    url = 'http://127.0.0.1:%d' % free_port()
    assert shell.main(['--url', url, 'status']) == 1
    assert 'cannot reach the VMR API' in capsys.readouterr().err


def test_status_shows_keepalived_pairs(vmr, api):
    out, _ = vmr('status', '-c', 'vrrp')
    assert re.search(r'\| vrrp +\| none +\|', out), out
    for instance, state in (('web-1', 'MASTER'), ('web-2', 'BACKUP')):
        api.store.put(api.store.keys.root + 'vrrp/web/' + instance, {
            'pair': 'web', 'instance': instance, 'state': state,
            'previous': None, 'received_at': 100.0, 'from': '10.0.0.5'})
    api.store.put(api.store.keys.root + 'vrrp/db/db-1', {
        'pair': 'db', 'instance': 'db-1', 'state': 'FAULT',
        'previous': 'MASTER', 'received_at': 100.0, 'from': '10.0.0.6'})

    out, _ = vmr('status')
    assert '| vrrp ' in out
    assert 'db: db-1 FAULT (no MASTER)' in out
    assert 'web: web-1 MASTER, web-2 BACKUP' in out

    out, _ = vmr('status', '-f', 'json')
    vrrp = json.loads(out)['vrrp']
    assert vrrp['web']['web-2']['state'] == 'BACKUP'
    assert vrrp['db']['db-1']['previous'] == 'MASTER'


def test_status_names_an_agent_refused_as_a_duplicate(vmr, api):
    from vmr_agent.membership import Membership
    group = api.conf.heartbeat.group
    first = Membership(api.store, 'compute-7', group, 2)
    clone = Membership(api.store, 'compute-7', group, 2)
    try:
        out, _ = vmr('status', '-f', 'value', '-c', 'duplicate_agents')
        assert out.strip() == 'none'
        first.join({'boot_id': 'b-first',
                    'addresses': {'management': '10.0.0.7'}})
        assert clone.join({'boot_id': 'b-clone', 'addresses': {
            'management': '10.0.0.8'}}) == 'refused'
        out, _ = vmr('status', '-f', 'value', '-c', 'duplicate_agents')
        assert out.strip() == (
            'REFUSED compute-7 (boot id b-clone, management=10.0.0.8): the '
            'name is held by boot id b-first (management=10.0.0.7)')
        [report] = api.get('/v1/status').json()['duplicate_agents']
        assert report['holder']['boot_id'] == 'b-first'
        metrics = api.get('/metrics').text
        assert 'vmr_duplicate_agents 1.0' in metrics
    finally:
        first.close()
        clone.close()


def test_recover_hands_a_manual_request_to_the_leader(vmr, api):
    api.store.put(api.store.keys.contract('by-hand'), {
        'name': 'by-hand', 'trigger': {'type': 'manual'},
        'selector': {'all': True}, 'action': {'type': 'reboot'}})
    api.store.put(api.store.keys.contract('web-ha'), {
        'name': 'web-ha', 'trigger': {'type': 'host_down'},
        'selector': {'all': True}, 'action': {'type': 'evacuate'}})
    api.add_host('compute-1')

    out, _ = vmr('recover', '--contract', 'by-hand', 'web-1')
    assert out.startswith('manual recovery manual-web-1-')
    assert 'of server web-1 with contract by-hand' in out
    out, _ = vmr('recover', '--contract', 'by-hand', '--host', 'compute-1',
                 '--reason', 'kernel update')
    assert 'of host compute-1' in out
    kvs, _ = api.store.get_prefix(api.store.keys.events)
    assert sorted(str(kv.json().get('servers') or kv.json().get('host'))
                  for kv in kvs) == ["['web-1']", 'compute-1']

    _, err = vmr('recover', '--contract', 'web-ha', 'web-1', expect=1)
    assert 'only a contract with trigger manual' in err
    _, err = vmr('recover', '--contract', 'by-hand', 'web-1', '--host',
                 'compute-1', expect=2)
    assert 'not allowed with argument' in err


def test_maintenance_on_without_a_drain_contract_warns(vmr, api):
    api.add_host('compute-1')
    api.store.put(api.store.keys.contract('off'), dict(
        DRAIN, name='off', enabled=False))

    out, err = vmr('host', 'maintenance', 'compute-1', '--on', expect=3)
    # (the in-process API logs to the same stderr)
    warnings = [line for line in err.splitlines()
                if line.startswith('warning: ')]
    assert warnings == [
        'warning: no enabled contract has trigger maintenance: VMR stops '
        'watching compute-1 but moves nothing off it; add one (e.g. '
        'etc/vmr/contracts/live_migrate.yaml) to drain it']
    assert 'maintenance' in out
    assert api.store.get(api.store.keys.host(
        'compute-1')).json()['maintenance'] is True
    # ending maintenance needs no contract: no warning
    _, err = vmr('host', 'maintenance', 'compute-1', '--off')
    assert 'warning: ' not in err
