"""Keystone v3 through openstacksdk/keystoneauth: auth, catalog, roles."""

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions



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


def test_wrong_password_is_401(conn):
    import openstack
    with pytest.raises((exceptions.SDKException,
                        ks_exceptions.Unauthorized)) as info:
        openstack.connect(auth_url=conn.session.auth.auth_url,
                          username='admin',
                          password='wrong', project_name='admin',
                          user_domain_name='Default',
                          project_domain_name='Default').authorize()
    assert '401' in str(info.value)


def test_users_and_roles_listing(conn):
    roles = {r.name for r in conn.identity.roles()}
    assert {'admin', 'member', 'reader'} <= roles
    assert any(u.name for u in conn.identity.users())


def test_project_scope_needs_a_role_there(conn, member_conn):
    """Like Keystone: no role on a project, no token scoped to it (401);
    ``openstack role add`` (PUT .../roles/{role}) grants it."""
    demo = member_conn.current_project_id
    me = conn.current_user_id
    scoped = conn.connect_as(project_id=demo)
    with pytest.raises(ks_exceptions.Unauthorized) as info:
        scoped.session.get_token()
    assert info.value.http_status == 401

    member = conn.identity.find_role('member')
    conn.identity.assign_project_role_to_user(demo, me, member)
    scoped = conn.connect_as(project_id=demo)
    access = scoped.session.auth.get_access(scoped.session)
    assert (access.project_id, access.user_id) == (demo, me)
    assert sorted(access.role_names) == ['member', 'reader']

    conn.identity.unassign_project_role_from_user(demo, me, member)
    with pytest.raises(ks_exceptions.Unauthorized):
        conn.connect_as(project_id=demo).session.get_token()
    # Only an admin assigns roles (the SDK drops the 403 on the floor).
    member_conn.identity.assign_project_role_to_user(demo, me, member)
    with pytest.raises(ks_exceptions.Unauthorized):
        conn.connect_as(project_id=demo).session.get_token()
