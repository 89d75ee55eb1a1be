"""Key pairs: ``os-keypairs``, owned by a user, imported or generated.

Another user's key pairs need admin and ``user_id`` (2.10); from 2.92 Nova
no longer generates keys; names, types, fingerprints and the quota are
checked as Nova checks them.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import base64
import binascii
import copy
import datetime
import hashlib
import re

from vmr_lab.services.base import Fault, after_marker
from vmr_lab.services.nova.common import _iso_us, _now

#: Nova's default ``key_pairs`` quota (per user)
KEYPAIR_QUOTA = 100
#: characters Nova accepts in a key pair name (before / from 2.92)
# Nova 34's keypair_name_special_chars(_v292): the patterns are spelled as
# Nova spells them, since its 400 quotes them.
_KEYPAIR_NAME = re.compile(r'^[_\- a-zA-Z0-9]+$')
_KEYPAIR_NAME_292 = re.compile(r'^[_\-\@\. a-zA-Z0-9]+$')


def _colons(digest):
    return ':'.join('%02x' % b for b in digest)


def _key_fingerprint(key_type, public_key):
    """Nova's fingerprint of an imported key (None if it is no key).

    ssh: MD5 of the key blob; x509: SHA-1 of the DER certificate.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    if not isinstance(public_key, str):
        return None
    try:
        if key_type == 'x509':
            cert = x509.load_pem_x509_certificate(public_key.encode())
            der = cert.public_bytes(serialization.Encoding.DER)
            return _colons(hashlib.sha1(der, usedforsecurity=False).digest())
        serialization.load_ssh_public_key(public_key.encode())
        blob = base64.b64decode(public_key.split()[1])
    except (ValueError, IndexError, TypeError, binascii.Error):
        return None
    return _colons(hashlib.md5(blob, usedforsecurity=False).digest())


def _generate_key(key_type, user_id):
    """(private key, public key, fingerprint) generated as Nova does."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    if key_type == 'x509':
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                user_id or 'nova')])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = x509.CertificateBuilder().subject_name(subject).issuer_name(
            subject).public_key(key.public_key()).serial_number(
            x509.random_serial_number()).not_valid_before(now).not_valid_after(
            now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256())
        public = cert.public_bytes(serialization.Encoding.PEM).decode()
        return private, public, _key_fingerprint('x509', public)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode() + ' Generated-by-Nova'
    return private, public, _key_fingerprint('ssh', public)


class Keypairs:
    """Key pairs of the Nova API (a mixin)."""

    def _keypair_user(self, req, ctx, action, user_id=None):
        """The user whose key pairs a request means; others' need admin.

        Nova takes ``user_id`` (query, or body of a create) from 2.10 on
        and ignores it before; its policy is "admin or that very user".
        """
        if user_id is None and self.mv(req, '2.10'):
            user_id = req.GET.get('user_id')
        user_id = user_id or ctx.user_id
        if user_id != ctx.user_id and not ctx.is_admin:
            raise Fault(403, "Policy doesn't allow os_compute_api:"
                             "os-keypairs:%s to be performed." % action)
        return user_id

    def _keypair_view(self, req, keypair, *fields):
        view = {'name': keypair['name'], 'public_key': keypair['public_key'],
                'fingerprint': keypair['fingerprint']}
        for field in fields:
            view[field] = keypair[field]
        if self.mv(req, '2.2'):
            view['type'] = keypair['type']
        return view

    def _get_keypair(self, user_id, name):
        keypair = self.keypairs.get(user_id, {}).get(name)
        if keypair is None:
            raise Fault(404, 'Keypair %s not found for user %s'
                        % (name, user_id))
        return keypair

    def user_keypair(self, user_id, name):
        """The key pair ``name`` of ``user_id`` (a dict copy), or None."""
        with self.state_lock:
            keypair = self.keypairs.get(user_id, {}).get(name)
            return copy.deepcopy(keypair) if keypair else None

    def list_keypairs(self, req, ctx):
        user_id = self._keypair_user(req, ctx, 'index')
        with self.state_lock:
            rows = sorted(self.keypairs.get(user_id, {}).values(),
                          key=lambda k: k['id'])
        links = []
        if self.mv(req, '2.35'):
            rows = after_marker(rows, req.GET.get('marker'),
                                'Marker %s could not be found.', key='name')
            limit = req.GET.get('limit')
            if limit is not None:
                if not limit.isdigit():
                    raise Fault(400, "Invalid input for query parameters "
                                     "limit. Value: %s. '%s' does not match "
                                     "'^[0-9]*$'" % (limit, limit))
                if len(rows) > int(limit):
                    rows = rows[:int(limit)]
                    links = [{'rel': 'next', 'href': '%s/v2.1/os-keypairs?'
                              'limit=%s&marker=%s' % (
                                  req.host_url, limit, rows[-1]['name'])}]
        body = {'keypairs': [{'keypair': self._keypair_view(req, k)}
                             for k in rows]}
        if links:
            body['keypairs_links'] = links
        return 200, body

    def show_keypair(self, req, ctx, name):
        user_id = self._keypair_user(req, ctx, 'show')
        with self.state_lock:
            keypair = self._get_keypair(user_id, name)
            return 200, {'keypair': self._keypair_view(
                req, keypair, 'user_id', 'created_at', 'updated_at',
                'deleted', 'deleted_at', 'id')}

    def delete_keypair(self, req, ctx, name):
        user_id = self._keypair_user(req, ctx, 'delete')
        with self.state_lock:
            self._get_keypair(user_id, name)
            del self.keypairs[user_id][name]
        return (204 if self.mv(req, '2.2') else 202), None

    def create_keypair(self, req, ctx):
        body = self.json_body(req, 'keypair')
        allowed = {'name', 'public_key'}
        if self.mv(req, '2.2'):
            allowed.add('type')
        if self.mv(req, '2.10'):
            allowed.add('user_id')
        extra = sorted(set(body) - allowed)
        if extra:
            raise Fault(400, "Invalid input for field/attribute keypair. "
                             "Value: %s. Additional properties are not "
                             "allowed (%s %s unexpected)" % (
                                 body, ', '.join(repr(k) for k in extra),
                                 'was' if len(extra) == 1 else 'were'))
        required = ['name', 'public_key'] if self.mv(req, '2.92') \
            else ['name']
        for key in required:
            if key not in body:
                # From 2.92 Nova no longer generates keys: bring your own.
                raise Fault(400, "Invalid input for field/attribute keypair. "
                                 "Value: %s. '%s' is a required property"
                            % (body, key))
        name = body['name']
        key_type = body.get('type', 'ssh')
        if key_type not in ('ssh', 'x509'):
            raise Fault(400, "Invalid input for field/attribute type. Value: "
                             "%s. %r is not one of ['ssh', 'x509']"
                        % (key_type, key_type))
        # Real Nova checks the name with its JSON schema at every
        # microversion (there is no "unsafe characters" text any more).
        invalid = 'Invalid input for field/attribute name. Value: %s. ' % name
        if not isinstance(name, str):
            raise Fault(400, invalid + "%r is not of type 'string'" % name)
        if not name:
            raise Fault(400, invalid + "'' should be non-empty")
        if len(name) > 255:
            raise Fault(400, invalid + '%r is too long' % name)
        if name != name.strip() or not name.isprintable():
            raise Fault(400, "An invalid 'name' value was provided. The name "
                             "must be: printable characters. Can not start "
                             "or end with whitespace.")
        safe = _KEYPAIR_NAME_292 if self.mv(req, '2.92') else _KEYPAIR_NAME
        if not safe.match(name):
            raise Fault(400, invalid + '%r does not match %r'
                        % (name, safe.pattern))
        user_id = self._keypair_user(req, ctx, 'create',
                                     body.get('user_id'))
        private_key = None
        if 'public_key' in body:
            public_key = body['public_key']
            fingerprint = _key_fingerprint(key_type, public_key)
            if fingerprint is None:
                raise Fault(400, 'Keypair data is invalid: failed to '
                                 'generate fingerprint')
        else:
            private_key, public_key, fingerprint = _generate_key(key_type,
                                                                 user_id)
        with self.state_lock:
            mine = self.keypairs.setdefault(user_id, {})
            if name in mine:
                raise Fault(409, "Key pair '%s' already exists." % name)
            if len(mine) >= KEYPAIR_QUOTA:
                raise Fault(403, 'Quota exceeded, too many key pairs.')
            keypair = mine[name] = {
                'id': next(self._counter), 'name': name, 'type': key_type,
                'user_id': user_id, 'public_key': public_key,
                'fingerprint': fingerprint, 'created_at': _iso_us(_now()),
                'updated_at': None, 'deleted': False, 'deleted_at': None}
            view = self._keypair_view(req, keypair, 'user_id')
        if private_key is not None:
            view['private_key'] = private_key
        return (201 if self.mv(req, '2.2') else 200), {'keypair': view}
