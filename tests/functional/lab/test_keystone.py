"""Keystone v3 through openstacksdk/keystoneauth: auth, catalog, roles."""

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions

from tests.functional.lab.conftest import REAL_CLOUD


def test_token_project_scope_and_catalog(conn):
    access = conn.session.auth.get_access(conn.session)
    assert access.project_id == conn.current_project_id
    assert 'admin' in access.role_names
    types = {entry['type'] for entry in access.service_catalog.catalog}
    assert {'identity', 'compute'} <= types
    # every service the catalog names answers its version discovery
    assert conn.compute.get_endpoint_data().max_microversion
    assert conn.identity.get_endpoint_data().api_version == (3, 14)


def test_member_roles_and_projects(member_conn, conn):
    access = member_conn.session.auth.get_access(member_conn.session)
    assert 'admin' not in access.role_names
    assert 'member' in access.role_names
    project = conn.identity.get_project(member_conn.current_project_id)
    assert project.id == member_conn.current_project_id
    with pytest.raises(exceptions.ForbiddenException):
        list(member_conn.identity.projects())


@pytest.mark.skipif(REAL_CLOUD is not None,
                    reason='VMR_TEST_CLOUD is set: uses lab credentials')
def test_wrong_password_is_401(lab, tmp_path):
    import openstack
    with pytest.raises((exceptions.SDKException,
                        ks_exceptions.Unauthorized)) as info:
        openstack.connect(auth_url=lab.auth_url, username='admin',
                          password='wrong', project_name='admin',
                          user_domain_name='Default',
                          project_domain_name='Default').authorize()
    assert '401' in str(info.value)


def test_users_and_roles_listing(conn):
    roles = {r.name for r in conn.identity.roles()}
    assert {'admin', 'member', 'reader'} <= roles
    assert any(u.name for u in conn.identity.users())
