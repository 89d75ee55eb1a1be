"""Fixtures of the action tests: a lab cloud and openstacksdk against it.

Every test gets a fresh lab (3 hosts, short delays) and an admin
Connection pinned to the microversion the coordinator uses, then drives an
action exactly as the engine does: ``load_action(name, params).run(ctx)``
(the helpers are in :mod:`tests.support.actions`).
Nothing of OpenStack is mocked.
"""

import pytest

from tests.labfixtures import conn_fixture, lab_fixture
from tests.support.actions import COMPUTE_MICROVERSION, DELAYS

lab = lab_fixture(hosts=3, delays=DELAYS)
conn = conn_fixture(
    compute_api_version=COMPUTE_MICROVERSION,
    doc='Admin openstacksdk Connection, compute pinned like the coordinator.')
member_conn = conn_fixture(
    compute_api_version=COMPUTE_MICROVERSION, cloud='vmr-lab-member',
    name='member_conn',
    doc='Connection of the lab project member "demo" (not VMR\'s user).')


@pytest.fixture
def vmr_is_member_of_demo(conn, member_conn):
    """What boot_as: owner needs for the demo project's servers:
    ``openstack role add --user <VMR's user> --project demo member``."""
    conn.identity.assign_project_role_to_user(
        member_conn.current_project_id, conn.current_user_id,
        conn.identity.find_role('member'))
