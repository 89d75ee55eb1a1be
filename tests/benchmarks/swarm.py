"""A heartbeat swarm: many fake agents in one process, for the scale benchmark.

Each member is what a real agent leaves in etcd, made the cheapest way:

* a lease of TTL ``ttl`` kept alive every ``interval`` seconds, either
  with ``POST /v3/lease/keepalive`` on etcd's HTTP/JSON gateway (``gateway``,
  the call tooz's etcd3gw driver makes) or on the member's own kept gRPC
  ``LeaseKeepAlive`` stream (``grpc``, what a VMR agent does with
  ``[heartbeat] transport = auto`` or ``grpc``); a real agent also reads its
  own member key every 10 beats, the swarm does not;
* a tooz-format member key ``/vmr/<cluster>/groups/vmr-agents/<host>`` on
  that lease,
  its value the msgpack capabilities (``tooz.utils.dumps``), as tooz writes;
* a ``hosts/<host>`` record as ``vmr_agent.registration.new_record`` makes.

The client is a raw asyncio HTTP/1.1 client with persistent connections (no
etcd3gw, no requests): Python threads with etcd3gw top out near 1,200
keepalives/s (FACTS.md), a swarm of thousands needs cheaper calls.

Run as a worker process::

    python -m tests.benchmarks.swarm ENDPOINT CLUSTER TTL INTERVAL FIRST COUNT \
        [gateway|grpc]

It registers its members, prints ``ready`` and then obeys commands on
stdin, one per line: ``kill NAME...`` (stop heart-beating those members,
exactly like a SIGKILLed agent: their leases expire), ``stats`` (one JSON
line of counters) and ``quit``.  It exits by itself when stdin closes.
"""

import asyncio
import base64
import json
import os
import random
import sys
import time
import urllib.parse

from tooz import utils as tooz_utils

from vmr_common.grpclease import decode_response, encode_request, KEEPALIVE
from vmr_common.keys import Keyspace

GROUP = 'vmr-agents'
CONNECTIONS = 16


def host_name(i):
    return 'swarm-%05d' % i


def _b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


class Http:
    """One persistent HTTP/1.1 connection to etcd's gateway."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path, body):
        payload = json.dumps(body).encode()
        request = (b'POST %s HTTP/1.1\r\nHost: %s:%d\r\n'
                   b'Content-Type: application/json\r\n'
                   b'Content-Length: %d\r\n\r\n'
                   % (path.encode(), self.host.encode(), self.port,
                      len(payload))) + payload
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port)
            try:
                self.writer.write(request)
                return await asyncio.wait_for(self._response(), 10)
            except (OSError, asyncio.IncompleteReadError,
                    asyncio.TimeoutError):
                self.close()
                if attempt == 2:
                    raise
        return None

    async def post_many(self, path, bodies):
        """Pipeline one POST per body; the response bodies, in order."""
        request = b''.join(
            b'POST %s HTTP/1.1\r\nHost: %s:%d\r\n'
            b'Content-Type: application/json\r\n'
            b'Content-Length: %d\r\n\r\n%s' % (
                path.encode(), self.host.encode(), self.port, len(p), p)
            for p in (json.dumps(b).encode() for b in bodies))
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port)
        try:
            self.writer.write(request)
            out = []
            for _ in bodies:
                _, body = await asyncio.wait_for(self._response(), 10)
                out.append(body)
            return out
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            self.close()
            raise

    async def _response(self):
        head = await self.reader.readuntil(b'\r\n\r\n')
        status = int(head.split(b' ', 2)[1])
        headers = {}
        for line in head.split(b'\r\n')[1:]:
            if b':' in line:
                k, v = line.split(b':', 1)
                headers[k.strip().lower()] = v.strip()
        if headers.get(b'transfer-encoding') == b'chunked':
            body = b''
            while True:
                size = int((await self.reader.readuntil(b'\r\n')).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(
                int(headers.get(b'content-length', b'0')))
        return status, body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Swarm:
    """``count`` members starting at index ``first``."""

    def __init__(self, endpoint, cluster, ttl, interval, first, count,
                 transport='gateway'):
        url = urllib.parse.urlparse(endpoint)
        self.transport = transport
        self.streams = {}    # grpc: member -> its kept keep-alive stream
        self.channel = None
        self.host, self.port = url.hostname, url.port
        self.cluster = cluster
        self.keys = Keyspace('/vmr', cluster)
        self.ttl, self.interval = ttl, interval
        self.names = [host_name(i) for i in range(first, first + count)]
        self.leases = {}
        self.dead = set()
        self.keepalives = 0
        self.errors = 0
        self.lost = 0        # keepalives answered with TTL 0 (lease gone)
        self.rejoins = 0
        self.boot_ids = {}
        self.late = 0        # beats sent later than interval after the last
        self.latencies = []  # recent keepalive round trips (s)
        self.conns = [Http(self.host, self.port) for _ in range(CONNECTIONS)]

    # -- set-up --------------------------------------------------------------
    async def setup(self):
        queue = list(self.names)

        async def grant(conn):
            while queue:
                name = queue.pop()
                _, body = await conn.post('/v3/lease/grant',
                                          {'TTL': str(int(self.ttl))})
                self.leases[name] = json.loads(body)['ID']
        # Beat from the first grant on (a member without a lease yet is
        # skipped): registering thousands of keys takes longer than a TTL.
        self.hearts = [asyncio.ensure_future(self.heart(
            conn, self.names[i::len(self.conns)]))
            for i, conn in enumerate(self.conns)]
        granting = [Http(self.host, self.port) for _ in range(4)]
        await asyncio.gather(*(grant(c) for c in granting))
        for conn in granting:
            conn.close()
        puts = [Http(self.host, self.port) for _ in range(4)]
        records = []
        for name in self.names:
            record = {'host': name, 'registered_at': time.time(),
                      'enabled': True, 'maintenance': False, 'state': 'up',
                      'state_since': time.time(),
                      'agent': {'host': name,
                                'boot_id': self.boot_ids.setdefault(
                                    name, os.urandom(8).hex()),
                                'version': 'swarm', 'zone': 'nova',
                                'addresses': {'management': '127.0.0.1:9'},
                                'probe_port': 9, 'heartbeat_ttl': self.ttl}}
            records.append({'request_put': {
                'key': _b64(self.keys.host(name)),
                'value': _b64(json.dumps(record, sort_keys=True))}})
        record_batches = [records[i:i + 100]
                          for i in range(0, len(records), 100)]
        name_batches = [self.names[i:i + 100]
                        for i in range(0, len(self.names), 100)]

        async def put(conn):
            while record_batches:
                status, body = await conn.post(
                    '/v3/kv/txn', {'success': record_batches.pop()})
                if status != 200:
                    raise RuntimeError('txn failed: %s' % body[:200])
            while name_batches:
                names = name_batches.pop()
                status, body = await conn.post('/v3/kv/txn', {
                    'success': [self.member_op(n)[1] for n in names]})
                if status != 200:
                    # A lease expired before its key was written (a starved
                    # CPU): those members join again with fresh leases.
                    for name in names:
                        await self.rejoin(conn, name)
        await asyncio.gather(*(put(c) for c in puts))
        for conn in puts:
            conn.close()

    def member_op(self, name):
        caps = {'host': name, 'boot_id': self.boot_ids.setdefault(
                    name, os.urandom(8).hex()),
                'version': 'swarm', 'zone': 'nova',
                'addresses': {'management': '127.0.0.1:9'},
                'probe_port': 9, 'heartbeat_ttl': self.ttl,
                'started_at': time.time(), 'processes_down': []}
        return caps, {'request_put': {
            'key': _b64(self.keys.member(GROUP, name)),
            'value': _b64(tooz_utils.dumps(caps)),
            'lease': str(self.leases[name])}}

    async def rejoin(self, conn, name):
        _, body = await conn.post('/v3/lease/grant',
                                  {'TTL': str(int(self.ttl))})
        self.leases[name] = json.loads(body)['ID']
        await conn.post('/v3/kv/txn', {'success': [self.member_op(name)[1]]})
        self.rejoins += 1

    # -- the hearts ----------------------------------------------------------
    async def heart(self, conn, names):
        """Beat ``names`` on one connection: every interval is cut in ticks
        of about 0.1 s and each tick's keepalives go out pipelined (one
        write, then the answers in order), which keeps the swarm's own CPU
        cost per keepalive low; etcd still serves one request per beat."""
        if not names:
            return
        ticks = max(1, int(round(self.interval / 0.1)))
        slots = [names[i::ticks] for i in range(ticks)]
        gap = self.interval / ticks
        next_at = time.monotonic() + random.random() * gap
        k = 0
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -self.interval:
                # Fell a whole interval behind: the CPU cannot keep up.
                self.late += 1
                next_at = time.monotonic()
            next_at += gap
            batch = [n for n in slots[k % ticks]
                     if n not in self.dead and n in self.leases]
            k += 1
            if not batch:
                continue
            t0 = time.monotonic()
            try:
                if self.transport == 'grpc':
                    ttls = await asyncio.wait_for(asyncio.gather(
                        *(self.grpc_renew(n) for n in batch),
                        return_exceptions=True), 10)
                    failed = [n for n, t in zip(batch, ttls)
                              if isinstance(t, BaseException)]
                    if failed:
                        # those members' streams broke: count them, and
                        # reopen the streams next tick (no rejoin)
                        self.errors += len(failed)
                        for name in failed:
                            self.streams.pop(name, None)
                        batch = [n for n, t in zip(batch, ttls)
                                 if not isinstance(t, BaseException)]
                        ttls = [t for t in ttls
                                if not isinstance(t, BaseException)]
                else:
                    bodies = await conn.post_many(
                        '/v3/lease/keepalive',
                        [{'ID': self.leases[n]} for n in batch])
                    # etcd leaves TTL out of the answer when it is 0
                    ttls = [1 if b'"TTL"' in body else 0 for body in bodies]
            except Exception:
                self.errors += len(batch)
                for name in batch:   # reopen their streams next time
                    stream = self.streams.pop(name, None)
                    if stream is not None:
                        stream.cancel()
                continue
            self.latencies.append(time.monotonic() - t0)
            if len(self.latencies) > 20000:
                del self.latencies[:10000]
            for name, ttl in zip(batch, ttls):
                self.keepalives += 1
                if ttl <= 0:
                    # The lease expired (this member starved past its TTL):
                    # rejoin, as a real agent does.
                    self.lost += 1
                    try:
                        await self.rejoin(conn, name)
                    except Exception:
                        self.errors += 1

    async def grpc_renew(self, name):
        """Renew ``name``'s lease on its own kept gRPC stream (what
        ``[heartbeat] transport = grpc`` does in an agent)."""
        stream = self.streams.get(name)
        if stream is None:
            if self.channel is None:
                import grpc
                self.channel = grpc.aio.insecure_channel(
                    '%s:%d' % (self.host, self.port))
                self.keepalive_call = self.channel.stream_stream(
                    KEEPALIVE, request_serializer=lambda b: b,
                    response_deserializer=decode_response)
            stream = self.streams[name] = self.keepalive_call()
        await stream.write(encode_request(int(self.leases[name])))
        return (await stream.read())[1]

    async def commands(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = (await reader.readline()).decode()
            if not line or line.strip() == 'quit':
                return
            words = line.split()
            if not words:
                continue
            if words[0] == 'kill':
                self.dead.update(words[1:])
                print('killed %d' % len(words[1:]), flush=True)
            elif words[0] == 'stats':
                lat = sorted(self.latencies) or [0.0]
                print(json.dumps({
                    'keepalives': self.keepalives, 'errors': self.errors,
                    'lost': self.lost, 'late': self.late,
                    'rejoins': self.rejoins,
                    'p50': lat[len(lat) // 2],
                    'p99': lat[min(len(lat) - 1, int(len(lat) * 0.99))],
                    'at': time.monotonic()}), flush=True)
                self.latencies = []

    async def main(self):
        self.hearts = []
        try:
            await self.setup()
            print('ready', flush=True)
            await self.commands()
        finally:
            for h in self.hearts:
                h.cancel()
            for conn in self.conns:
                conn.close()
            for stream in self.streams.values():
                stream.cancel()
            if self.channel is not None:
                await self.channel.close()


def main(argv=None):
    args = list(argv or sys.argv[1:])
    endpoint, cluster, ttl, interval, first, count = args[:6]
    transport = args[6] if len(args) > 6 else 'gateway'
    swarm = Swarm(endpoint, cluster, float(ttl), float(interval), int(first),
                  int(count), transport)
    asyncio.run(swarm.main())
    return 0


if __name__ == '__main__':
    sys.exit(main())
