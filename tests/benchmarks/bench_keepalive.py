"""What a heartbeat costs etcd: lease keep-alives over the HTTP/JSON gateway
against the same keep-alives over etcd's gRPC ``LeaseKeepAlive`` stream.

    python -m tests.benchmarks.bench_keepalive [--rates 1000,2000,5000]
                                               [--seconds 20]
                                               [--transports gateway,grpc,...]

The scale benchmark found the heartbeat rate (hosts / interval keep-alives
per second) to be what bounds one etcd on this machine, not the
coordinator.  tooz's etcd3gw driver renews over etcd's HTTP/JSON gateway;
etcd's own clients use gRPC.  This benchmark measures the ways at the same
rates on one local etcd:

* ``rate`` leases (TTL 30 s) each renewed once a second, spread evenly over
  the second in ticks of 0.1 s, from ``ceil(rate / 1000)`` client processes
  (1,000 leases per process, like the swarm);
* gateway: pipelined ``POST /v3/lease/keepalive`` on 16 persistent HTTP/1.1
  connections per process (the swarm's client);
* grpc: one kept ``/etcdserverpb.Lease/LeaseKeepAlive`` stream per lease,
  which is what a VMR agent does (``[heartbeat] transport``; grpcio, one
  HTTP/2 connection per client process, an agent has its own);
* grpc-shared: 16 kept streams per process, each carrying its share of the
  leases (how one Go client renews all its leases);
* grpc-call: a new stream for every renewal (the first design);
  the messages are encoded by ``vmr_common.grpclease``, the agent's code;
* per run: etcd's CPU (``/proc/<pid>/stat``) and the clients' CPU in
  percent of one core over ``--seconds``, keep-alives answered per second,
  answers saying the lease is gone (must be 0), round trip p50/p99 of a
  tick's batch.

Needs ``grpcio`` (``pip install grpcio``) for the gRPC runs.
"""

import argparse
import asyncio
import json
import math
import os
import platform
import subprocess
import sys
import time
import urllib.parse

from tests.benchmarks import stats
from tests.benchmarks.swarm import Http
from vmr_common.grpclease import decode_response, encode_request, KEEPALIVE
from vmr_common.store import Store
from vmr_lab.etcd import EtcdServer

PER_PROCESS = 1000
STREAMS = 16
TICK = 0.1


# -- the client processes ---------------------------------------------------
class Client:
    """Renew ``leases`` once a second, in ticks, over one transport."""

    def __init__(self, endpoint, transport, leases):
        self.endpoint = endpoint
        self.transport = transport
        self.leases = leases
        self.answered = self.gone = self.errors = 0
        self.rtts = []

    async def run(self, seconds):
        url = urllib.parse.urlparse(self.endpoint)
        lanes = [self.leases[i::STREAMS] for i in range(STREAMS)]
        if self.transport.startswith('grpc'):
            import grpc
            channel = grpc.aio.insecure_channel('%s:%d' % (url.hostname,
                                                           url.port))
            call = channel.stream_stream(
                KEEPALIVE, request_serializer=lambda b: b,
                response_deserializer=decode_response)
            if self.transport == 'grpc-call':
                senders = [self._grpc_call_lane(call, lane) for lane in lanes]
            elif self.transport == 'grpc-shared':
                senders = [self._grpc_lane(call(), lane) for lane in lanes]
            else:
                senders = [self._grpc_stream_lane(call, lane)
                           for lane in lanes]
        else:
            channel = None
            senders = [self._http_lane(Http(url.hostname, url.port), lane)
                       for lane in lanes]
        self.until = time.monotonic() + seconds
        await asyncio.gather(*senders)
        if channel is not None:
            await channel.close()

    async def _ticks(self, lane, send):
        ticks = int(round(1.0 / TICK))
        slots = [lane[i::ticks] for i in range(ticks)]
        next_at = time.monotonic()
        k = 0
        while time.monotonic() < self.until:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at += TICK
            batch = slots[k % ticks]
            k += 1
            if not batch:
                continue
            t0 = time.monotonic()
            try:
                ttls = await send(batch)
            except Exception:
                self.errors += len(batch)
                continue
            self.rtts.append(time.monotonic() - t0)
            self.answered += len(ttls)
            self.gone += sum(1 for t in ttls if not t)

    async def _grpc_lane(self, stream, lane):
        async def send(batch):
            for lease in batch:
                await stream.write(encode_request(lease))
            return [(await stream.read())[1] for _ in batch]
        await self._ticks(lane, send)
        await stream.done_writing()

    async def _grpc_stream_lane(self, call, lane):
        """One kept stream per lease, as each agent keeps its own."""
        streams = {lease: call() for lease in lane}

        async def one(lease):
            await streams[lease].write(encode_request(lease))
            return (await streams[lease].read())[1]

        async def send(batch):
            return await asyncio.gather(*(one(lease) for lease in batch))
        await self._ticks(lane, send)
        for stream in streams.values():
            stream.cancel()

    async def _grpc_call_lane(self, call, lane):
        """A new stream for every renewal."""
        async def one(lease):
            stream = call(iter([encode_request(lease)]))
            answer = await stream.read()
            stream.cancel()
            return answer[1]

        async def send(batch):
            return await asyncio.gather(*(one(lease) for lease in batch))
        await self._ticks(lane, send)

    async def _http_lane(self, conn, lane):
        async def send(batch):
            bodies = await conn.post_many('/v3/lease/keepalive',
                                          [{'ID': str(x)} for x in batch])
            return [int(json.loads(b).get('result', {}).get('TTL', 0))
                    for b in bodies]
        await self._ticks(lane, send)
        conn.close()


def worker(argv):
    endpoint, transport, seconds, path = argv
    with open(path) as fh:
        leases = [int(x) for x in fh.read().split()]
    client = Client(endpoint, transport, leases)
    start = os.times()
    asyncio.run(client.run(float(seconds)))
    end = os.times()
    print(json.dumps({'answered': client.answered, 'gone': client.gone,
                      'errors': client.errors, 'rtts': client.rtts,
                      'cpu': (end.user + end.system) -
                             (start.user + start.system)}), flush=True)
    return 0


# -- the benchmark ----------------------------------------------------------
def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as fh:
        fields = fh.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def grant(endpoint, count):
    url = urllib.parse.urlparse(endpoint)

    async def run():
        conns = [Http(url.hostname, url.port) for _ in range(8)]
        ids = []
        for i in range(0, count, 200):
            n = min(200, count - i)
            bodies = await conns[(i // 200) % 8].post_many(
                '/v3/lease/grant', [{'TTL': '30'}] * n)
            ids.extend(int(json.loads(b)['ID']) for b in bodies)
        for conn in conns:
            conn.close()
        return ids
    return asyncio.run(run())


def measure(etcd, workdir, transport, rate, seconds):
    leases = grant(etcd.endpoint, rate)
    procs = []
    for n in range(math.ceil(rate / PER_PROCESS)):
        path = os.path.join(workdir, 'leases-%s-%d-%d' % (transport, rate, n))
        with open(path, 'w') as fh:
            fh.write(' '.join(map(str, leases[n * PER_PROCESS:
                                              (n + 1) * PER_PROCESS])))
        procs.append(subprocess.Popen(
            [sys.executable, '-m', 'tests.benchmarks.bench_keepalive',
             'worker', etcd.endpoint, transport, str(seconds), path],
            stdout=subprocess.PIPE, text=True))
    etcd_before, t0 = cpu_seconds(etcd.proc.pid), time.monotonic()
    outs = [json.loads(p.communicate(timeout=seconds + 120)[0])
            for p in procs]
    etcd_cpu = cpu_seconds(etcd.proc.pid) - etcd_before
    wall = time.monotonic() - t0
    rtts = [r for o in outs for r in o['rtts']]
    answered = sum(o['answered'] for o in outs)
    return {'transport': transport, 'rate': rate,
            'answered_per_s': round(answered / seconds),
            'etcd_cpu_pct': round(100 * etcd_cpu / wall, 1),
            'client_cpu_pct': round(100 * sum(o['cpu'] for o in outs) / wall,
                                    1),
            'etcd_us_per_keepalive': round(1e6 * etcd_cpu / max(answered, 1),
                                           1),
            'gone': sum(o['gone'] for o in outs),
            'errors': sum(o['errors'] for o in outs),
            'rtt_p50': stats.percentile(rtts, 50) if rtts else None,
            'rtt_p99': stats.percentile(rtts, 99) if rtts else None}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == 'worker':
        return worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rates', default='1000,2000,5000')
    parser.add_argument('--seconds', type=float, default=20)
    parser.add_argument('--transports',
                        default='gateway,grpc,grpc-shared,grpc-call')
    parser.add_argument('--output', default='keepalive')
    args = parser.parse_args(argv)
    rows = []
    for transport in args.transports.split(','):
        for rate in (int(r) for r in args.rates.split(',')):
            # A fresh etcd per run: no run inherits another's leases.
            etcd = EtcdServer()
            etcd.start()
            try:
                row = measure(etcd, etcd.data_dir, transport, rate,
                              args.seconds)
                row['etcd_version'] = Store([etcd.endpoint]).status().get(
                    'version')
            finally:
                etcd.stop()
            rows.append(row)
            print(json.dumps(row), flush=True)
    columns = ('transport', 'rate', 'answered_per_s', 'etcd_cpu_pct',
               'etcd_us_per_keepalive', 'client_cpu_pct', 'gone', 'errors',
               'rtt_p50', 'rtt_p99')
    print(' '.join('%-12s' % c[:12] for c in columns))
    for row in rows:
        print(' '.join('%-12s' % (('%.4f' % row[c]) if isinstance(
            row[c], float) and c.startswith('rtt') else row[c])
            for c in columns))
    stats.write_results(args.output, {
        'command': 'python -m tests.benchmarks.bench_keepalive ' +
                   ' '.join(argv),
        'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(),
                    'load_average': os.getloadavg()},
        'rows': rows})
    plot(args.output, rows)
    return 0


def plot(name, rows):
    """etcd CPU against the keep-alive rate, one line per transport."""
    plt = stats.pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for transport in sorted({r['transport'] for r in rows}):
        mine = [r for r in rows if r['transport'] == transport]
        ax.plot([r['rate'] for r in mine], [r['etcd_cpu_pct'] for r in mine],
                marker='o', label=transport)
    ax.set_xlabel('lease keep-alives per second')
    ax.set_ylabel('etcd CPU, % of one core')
    ax.legend()
    return stats.save(fig, name)


if __name__ == '__main__':
    sys.exit(main())
