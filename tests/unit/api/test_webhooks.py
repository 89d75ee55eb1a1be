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


def _basic(user, password):
    import base64
    raw = ('%s:%s' % (user, password)).encode()
    return 'Basic ' + base64.b64encode(raw).decode()


def test_bearer_and_basic_auth_pass_with_the_token():
    # What Alertmanager 0.25 sends with http_config authorization/basic_auth.
    assert webhooks.check(SECRET, BODY, authorization='Bearer ' + SECRET) == (
        True, 'bearer token')
    assert webhooks.check(SECRET, BODY, authorization='bearer  ' + SECRET)[0]
    assert webhooks.check(SECRET, BODY, authorization=_basic(
        'alertmanager', SECRET)) == (True, 'basic auth (user alertmanager)')
    # The password may itself contain ':'; only the first one splits.
    assert webhooks.check('a:b', BODY, authorization=_basic('u', 'a:b'))[0]


def test_wrong_authorization_fails_naming_what_was_expected():
    cases = {
        'Bearer nope': 'Bearer <[api] webhook_token>',
        'Bearer ': 'Bearer <[api] webhook_token>',
        'Bearer ' + SECRET + 'x': 'Bearer <[api] webhook_token>',
        _basic('alertmanager', 'nope'): 'password must be [api] webhook_token',
        _basic(SECRET, 'nope'): 'password must be [api] webhook_token',
        'Basic !!!not-base64': 'password must be [api] webhook_token',
        'Basic ' + SECRET: 'password must be [api] webhook_token',
        'Token ' + SECRET: 'scheme must be Bearer or Basic',
        SECRET: 'scheme must be Bearer or Basic',
    }
    for value, words in cases.items():
        ok, why = webhooks.check(SECRET, BODY, authorization=value)
        assert not ok, value
        assert words in why, (value, why)
        assert SECRET not in why
        assert '\n' not in why


def test_missing_credentials_name_every_accepted_form():
    ok, why = webhooks.check(SECRET, BODY)
    assert not ok
    for words in ('Authorization: Bearer', 'basic auth', 'X-VMR-Token',
                  'X-VMR-Signature'):
        assert words in why
