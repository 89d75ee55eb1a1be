"""What goes over the wire to etcd's HTTP gateway: base64 keys and values,
compare clauses, operations, and what comes back (key-values, transaction
results)."""

import base64
import json

from tooz import utils as tooz_utils

from vmr_common import exceptions


def b64(data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    return base64.b64encode(data).decode('ascii')


def unb64(data):
    return base64.b64decode(data) if data else b''


def range_end(prefix):
    """The etcd ``range_end`` that selects every key starting with prefix."""
    raw = bytearray(prefix.encode('utf-8'))
    for i in range(len(raw) - 1, -1, -1):
        if raw[i] < 0xff:
            raw[i] += 1
            return bytes(raw[:i + 1])
    return b'\0'


class KeyValue:
    """One key as etcd returned it (revisions as ints, value as bytes)."""

    __slots__ = ('key', 'raw', 'create_revision', 'mod_revision', 'version',
                 'lease')

    def __init__(self, kv):
        self.key = unb64(kv.get('key')).decode('utf-8', 'replace')
        self.raw = unb64(kv.get('value'))
        self.create_revision = int(kv.get('create_revision', 0))
        self.mod_revision = int(kv.get('mod_revision', 0))
        self.version = int(kv.get('version', 0))
        self.lease = int(kv.get('lease', 0))

    @property
    def value(self):
        return self.raw.decode('utf-8', 'replace')

    def json(self):
        """The value parsed as JSON; :class:`CorruptRecord` if it is not."""
        try:
            return json.loads(self.raw)
        except ValueError as exc:
            raise exceptions.CorruptRecord(
                'etcd key %s does not hold JSON (%s); it was not written by '
                'VMR: delete it or fix its writer' % (self.key, exc))

    def capabilities(self):
        """The value decoded as a tooz group member's capabilities (msgpack):
        a dict ({} for anything else); :class:`CorruptRecord` if it cannot
        be decoded."""
        try:
            caps = tooz_utils.loads(self.raw) or {}
        except Exception as exc:  # msgpack raises many types
            raise exceptions.CorruptRecord('unreadable capabilities (%s: %s)'
                                           % (type(exc).__name__, exc))
        return caps if isinstance(caps, dict) else {}

    def __repr__(self):
        return '<KeyValue %s rev=%d>' % (self.key, self.mod_revision)


class LeaderGuard:
    """The compare clauses that make a write valid only for the leader.

    ``leader.value == member AND leader.create_revision == token``: a
    coordinator that lost the key (and even one that re-acquired it later,
    with a new create_revision) cannot write with an old guard.
    """

    def __init__(self, key, member, token):
        self.key = key
        self.member = member
        self.token = int(token)

    def compare(self):
        return [
            {'key': b64(self.key), 'result': 'EQUAL', 'target': 'VALUE',
             'value': b64(self.member)},
            {'key': b64(self.key), 'result': 'EQUAL', 'target': 'CREATE',
             'create_revision': str(self.token)},
        ]

    def __repr__(self):
        return '<LeaderGuard %s token=%d>' % (self.member, self.token)


class Op:
    """Builders for the request operations of a transaction."""

    @staticmethod
    def put(key, value, lease=None):
        if not isinstance(value, (str, bytes)):
            value = json.dumps(value, sort_keys=True)
        body = {'key': b64(key), 'value': b64(value)}
        if lease:
            body['lease'] = str(lease)
        return {'request_put': body}

    @staticmethod
    def delete(key, prefix=False):
        body = {'key': b64(key)}
        if prefix:
            body['range_end'] = b64(range_end(key))
        return {'request_delete_range': body}

    @staticmethod
    def get(key, prefix=False):
        body = {'key': b64(key)}
        if prefix:
            body['range_end'] = b64(range_end(key))
        return {'request_range': body}


class Compare:
    """Builders for transaction compare clauses."""

    @staticmethod
    def absent(key):
        return {'key': b64(key), 'result': 'EQUAL', 'target': 'CREATE',
                'create_revision': '0'}

    @staticmethod
    def mod_revision(key, revision):
        return {'key': b64(key), 'result': 'EQUAL', 'target': 'MOD',
                'mod_revision': str(int(revision))}

    @staticmethod
    def value(key, value):
        return {'key': b64(key), 'result': 'EQUAL', 'target': 'VALUE',
                'value': b64(value)}

    @staticmethod
    def lease(key, lease_id):
        """``key`` is attached to lease ``lease_id``."""
        return {'key': b64(key), 'result': 'EQUAL', 'target': 'LEASE',
                'lease': str(int(lease_id))}


class TxnResult:
    """Outcome of a transaction: ``succeeded`` and the range responses."""

    def __init__(self, body):
        self.succeeded = bool(body.get('succeeded', False))
        self.revision = int(body.get('header', {}).get('revision', 0))
        self.responses = body.get('responses', [])

    def ranges(self):
        """The KeyValues of every ``request_range`` response, in order."""
        out = []
        for resp in self.responses:
            rng = resp.get('response_range')
            if rng is not None:
                out.append([KeyValue(kv) for kv in rng.get('kvs', [])])
        return out
