"""Nova key pairs through openstacksdk: per user, and checked at boot.

Real Nova keeps key pairs per *user* (not per project) and looks a server's
``key_name`` up among the calling user's key pairs only; an admin reaches
another user's key pairs with ``user_id`` from microversion 2.10.  VMR's
``boot_from_snapshot`` depends on that, so the lab must do the same.
"""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from openstack import exceptions


def _public_key():
    """A fresh OpenSSH public key and its MD5 fingerprint (Nova's)."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    text = key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()
    digest = hashlib.md5(base64.b64decode(text.split()[1]),
                         usedforsecurity=False).digest()
    return text, ':'.join('%02x' % b for b in digest)


@pytest.fixture
def cleanup(request):
    """Delete the key pairs a test made, even when it fails."""
    made = []

    def later(conn, name, user_id=None):
        made.append((conn, name, user_id))
    yield later
    for conn, name, user_id in made:
        conn.compute.delete_keypair(name, user_id=user_id)


def test_generate_show_list_delete(conn, unique_name, cleanup):
    name = unique_name + '-gen'
    cleanup(conn, name)
    made = conn.compute.create_keypair(name=name)
    assert made.private_key.startswith('-----BEGIN RSA PRIVATE KEY-----')
    assert made.public_key.startswith('ssh-rsa ')
    assert made.type == 'ssh' and made.user_id == conn.current_user_id
    assert len(made.fingerprint.split(':')) == 16

    shown = conn.compute.get_keypair(name)
    assert shown.public_key == made.public_key
    assert shown.fingerprint == made.fingerprint
    assert shown.private_key is None
    assert name in [k.name for k in conn.compute.keypairs()]

    with pytest.raises(exceptions.ConflictException,
                       match="Key pair '%s' already exists." % name):
        conn.compute.create_keypair(name=name)

    conn.compute.delete_keypair(name, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.compute.get_keypair(name)
    assert name not in [k.name for k in conn.compute.keypairs()]
    with pytest.raises(exceptions.NotFoundException):
        conn.compute.delete_keypair(name, ignore_missing=False)


def test_import_ssh_and_x509(conn, unique_name, cleanup):
    public, fingerprint = _public_key()
    cleanup(conn, unique_name + '-ssh')
    made = conn.compute.create_keypair(name=unique_name + '-ssh',
                                       public_key=public)
    assert made.fingerprint == fingerprint and made.private_key is None
    cleanup(conn, unique_name + '-x509')
    cert = conn.compute.create_keypair(name=unique_name + '-x509',
                                       type='x509')
    assert cert.type == 'x509'
    assert cert.public_key.startswith('-----BEGIN CERTIFICATE-----')
    assert len(cert.fingerprint.split(':')) == 20     # SHA-1
    assert conn.compute.get_keypair(cert.name).type == 'x509'
    with pytest.raises(exceptions.BadRequestException,
                       match='failed to generate fingerprint'):
        conn.compute.create_keypair(name=unique_name + '-bad',
                                    public_key='ssh-rsa not-a-key')
    # Nova 34 checks the name with its JSON schema (FACTS.md).
    bad = unique_name + '/x'
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.compute.create_keypair(name=bad)
    assert ("Invalid input for field/attribute name. Value: %s. %r does not "
            "match %r" % (bad, bad, r'^[_\- a-zA-Z0-9]+$')) in str(info.value)


def test_microversions(conn, unique_name, cleanup):
    """Status codes and fields that change with the microversion."""
    public, _ = _public_key()
    compute = conn.compute
    name = unique_name + '-mv'
    cleanup(conn, name)
    resp = compute.post('/os-keypairs', microversion='2.1', json={
        'keypair': {'name': name, 'type': 'ssh'}})
    assert resp.status_code == 400 and 'type' in resp.text
    resp = compute.post('/os-keypairs', microversion='2.1', json={
        'keypair': {'name': name, 'public_key': public}})
    assert resp.status_code == 200
    assert 'type' not in resp.json()['keypair']
    listed = compute.get('/os-keypairs', microversion='2.1').json()
    assert all('type' not in k['keypair'] for k in listed['keypairs'])
    assert compute.delete('/os-keypairs/' + name,
                          microversion='2.1').status_code == 202

    # From 2.92 Nova no longer generates keys.
    resp = compute.post('/os-keypairs', microversion='2.92', json={
        'keypair': {'name': name}})
    assert resp.status_code == 400
    assert "'public_key' is a required property" in resp.text
    resp = compute.post('/os-keypairs', microversion='2.92', json={
        'keypair': {'name': name, 'public_key': public}})
    assert resp.status_code == 201
    assert resp.json()['keypair']['type'] == 'ssh'
    assert compute.delete('/os-keypairs/' + name,
                          microversion='2.92').status_code == 204


def test_key_pairs_belong_to_users(conn, member_conn, unique_name, cleanup):
    """Same project or not, a user sees only their own key pairs."""
    name = unique_name + '-demo'
    member_id = member_conn.current_user_id
    cleanup(member_conn, name)
    member_conn.compute.create_keypair(name=name)
    assert name not in [k.name for k in conn.compute.keypairs()]
    with pytest.raises(exceptions.NotFoundException):
        conn.compute.get_keypair(name)
    # An admin names the user (2.10, what the SDK asks for).
    assert name in [k.name for k in conn.compute.keypairs(user_id=member_id)]
    assert conn.compute.get_keypair(name, user_id=member_id).user_id == \
        member_id
    # Before 2.10 Nova ignores user_id: the admin's own list again.
    old = conn.compute.get('/os-keypairs?user_id=%s' % member_id,
                           microversion='2.9').json()
    assert name not in [k['keypair']['name'] for k in old['keypairs']]
    # A member cannot look at somebody else's.
    with pytest.raises(exceptions.ForbiddenException):
        list(member_conn.compute.keypairs(user_id=conn.current_user_id))


def test_boot_checks_key_name_of_the_caller(conn, member_conn, unique_name,
                                            cleanup):
    """Nova looks key_name up among the caller's key pairs: 400 otherwise."""
    image = next(conn.image.images(status='active'))
    flavor = sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
    common = dict(image_id=image.id, flavor_id=flavor.id, networks='none')
    with pytest.raises(exceptions.BadRequestException,
                       match='Invalid key_name provided.'):
        conn.compute.create_server(name=unique_name + '-nokey',
                                   key_name='nosuch', **common)
    # A key pair of another user of the same project is no better.
    theirs = unique_name + '-theirs'
    cleanup(member_conn, theirs)
    member_conn.compute.create_keypair(name=theirs)
    with pytest.raises(exceptions.BadRequestException,
                       match='Invalid key_name provided.'):
        conn.compute.create_server(name=unique_name + '-nokey',
                                   key_name=theirs, **common)
    assert [s for s in conn.compute.servers()
            if s.name == unique_name + '-nokey'] == []

    mine = unique_name + '-mine'
    cleanup(conn, mine)
    conn.compute.create_keypair(name=mine)
    server = conn.compute.create_server(name=unique_name + '-withkey',
                                        key_name=mine, **common)
    try:
        server = conn.compute.wait_for_server(server, interval=0.05, wait=30)
        assert server.key_name == mine
        # The server keeps its key name after the key pair is gone.
        conn.compute.delete_keypair(mine)
        assert conn.compute.get_server(server.id).key_name == mine
    finally:
        conn.compute.delete_server(server, ignore_missing=True)
