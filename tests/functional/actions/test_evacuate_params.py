"""evacuate's ``target_aggregate`` and ``on_shared_storage``, against the
lab's Nova (which enforces real Nova's rules for both: a named destination
must be enabled, up and have room; ``onSharedStorage`` is required below
microversion 2.14 and refused from it)."""

import openstack.config
import openstack.connection
import pytest

from tests.labfixtures import boot
from tests.support.actions import context, events, fence, run
from vmr_coordinator.actions import base


def _aggregate(conn, name, *hosts):
    aggregate = conn.compute.create_aggregate(name=name)
    for host in hosts:
        conn.compute.add_host_to_aggregate(aggregate, host)
    return aggregate


def _disable(conn, host):
    service = next(s for s in conn.compute.services(binary='nova-compute')
                   if s.host == host)
    conn.compute.disable_service(service, disabled_reason='test: full')


@pytest.fixture
def old_conn(lab, tmp_path):
    """Admin Connection pinned to compute 2.11 (before Nova detected shared
    storage by itself)."""
    path = lab.write_clouds_yaml(str(tmp_path / 'clouds-old.yaml'))
    config = openstack.config.OpenStackConfig(config_files=[path])
    conn = openstack.connection.Connection(
        config=config.get_one('vmr-lab', compute_api_version='2.11'))
    yield conn
    conn.close()


# -- target_aggregate -----------------------------------------------------------
def test_target_aggregate_chooses_a_usable_host_inside_it(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    # compute-2 has more free RAM: the scheduler alone would pick it.
    boot(conn, 'filler-1', 'compute-3')
    _aggregate(conn, 'spares', 'compute-1', 'compute-3')
    fence(lab, conn, 'compute-1')

    _, result = run('evacuate', {'target_aggregate': 'spares'},
                    context(conn, web, 'compute-1'))
    assert result.startswith(
        'evacuated to compute-3, ACTIVE (target_aggregate spares: compute-3 '
        'is its only usable host with room)')
    [sent] = events(lab, 'evacuate')
    assert (sent['requested'], sent['dest']) == ('compute-3', 'compute-3')
    assert conn.compute.get_server(web.id).compute_host == 'compute-3'
    assert lab.monitor.violations() == []


def test_target_aggregate_says_why_other_members_were_passed_over(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    _aggregate(conn, 'spares', 'compute-2', 'compute-3')
    _disable(conn, 'compute-2')
    fence(lab, conn, 'compute-1')

    _, result = run('evacuate', {'target_aggregate': 'spares'},
                    context(conn, web, 'compute-1'))
    assert ('(target_aggregate spares: compute-3 is its only usable host '
            'with room; not compute-2: compute service disabled)') in result
    assert conn.compute.get_server(web.id).compute_host == 'compute-3'


def test_target_aggregate_without_a_usable_host_fails_the_step(lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    _aggregate(conn, 'spares', 'compute-1', 'compute-2')
    _disable(conn, 'compute-2')
    fence(lab, conn, 'compute-1')

    with pytest.raises(base.ActionError) as err:
        run('evacuate', {'target_aggregate': 'spares'},
            context(conn, web, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert str(err.value) == ('target_aggregate: no usable host in aggregate '
                              'spares (compute-2: compute service disabled)')
    assert events(lab, 'evacuate') == []

    with pytest.raises(base.ActionError) as err:
        run('evacuate', {'target_aggregate': 'nowhere'},
            context(conn, web, 'compute-1'))
    assert 'aggregate nowhere holds no host other than compute-1' in str(
        err.value)
    assert events(lab, 'evacuate') == []


# -- on_shared_storage ----------------------------------------------------------
def test_on_shared_storage_is_not_sent_from_2_14_and_the_result_says_so(
        lab, conn):
    web = boot(conn, 'web-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    _, result = run('evacuate', {'on_shared_storage': True},
                    context(conn, web, 'compute-1'))
    assert '(on_shared_storage true not sent: Nova detects shared storage ' \
           'itself at microversion 2.94)' in result
    [sent] = events(lab, 'evacuate')
    assert sent['on_shared_storage'] is None


def test_on_shared_storage_is_sent_below_2_14(lab, conn, old_conn):
    web = boot(conn, 'web-1', 'compute-1')
    db = boot(conn, 'db-1', 'compute-1')
    fence(lab, conn, 'compute-1')

    _, result = run('evacuate', {'on_shared_storage': True},
                    context(old_conn, web, 'compute-1'))
    assert result.startswith('evacuated to ')
    [sent] = events(lab, 'evacuate')
    assert (sent['microversion'], sent['on_shared_storage']) == ('2.11', True)

    # auto cannot be expressed below 2.14: one clear error, nothing sent.
    with pytest.raises(base.ActionError) as err:
        run('evacuate', {'on_shared_storage': 'auto'},
            context(old_conn, db, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert 'on_shared_storage: auto needs compute microversion 2.14' in str(
        err.value)
    assert 'set on_shared_storage to true or false' in str(err.value)
    assert len(events(lab, 'evacuate')) == 1
