"""Fixtures of the real tier: real Keystone, Placement, Nova and Glance.

``real`` is one :class:`vmr_lab.real.cloud.RealCloud` for the whole session
(its start-up costs about two minutes), with three hosts, each a real
nova-compute behind a virtual IPMI BMC.  ``cloud`` hands it to one test and
afterwards puts it back as it was: hosts powered on and reporting, compute
services un-forced and enabled, every server deleted, the monitor's
violations forgotten.

The releases install on first use (``vmr_lab.real.install``); MariaDB and
RabbitMQ come from Debian (``tools/run-tests.sh`` installs them).  Without
them the tests are skipped with the reason -- except under CI, where a
missing piece fails the run instead of hiding it.

Tests marked ``slow`` run only with ``VMR_SLOW=1`` (``tox -e real``); the
rest are the subset the README's test command runs.

Optional services (Aodh, Mistral) start with the session's tier only when
a test that will run asks for them with
``@pytest.mark.real_services('aodh')``: a session whose Aodh tests are
skipped or deselected does not pay for them.
"""

import os

import pytest

from tests.slow import skip_slow_unless_asked

HERE = os.path.dirname(os.path.abspath(__file__))


#: per test, including the session cloud's start-up that the first test
#: pays for (Keystone, Placement, Nova, Glance, Neutron and their database
#: syncs: 3 minutes idle, 7-9 on a loaded 2-core machine)
REAL_TIMEOUT = 1200


def pytest_collection_modifyitems(config, items):
    skip_slow_unless_asked(items, HERE)
    for item in items:
        if str(item.fspath).startswith(HERE) and \
                item.get_closest_marker('timeout') is None:
            item.add_marker(pytest.mark.timeout(REAL_TIMEOUT))


def _missing():
    from vmr_lab.real import infra
    try:
        infra.check_binaries()
    except RuntimeError as exc:
        return str(exc)
    return None


@pytest.fixture(scope='session')
def real_prerequisites():
    """MariaDB and RabbitMQ are there (else skip; under CI, fail)."""
    missing = _missing()
    if missing:
        if os.environ.get('CI'):
            pytest.fail(missing)
        pytest.skip(missing)


def wanted_services(items):
    """The optional services the tests in ``items`` that will run ask for
    (``real_services`` markers; skipped tests ask for nothing)."""
    wanted = set()
    for item in items:
        if item.get_closest_marker('skip') is not None:
            continue
        for marker in item.iter_markers('real_services'):
            wanted.update(marker.args)
    return tuple(sorted(wanted))


@pytest.fixture(scope='session')
def real(real_prerequisites, tmp_path_factory, request):
    """A started real tier with 3 hosts for the whole session (and the
    optional services the session's tests ask for)."""
    from vmr_lab.real.cloud import RealCloud
    cloud = RealCloud(hosts=3, workdir=str(tmp_path_factory.mktemp('real')),
                      services=wanted_services(request.session.items))
    try:
        cloud.start()
    except Exception:
        cloud.stop()
        raise
    yield cloud
    cloud.stop()


@pytest.fixture
def cloud(real):
    """The module's real tier, restored after the test."""
    yield real
    real.restore()


@pytest.fixture
def conn(cloud):
    """Admin openstacksdk Connection, compute pinned like the coordinator."""
    connection = cloud.connect(cloud.cloud_name, compute_api_version='2.95')
    yield connection
    connection.close()


@pytest.fixture
def clouds(cloud, tmp_path, monkeypatch):
    """An operator's shell: the real tier's clouds.yaml as
    ``OS_CLIENT_CONFIG_FILE`` and no other OpenStack variable; its path."""
    path = cloud.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', path)
    for name in ('OS_CLOUD', 'OS_TOKEN', 'VMR_URL'):
        monkeypatch.delenv(name, raising=False)
    return path
