"""Authentication of the alarm webhooks (Aodh, Alertmanager, keepalived).

Neither Aodh nor Alertmanager can present a Keystone token to an arbitrary
URL, so the receivers sit outside keystonemiddleware and accept one shared
secret, ``[api] webhook_token``, presented in any of four ways:

* ``Authorization: Bearer <token>`` — what Alertmanager sends with
  ``http_config: {authorization: {type: Bearer, credentials_file: ...}}``
  (Alertmanager cannot add other headers nor sign a body);
* HTTP basic auth with the token as the password (any user name; it is
  logged to tell senders apart) — Alertmanager's ``basic_auth``, or
  ``https://vmr:<token>@host/...`` in a URL;
* ``X-VMR-Token: <token>``;
* ``X-VMR-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` keyed with
  the token, for senders that can sign.

Every comparison is constant-time, and no message ever contains the secret
or what the caller sent.
"""

import base64
import binascii
import hashlib
import hmac

TOKEN_HEADER = 'X-VMR-Token'
SIGNATURE_HEADER = 'X-VMR-Signature'
SIGNATURE_SCHEME = 'sha256='
AUTHORIZATION_HEADER = 'Authorization'

#: what a 401 offers (RFC 9110 WWW-Authenticate); the realm names the secret
CHALLENGE = 'Bearer realm="vmr alarm webhooks", Basic realm="vmr alarm webhooks"'

_EXPECTED = ('send Authorization: Bearer <[api] webhook_token>, HTTP basic '
             'auth with it as the password, %s or %s'
             % (TOKEN_HEADER, SIGNATURE_HEADER))


def sign(secret, body):
    """The ``X-VMR-Signature`` header value for ``body`` (bytes)."""
    if isinstance(secret, str):
        secret = secret.encode('utf-8')
    return SIGNATURE_SCHEME + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _same(given, secret_b):
    if isinstance(given, str):
        given = given.encode('utf-8', 'surrogateescape')
    return hmac.compare_digest(given, secret_b)


def _check_authorization(secret_b, value):
    """``(ok, why)`` for an ``Authorization`` header value."""
    scheme, _, credentials = value.strip().partition(' ')
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme == 'bearer':
        if credentials and _same(credentials, secret_b):
            return True, 'bearer token'
        return False, ('wrong bearer token in Authorization: expected '
                       'Bearer <[api] webhook_token>')
    if scheme == 'basic':
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            decoded = b''
        user, colon, password = decoded.partition(b':')
        if colon and _same(password, secret_b):
            return True, 'basic auth (user %s)' % _printable(user)
        return False, ('wrong HTTP basic auth: the password must be '
                       '[api] webhook_token (any user name)')
    return False, ('Authorization scheme must be Bearer or Basic with '
                   '[api] webhook_token')


def _printable(user):
    text = user.decode('utf-8', 'replace')[:64]
    return ''.join(c if c.isprintable() else '?' for c in text) or '(empty)'


def check(secret, body, token=None, signature=None, authorization=None):
    """Whether a webhook call is authentic; returns ``(ok, how_or_why)``.

    On success the second item says which credential passed ("bearer
    token", "basic auth (user alertmanager)", "token", "signature"); on
    failure it is one sentence for the 401 answer and the log, naming what
    was expected and never containing the secret or what the caller sent
    (a basic-auth user name is the only caller text, and only on success).
    The first credential present is the one checked, in the order
    ``X-VMR-Token``, ``X-VMR-Signature``, ``Authorization``.
    """
    if not secret:
        return False, ('the alarm webhooks are disabled: [api] webhook_token '
                       'is not set on this coordinator')
    secret_b = secret.encode('utf-8')
    if token is not None:
        if _same(token, secret_b):
            return True, 'token'
        return False, 'wrong %s: expected [api] webhook_token' % TOKEN_HEADER
    if signature is not None:
        expected = sign(secret_b, body)
        if not signature.startswith(SIGNATURE_SCHEME):
            return False, ('%s must look like sha256=<hex HMAC-SHA256 of the '
                           'body>' % SIGNATURE_HEADER)
        # Hex digests compare case-insensitively; both sides are ASCII.
        if hmac.compare_digest(signature.lower().encode('ascii', 'replace'),
                               expected.encode('ascii')):
            return True, 'signature'
        return False, ('wrong %s: expected sha256=<hex HMAC-SHA256 of the '
                       'body keyed with [api] webhook_token>' % SIGNATURE_HEADER)
    if authorization is not None:
        return _check_authorization(secret_b, authorization)
    return False, 'missing credentials: ' + _EXPECTED
