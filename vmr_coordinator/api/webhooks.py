"""Authentication of the alarm webhooks (Aodh, Alertmanager).

Neither Aodh nor Alertmanager can present a Keystone token to an arbitrary
URL, so the receivers sit outside keystonemiddleware and accept either a
shared token (``X-VMR-Token: <token>``) or an HMAC-SHA256 signature of the
raw body made with the same secret (``X-VMR-Signature: sha256=<hex>``).
Every comparison is constant-time, and no message ever contains the secret
or what the caller sent.
"""

import hashlib
import hmac

TOKEN_HEADER = 'X-VMR-Token'
SIGNATURE_HEADER = 'X-VMR-Signature'
SIGNATURE_SCHEME = 'sha256='


def sign(secret, body):
    """The ``X-VMR-Signature`` header value for ``body`` (bytes)."""
    if isinstance(secret, str):
        secret = secret.encode('utf-8')
    return SIGNATURE_SCHEME + hmac.new(secret, body, hashlib.sha256).hexdigest()


def check(secret, body, token=None, signature=None):
    """Whether a webhook call is authentic; returns ``(ok, why)``.

    ``why`` is a sentence for the 401 answer and the log when ``ok`` is
    False; it names the header and never contains the secret.
    """
    if not secret:
        return False, ('the alarm webhooks are disabled: [api] webhook_token '
                       'is not set on this coordinator')
    secret_b = secret.encode('utf-8')
    if token is not None:
        if hmac.compare_digest(token.encode('utf-8'), secret_b):
            return True, 'token'
        return False, 'wrong %s' % TOKEN_HEADER
    if signature is not None:
        expected = sign(secret_b, body)
        if not signature.startswith(SIGNATURE_SCHEME):
            return False, ('%s must look like sha256=<hex HMAC-SHA256 of the '
                           'body>' % SIGNATURE_HEADER)
        # Hex digests compare case-insensitively; both sides are ASCII.
        if hmac.compare_digest(signature.lower().encode('ascii', 'replace'),
                               expected.encode('ascii')):
            return True, 'signature'
        return False, 'wrong %s' % SIGNATURE_HEADER
    return False, ('missing credentials: send %s or %s'
                   % (TOKEN_HEADER, SIGNATURE_HEADER))
