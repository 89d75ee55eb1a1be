"""Fixtures for the lab tests: a started lab cloud and openstacksdk clients.

``lab``
    a :class:`vmr_lab.cloud.LabCloud` started in this process (3 hosts, no
    servers, short delays), stopped after the test even on failure.
``clouds_yaml``
    path of the clouds.yaml written for it.
``conn`` / ``member_conn`` / ``reader_conn``
    openstacksdk connections as admin, project member and reader.

With ``VMR_TEST_CLOUD=<name>`` the connections come from the user's
clouds.yaml instead (``VMR_TEST_MEMBER_CLOUD`` / ``VMR_TEST_READER_CLOUD``
for the others) and every test that needs the ``lab`` fixture is skipped
with a reason: that keeps the lab honest against a real cloud.
"""

import os
import uuid

import openstack
import openstack.config
import pytest

from tests.labfixtures import lab_fixture
from tests.support.lab import FAST_DELAYS, REAL_CLOUD

lab = lab_fixture(
    hosts=3, delays=FAST_DELAYS,
    skip='VMR_TEST_CLOUD=%s: lab-only test' % REAL_CLOUD if REAL_CLOUD
    else None,
    doc='A started lab cloud with 3 hosts; stopped after the test.')


@pytest.fixture
def clouds_yaml(lab, tmp_path):
    """clouds.yaml of the ``lab`` fixture."""
    return lab.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))


def _connect(cloud_name, config_file=None):
    if config_file:
        config = openstack.config.OpenStackConfig(config_files=[config_file])
        region = config.get_one(cloud_name)
        return openstack.connection.Connection(config=region)
    return openstack.connect(cloud=cloud_name)


def _lab_connection(request, cloud_name, real_env):
    if REAL_CLOUD:
        name = REAL_CLOUD if real_env is None else os.environ.get(real_env)
        if not name:
            pytest.skip('set %s to run this test against a real cloud'
                        % real_env)
        conn = _connect(name)
    else:
        path = request.getfixturevalue('clouds_yaml')
        conn = _connect(cloud_name, path)
    request.addfinalizer(conn.close)
    return conn


@pytest.fixture
def conn(request):
    """openstacksdk connection with the admin role."""
    return _lab_connection(request, 'vmr-lab', None)


@pytest.fixture
def member_conn(request):
    """openstacksdk connection of a project member (no admin role)."""
    return _lab_connection(request, 'vmr-lab-member', 'VMR_TEST_MEMBER_CLOUD')


@pytest.fixture
def reader_conn(request):
    """openstacksdk connection of a reader."""
    return _lab_connection(request, 'vmr-lab-reader', 'VMR_TEST_READER_CLOUD')


@pytest.fixture
def unique_name():
    """A name prefix unique to the test run (real clouds are shared)."""
    return 'vmr-test-%s' % uuid.uuid4().hex[:8]
