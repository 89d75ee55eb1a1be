"""``vmr import-masakari`` against Masakari 22's own API (issue 21).

The session's real tier runs masakari-api for this test only
(``real_services('masakari')``).  Segments and hosts are made through
Masakari's API with openstacksdk -- Masakari checks each host against the
tier's real Nova -- then an operator's ``vmr import-masakari`` (the tier's
clouds.yaml, VMR's API in noauth mode on etcd) writes VMR segments that
must say what Masakari says.
"""

import json

import openstack.exceptions
import pytest

from tests.support.api_harness import Cli, start_harness

pytestmark = [pytest.mark.slow, pytest.mark.real_services('masakari')]


@pytest.fixture
def masakari(cloud, conn):
    """Three Masakari segments, deleted afterwards: ``rack-a``
    (rh_priority, compute-1 on maintenance, compute-3 reserved), ``rack B``
    (auto, compute-2, disabled; a name VMR cannot take) and ``empty`` (no
    hosts; Masakari keeps such a segment, VMR does not)."""
    assert cloud.openstack.masakari, \
        'the session tier was started without Masakari'
    ha = conn.instance_ha
    made = []

    def segment(name, method, hosts, **fields):
        seg = ha.create_segment(name=name, recovery_method=method,
                                service_type='COMPUTE', **fields)
        made.append(seg)
        for host_name, extra in hosts:
            ha.create_host(seg.uuid, name=host_name, type='COMPUTE',
                           control_attributes='SSH', **extra)
        return seg
    segment('rack-a', 'rh_priority',
            [('compute-1', {'on_maintenance': True}),
             ('compute-3', {'reserved': True})],
            description='rack A, one spare')
    segment('rack B', 'auto', [('compute-2', {})], is_enabled=False)
    segment('empty', 'auto', [])
    yield ha
    for seg in made:
        for host in list(ha.hosts(seg.uuid)):
            ha.delete_host(host, seg.uuid)
        ha.delete_segment(seg.uuid)


@pytest.fixture
def vmr(etcd_server, capsys):
    harness = start_harness(etcd_server)
    yield Cli(harness, capsys)
    harness.close()


def test_import_masakari_writes_what_masakari_says(masakari, clouds, cloud,
                                                   vmr):
    # Masakari refuses a host real Nova does not have: it is the referee
    # of host names too.
    seg = next(s for s in masakari.segments() if s.name == 'rack-a')
    with pytest.raises(openstack.exceptions.HttpException,
                       match='compute-99'):
        masakari.create_host(seg.uuid, name='compute-99', type='COMPUTE',
                             control_attributes='SSH')

    source = ['--masakari-cloud', cloud.cloud_name]
    # A name VMR cannot take stops the import before anything is written.
    _, err = vmr('import-masakari', *source, expect=1)
    assert "'rack B' cannot be a VMR segment name" in err
    assert '--rename rack B=NEW-NAME' in err
    out, _ = vmr('segment', 'list', '-f', 'json')
    assert json.loads(out) == []

    rename = ['--rename', 'rack B=rack-b']
    out, _ = vmr('import-masakari', *source, *rename, '--dry-run',
                 '-f', 'json')
    assert {r['Segment']: r['Result'] for r in json.loads(out)} == {
        'rack-a': 'would write', 'rack-b': 'would write',
        'empty': 'skipped: no hosts in Masakari'}
    out, _ = vmr('segment', 'list', '-f', 'json')
    assert json.loads(out) == []

    # A segment VMR refuses (compute-1 is in another VMR segment) is
    # reported in its row; the others are still written; exit status 1.
    vmr('segment', 'create', 'other', '--host', 'compute-1')
    out, _ = vmr('import-masakari', *source, *rename, '-f', 'json',
                 expect=1)
    rows = {r['Segment']: r['Result'] for r in json.loads(out)}
    assert rows['rack-a'].startswith('refused: host compute-1 is in segment '
                                     'other already'), rows
    assert (rows['rack-b'], rows['empty']) == (
        'created', 'skipped: no hosts in Masakari')
    vmr('segment', 'delete', 'other')

    out, _ = vmr('import-masakari', *source, *rename, '-f', 'json')
    rows = {r['Segment']: r for r in json.loads(out)}
    assert {n: r['Result'] for n, r in rows.items()} == {
        'rack-a': 'created', 'rack-b': 'exists (kept; --replace overwrites)',
        'empty': 'skipped: no hosts in Masakari'}
    assert rows['rack-a']['Notes'] == (
        'compute-1 is on maintenance in Masakari: vmr host maintenance '
        'compute-1 --on')

    out, _ = vmr('segment', 'show', 'rack-a', '-f', 'json')
    a = json.loads(out)
    assert (a['recovery_method'], a['hosts'], a['reserved_hosts'],
            a['enabled'], a['description']) == (
        'rh_priority', 'compute-1', 'compute-3', True, 'rack A, one spare')
    out, _ = vmr('segment', 'show', 'rack-b', '-f', 'json')
    b = json.loads(out)
    assert (b['recovery_method'], b['hosts'], b['enabled']) == (
        'auto', 'compute-2', False)

    # Again: nothing is overwritten without --replace; with it, a change
    # made in Masakari since is carried over.
    out, _ = vmr('import-masakari', *source, *rename, 'rack-a', 'rack B',
                 '-f', 'json')
    assert {r['Result'] for r in json.loads(out)} == {
        'exists (kept; --replace overwrites)'}
    masakari.update_segment(seg.uuid, recovery_method='auto_priority')
    out, _ = vmr('import-masakari', *source, 'rack-a', '--replace',
                 '-f', 'json')
    assert [(r['Segment'], r['Result']) for r in json.loads(out)] == [
        ('rack-a', 'replaced')]
    out, _ = vmr('segment', 'show', 'rack-a', '-f', 'json')
    assert json.loads(out)['recovery_method'] == 'auto_priority'

    # A segment Masakari does not have is named, with what it has.
    _, err = vmr('import-masakari', *source, 'rack-z', expect=1)
    assert "no Masakari segment rack-z; Masakari has: empty, rack B, rack-a" in err
