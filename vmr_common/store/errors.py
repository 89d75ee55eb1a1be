"""etcd's refusals, in one line an operator can act on."""

import json


CN_REFUSED = 'CommonName of client sending a request against gateway'


def hint(text):
    """``text`` plus the fix, for the etcd refusals an operator can hit."""
    if CN_REFUSED in text:
        return ('%s; etcd refuses client certificates with a CommonName on '
                'its HTTP gateway once auth is enabled: issue VMR\'s client '
                'certificate without a CN and identify with [etcd] username '
                'and password (see doc/security.rst)' % text.strip())
    return text


def token_expired(exc):
    """True if etcd refused a request because it does not know its auth
    token (etcd keeps tokens in memory: a restart forgets them all)."""
    while exc is not None:
        text = '%s %s' % (getattr(exc, 'detail_text', '') or '', exc)
        if 'invalid auth token' in text:
            return True
        exc = exc.__cause__
    return False


def auth_reason(exc):
    """etcd's reason for refusing a login, without the request body."""
    text = getattr(exc, 'detail_text', None) or ''
    try:
        text = json.loads(text).get('error') or text
    except (ValueError, AttributeError):
        pass
    return hint((text or exc.__class__.__name__).replace('\n', ' ')[:200])


def short(exc):
    text = getattr(exc, 'detail_text', None) or ' '.join(
        str(a) for a in getattr(exc, 'args', ()) if a)
    text = '%s: %s' % (exc.__class__.__name__, text) if text else \
        exc.__class__.__name__
    text = text.replace('\n', ' ')
    return text[:300]
