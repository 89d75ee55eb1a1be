"""The webhook credential check (token or HMAC of the body)."""

import hashlib
import hmac

from vmr_coordinator.api import webhooks

SECRET = 's3cret-token'
BODY = b'{"alerts": []}'


def test_sign_is_hmac_sha256_of_the_body():
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert webhooks.sign(SECRET, BODY) == 'sha256=' + expected


def test_right_token_or_signature_passes():
    assert webhooks.check(SECRET, BODY, token=SECRET) == (True, 'token')
    sig = webhooks.sign(SECRET, BODY)
    assert webhooks.check(SECRET, BODY, signature=sig) == (True, 'signature')
    assert webhooks.check(SECRET, BODY, signature=sig.upper().replace(
        'SHA256=', 'sha256='))[0]


def test_wrong_credentials_fail_without_echoing_secrets():
    cases = [
        dict(token='nope'),
        dict(token=SECRET + ' '),
        dict(token=''),
        dict(signature=webhooks.sign('other', BODY)),
        dict(signature=webhooks.sign(SECRET, BODY + b'x')),
        dict(signature='sha1=abcd'),
        dict(signature='sha256=\u00e9'),
        dict(),
    ]
    for kwargs in cases:
        ok, why = webhooks.check(SECRET, BODY, **kwargs)
        assert not ok, kwargs
        assert SECRET not in why
        for value in kwargs.values():
            if value:
                assert value not in why


def test_no_configured_secret_refuses_everything():
    for secret in (None, ''):
        ok, why = webhooks.check(secret, BODY, token='')
        assert not ok
        assert 'webhook_token is not set' in why


def test_a_token_header_takes_precedence_over_a_signature():
    sig = webhooks.sign(SECRET, BODY)
    assert webhooks.check(SECRET, BODY, token='wrong', signature=sig)[0] \
        is False
