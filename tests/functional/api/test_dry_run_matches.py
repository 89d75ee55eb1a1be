"""``POST /v1/contracts?dry_run=1`` shows which servers of the (lab) cloud
the contract selects, through openstacksdk like the coordinator."""

import pytest

from tests.support.api_harness import start_harness

CONTRACT = {'name': 'web-ha', 'trigger': {'type': 'host_down'},
            'selector': {'metadata': {'ha': 'true'}},
            'action': {'type': 'evacuate'}}


@pytest.fixture
def lab(tmp_path):
    from vmr_lab.cloud import LabCloud
    cloud = LabCloud(hosts=2, servers=0, bmc=False,
                     state_dir=str(tmp_path / 'lab'))
    cloud.start()
    ids = {}
    for name, host in (('web-1', 'compute-1'), ('web-2', 'compute-2'),
                       ('db-1', 'compute-1'), ('amphora-7', 'compute-2')):
        ids[name] = cloud.nova.seed_server(name, host)
        if name != 'db-1':
            cloud.nova.servers[ids[name]]['metadata']['ha'] = 'true'
    cloud.clouds_path = cloud.write_clouds_yaml(str(tmp_path / 'c.yaml'))
    cloud.ids = ids
    try:
        yield cloud
    finally:
        cloud.stop()


def test_dry_run_lists_selected_and_skipped_servers(etcd_server, lab):
    api = start_harness(etcd_server)
    api.conf.set_override('cloud', 'vmr-lab', 'cloud')
    api.conf.set_override('clouds_yaml', lab.clouds_path, 'cloud')
    try:
        r = api.post('/v1/contracts?dry_run=1', CONTRACT)
        assert r.status_code == 200, r.text
        matches = r.json()['matches']
        assert matches['checked'] is True
        assert matches['servers'] == 4
        assert [(s['name'], s['host']) for s in matches['selected']] == [
            ('web-1', 'compute-1'), ('web-2', 'compute-2')]
        assert matches['selected'][0]['id'] == lab.ids['web-1']
        (amphora,) = matches['skipped']
        assert amphora['name'] == 'amphora-7'
        assert 'amphora' in amphora['reason']

        explicit = dict(CONTRACT, selector={'servers': ['amphora-7']})
        matches = api.post('/v1/contracts?dry_run=1', explicit).json()[
            'matches']
        assert [s['name'] for s in matches['selected']] == ['amphora-7']
        assert api.store.get(api.store.keys.contract('web-ha')) is None
    finally:
        api.close()


def test_dry_run_without_a_cloud_still_validates(api):
    api.conf.set_override('cloud', 'no-such-cloud', 'cloud')
    body = api.post('/v1/contracts?dry_run=1', CONTRACT).json()
    assert body['contract']['name'] == 'web-ha'
    assert body['matches']['checked'] is False
    assert 'no-such-cloud' in body['matches']['error']
    body = api.post('/v1/contracts?dry_run=1&match=0', CONTRACT).json()
    assert 'matches' not in body


def test_cli_validate_shows_the_selected_servers(etcd_server, lab, tmp_path,
                                                 capsys):
    import json

    from vmr_client import shell
    api = start_harness(etcd_server)
    api.conf.set_override('cloud', 'vmr-lab', 'cloud')
    api.conf.set_override('clouds_yaml', lab.clouds_path, 'cloud')
    path = tmp_path / 'c.json'
    path.write_text(json.dumps(CONTRACT))
    try:
        capsys.readouterr()
        assert shell.main(['--url', api.url, 'contract', 'validate',
                           str(path)]) == 0
        out = capsys.readouterr().out
        assert 'web-1 (compute-1)' in out and 'web-2 (compute-2)' in out
        assert 'amphora-7 (compute-2): looks like an Octavia amphora' in out
        assert shell.main(['--url', api.url, 'contract', 'validate',
                           str(path), '-f', 'json']) == 0
        shown = json.loads(capsys.readouterr().out)
        assert [s['name'] for s in shown['selected_servers']] == [
            'web-1', 'web-2']
    finally:
        api.close()
