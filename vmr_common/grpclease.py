"""Lease keep-alives over etcd's gRPC API: the agent's heartbeat, cheaply.

Every agent renews its membership lease once per heartbeat interval, so at
scale the heartbeat rate (hosts / interval) is what one etcd must serve.
Over etcd's HTTP/JSON gateway each renewal is an HTTP/1.1 request that
etcd decodes, turns into a gRPC call to itself and encodes back; over
gRPC it is one small message on an HTTP/2 connection.  Measured on the
benchmark machine (``tests/benchmarks/bench_keepalive.py``), a renewal on
a kept gRPC stream costs etcd about 70 us of CPU, a gateway request
165-200 us: 2.5 times as much.

Only ``LeaseKeepAlive`` goes over gRPC; everything else stays on the
gateway (etcd3gw, tooz).  Its two messages are encoded here by hand
(``LeaseKeepAliveRequest{ID=1}``, ``LeaseKeepAliveResponse{header=1, ID=2,
TTL=3}``), so no generated code is needed; ``grpcio`` is the only
dependency, imported when first used.

:class:`Heart` chooses the transport (``[heartbeat] transport``):

``grpc``
    gRPC only; a failure is a failed heartbeat.
``gateway``
    the HTTP/JSON gateway only (what tooz's etcd3gw driver does).
``auto`` (default)
    gRPC when ``grpcio`` is installed; when a gRPC renewal is refused but
    the gateway answers (a proxy in front of etcd that speaks HTTP/1.1
    only, say), the heartbeat goes over the gateway and gRPC is tried
    again after :attr:`Heart.RETRY_GRPC` seconds.  No beat is lost to the
    choice.  A renewal that timed out is not tried again on the gateway:
    etcd is not answering, and a beat never waits for two timeouts.
"""

import logging
import queue
import threading
import time

from vmr_common import exceptions

LOG = logging.getLogger(__name__)

KEEPALIVE = '/etcdserverpb.Lease/LeaseKeepAlive'
TRANSPORTS = ('auto', 'grpc', 'gateway')


# -- the two protobuf messages ----------------------------------------------
def encode_request(lease_id):
    """``LeaseKeepAliveRequest{ID: lease_id}`` as protobuf bytes."""
    out = bytearray(b'\x08')              # field 1, varint
    n = int(lease_id) & 0xFFFFFFFFFFFFFFFF  # int64: two's complement
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_response(data):
    """``(ID, TTL)`` of a ``LeaseKeepAliveResponse`` (0 when absent)."""
    fields = {}
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields[number], i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError('unexpected protobuf wire type %d' % wire)
    if i != len(data):
        raise ValueError('truncated LeaseKeepAliveResponse')
    ttl = fields.get(3, 0)
    if ttl >= 1 << 63:                    # int64: a negative TTL
        ttl -= 1 << 64
    return fields.get(2, 0), ttl


def _varint(data, i):
    shift = value = 0
    while True:
        if i >= len(data):
            raise ValueError('truncated protobuf varint')
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def _identity(data):
    return data


def grpc_available():
    """True when ``grpcio`` can be imported."""
    try:
        import grpc  # noqa: F401
    except ImportError:
        return False
    return True


class StreamFailed(Exception):
    """A keep-alive stream timed out or ended; it is closed."""


_END = None   # the request iterator's end


class _Stream:
    """One long-lived ``LeaseKeepAlive`` stream: renewals in, answers out.

    etcd answers every request on the stream, in order, so a renewal is a
    write and the next answer.  A reader thread takes the answers off the
    stream; a renewal waits for one with a timeout.  Any failure (timeout,
    error, end of the stream) closes it: the next renewal opens a new one,
    so an answer can never be taken for another renewal's.
    """

    def __init__(self, channel, metadata):
        self._requests = queue.SimpleQueue()
        self._answers = queue.SimpleQueue()
        call = channel.stream_stream(
            KEEPALIVE, request_serializer=_identity,
            response_deserializer=decode_response)
        self._call = call(iter(self._requests.get, _END), metadata=metadata)
        self.closed = False
        threading.Thread(target=self._read, daemon=True,
                         name='vmr-lease-keepalive').start()

    def _read(self):
        try:
            for answer in self._call:
                self._answers.put(answer)
        except Exception as exc:   # grpc.RpcError; cancellation included
            # anything else (an answer that does not decode) fails the
            # stream the same way, never the agent's loop
            self._answers.put(exc if hasattr(exc, 'code') else StreamFailed(
                'keep-alive stream failed: %s' % exc))
        else:
            self._answers.put(StreamFailed('etcd ended the keep-alive '
                                           'stream'))

    def renew(self, lease_id, timeout):
        self._requests.put(encode_request(lease_id))
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise StreamFailed('no answer within %.1f s' % timeout) from None
        if isinstance(answer, BaseException):
            self.close()
            raise answer
        lease, ttl = answer
        if lease != int(lease_id):
            self.close()
            raise StreamFailed('answer for lease %x, not %x'
                               % (lease, int(lease_id)))
        return ttl

    def close(self):
        if not self.closed:
            self.closed = True
            self._requests.put(_END)
            self._call.cancel()


class GrpcLeases:
    """``LeaseKeepAlive`` over gRPC to the endpoints of a :class:`Store`.

    One channel (one HTTP/2 connection) and one long-lived keep-alive
    stream per endpoint, as etcd's own clients keep them: measured, a
    renewal on a kept stream costs etcd about 70 us, one on a new stream
    75-110 us, a gateway request 165-200 us.  TLS files and the
    etcd user are the store's; an auth token, when the store has a user,
    comes from the store and is sent as etcd expects it (metadata
    ``token``) when the stream opens.
    """

    def __init__(self, store, timeout=None):
        import grpc
        self._grpc = grpc
        self.store = store
        self.timeout = timeout or store.timeout
        self._channels = {}
        self._streams = {}
        self._tokens = {}

    def _channel(self, endpoint):
        channel = self._channels.get(endpoint)
        if channel is None:
            grpc = self._grpc
            scheme, host, port = self.store._parse(endpoint)
            target = '%s:%d' % (host, port)
            # etcd is reached directly, as on the gateway (trust_env off):
            # no http_proxy from the environment.  A channel whose
            # connection failed waits out a back-off before it connects
            # again (up to minutes by default): keep it short; a failed
            # channel is replaced anyway (forget()).
            options = [('grpc.enable_http_proxy', 0),
                       ('grpc.initial_reconnect_backoff_ms', 200),
                       ('grpc.min_reconnect_backoff_ms', 200),
                       ('grpc.max_reconnect_backoff_ms', 1000)]
            if scheme == 'https':
                ca_file, cert_file, key_file = self.store.tls_files
                creds = grpc.ssl_channel_credentials(
                    root_certificates=_read(ca_file),
                    private_key=_read(key_file),
                    certificate_chain=_read(cert_file))
                channel = grpc.secure_channel(target, creds, options)
            else:
                channel = grpc.insecure_channel(target, options)
            self._channels[endpoint] = channel
        return channel

    def _metadata(self, endpoint, fresh=False):
        if not self.store.username:
            return None
        if fresh or endpoint not in self._tokens:
            self._tokens[endpoint] = self.store.auth_token(endpoint)
        return (('token', self._tokens[endpoint]),)

    def _renew_at(self, endpoint, lease_id, fresh_token=False):
        stream = self._streams.get(endpoint)
        if stream is None or stream.closed or fresh_token:
            if stream is not None:
                stream.close()
            stream = _Stream(self._channel(endpoint),
                             self._metadata(endpoint, fresh_token))
            self._streams[endpoint] = stream
        return stream.renew(lease_id, self.timeout)

    def keepalive(self, lease_id):
        """Renew ``lease_id``; its remaining TTL (<= 0: the lease is gone).

        Tries the store's current endpoint first, then the others; raises
        :class:`StoreUnavailable` naming each endpoint's failure.
        """
        grpc = self._grpc
        endpoints = self.store.endpoints
        start = endpoints.index(self.store.endpoint)
        errors = []
        for i in range(len(endpoints)):
            endpoint = endpoints[(start + i) % len(endpoints)]
            try:
                try:
                    return self._renew_at(endpoint, lease_id)
                except grpc.RpcError as exc:
                    if not (self.store.username and _auth_failed(exc)):
                        raise
                    # etcd forgot our token (restart, expiry): once more.
                    return self._renew_at(endpoint, lease_id,
                                          fresh_token=True)
            except (grpc.RpcError, StreamFailed) as exc:
                errors.append('%s: %s' % (endpoint, describe(exc)))
                self.forget(endpoint)
            except exceptions.StoreError as exc:    # getting a token
                errors.append('%s: %s' % (endpoint, exc))
        raise exceptions.StoreUnavailable(
            'etcd lease keep-alive over gRPC failed (%s); check that etcd '
            'runs and that [etcd] endpoints is right' % '; '.join(errors))

    def forget(self, endpoint):
        """Close the channel to ``endpoint`` (reopened on next use)."""
        stream = self._streams.pop(endpoint, None)
        if stream is not None:
            stream.close()
        channel = self._channels.pop(endpoint, None)
        self._tokens.pop(endpoint, None)
        if channel is not None:
            channel.close()

    def close(self):
        for endpoint in list(self._channels):
            self.forget(endpoint)


def _read(path):
    if not path:
        return None
    with open(path, 'rb') as fh:
        return fh.read()


def _auth_failed(exc):
    code = exc.code() if hasattr(exc, 'code') else None
    details = (exc.details() if hasattr(exc, 'details') else '') or ''
    return (getattr(code, 'name', '') == 'UNAUTHENTICATED'
            or 'auth token' in details)


def describe(exc):
    """One line for a gRPC error: its status code and etcd's words."""
    if isinstance(exc, StreamFailed):
        return str(exc)
    code = exc.code() if hasattr(exc, 'code') else None
    details = (exc.details() if hasattr(exc, 'details') else '') or ''
    details = details.splitlines()[0][:200] if details else ''
    return '%s%s' % (getattr(code, 'name', 'error'),
                     (' (%s)' % details) if details else '')


class Heart:
    """Renews the agent's lease over the configured transport."""

    #: seconds on the gateway before ``auto`` tries gRPC again
    RETRY_GRPC = 60.0

    def __init__(self, store, transport='auto', clock=time.monotonic):
        if transport not in TRANSPORTS:
            raise exceptions.ConfigError(
                '[heartbeat] transport = %r: use one of %s'
                % (transport, ', '.join(TRANSPORTS)))
        self.store = store
        self.transport = transport
        self.clock = clock
        self.grpc = None
        self._gateway_until = None   # auto: on the gateway until then
        #: the transport of the last renewal that worked (None before one):
        #: what the agent reports in its capabilities
        self.last = None
        if transport in ('auto', 'grpc'):
            if grpc_available():
                self.grpc = GrpcLeases(store)
            elif transport == 'grpc':
                raise exceptions.ConfigError(
                    '[heartbeat] transport = grpc needs the Python package '
                    'grpcio (pip install grpcio), or set transport = auto '
                    'or gateway')
            else:
                LOG.info('heartbeat: grpcio is not installed; lease '
                         'keep-alives go over the HTTP gateway')

    @property
    def using(self):
        """The transport the next renewal takes: ``grpc`` or ``gateway``."""
        if self.grpc is None:
            return 'gateway'
        if self._gateway_until is not None and \
                self.clock() < self._gateway_until:
            return 'gateway'
        return 'grpc'

    def keepalive(self, lease_id):
        """Renew ``lease_id``; its remaining TTL (<= 0: it is gone)."""
        if self.using == 'gateway':
            ttl = self.store.keepalive(lease_id)
            self.last = 'gateway'
            return ttl
        started = time.monotonic()
        try:
            ttl = self.grpc.keepalive(lease_id)
        except exceptions.StoreUnavailable as exc:
            if self.transport == 'grpc':
                raise
            if time.monotonic() - started >= self.store.timeout / 2:
                # etcd did not answer (a hung or cut-off etcd, not a
                # refused protocol): the gateway would wait as long again
                # and one beat must not take two timeouts.
                raise
            ttl = self.store.keepalive(lease_id)   # raises if etcd is down
            LOG.warning('heartbeat: %s, but the HTTP gateway answered: '
                        'keep-alives go over the gateway, gRPC is tried '
                        'again in %.0f s', exc, self.RETRY_GRPC)
            self._gateway_until = self.clock() + self.RETRY_GRPC
            self.last = 'gateway'
            return ttl
        if self._gateway_until is not None:
            LOG.info('heartbeat: lease keep-alives go over gRPC again')
            self._gateway_until = None
        self.last = 'grpc'
        return ttl

    def close(self):
        if self.grpc is not None:
            self.grpc.close()
