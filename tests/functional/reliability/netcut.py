"""Real VMR processes whose etcd path can be cut, one process at a time.

Every process gets its own :class:`vmr_lab.netproxy.TcpProxy` in front of
the test's etcd, so a test can black-hole exactly the paths it wants
(``drop``: connections hang, like packets lost on a cut link) and heal them.
"""

import os
import tempfile

from tests.procs import ServiceProcess
from vmr_lab.ports import free_udp_port
from vmr_common.store import Store
from vmr_lab.netproxy import TcpProxy


class CutCluster:
    """``agents`` agents and ``coordinators`` coordinators, each reaching
    etcd through its own proxy.

    ``unreachable`` names agents that answer probes on no network (their
    only address is a UDP port nobody listens on): cutting their etcd path
    then makes them look dead from the coordinator side.
    """

    def __init__(self, etcd, agents=3, coordinators=2, timing=None,
                 unreachable=(), extra=''):
        self.workdir = tempfile.mkdtemp(prefix='vmr-cut-')
        self.cluster = 'cut%s' % os.urandom(3).hex()
        self.etcd = etcd
        self.proxies = {}
        self.procs = {}
        names = ['compute-%d' % i for i in range(1, agents + 1)]
        for name in names:
            agent_extra = extra
            if name in unreachable:
                agent_extra += ('\n[agent]\naddresses = management:127.0.0.1:'
                                '%d\nresponder_networks = none\n'
                                % free_udp_port())
            self._add('agent', name, timing, agent_extra)
        for i in range(1, coordinators + 1):
            self._add('coordinator', 'controller-%d' % i, timing, extra)

    def _add(self, kind, name, timing, extra):
        proxy = TcpProxy(0, '127.0.0.1', self.etcd.client_port).start()
        self.proxies[name] = proxy
        self.procs[name] = ServiceProcess(
            kind, name, ['http://127.0.0.1:%d' % proxy.port], self.cluster,
            self.workdir, timing, extra)

    @property
    def agents(self):
        return {n: p for n, p in self.procs.items() if p.kind == 'agent'}

    @property
    def coordinators(self):
        return {n: p for n, p in self.procs.items()
                if p.kind == 'coordinator'}

    def start(self, names=None):
        for name in names or self.procs:
            self.procs[name].start()
        return self

    def cut(self, *names, mode='drop'):
        """Cut the etcd path of ``names``: both ways (``drop``), or one way
        (``drop-up``: what they send is lost; ``drop-down``: etcd's
        answers are)."""
        for name in names:
            self.proxies[name].set_mode(mode)

    def heal(self, *names):
        for name in names or self.proxies:
            self.proxies[name].set_mode('pass')

    def store(self):
        """A Store that talks to etcd directly (never cut)."""
        return Store([self.etcd.endpoint], cluster=self.cluster)

    def stop(self):
        self.heal()
        # coordinators first: agents leaving must not look like a failure
        for proc in sorted(self.procs.values(),
                           key=lambda p: p.kind != 'coordinator'):
            if proc.proc is not None:
                proc.stop()
        for proxy in self.proxies.values():
            proxy.stop()


def host_states(store):
    kvs, _ = store.get_prefix(store.keys.hosts)
    return {kv.key.rsplit('/', 1)[1]: kv.json() for kv in kvs}


def leader(store):
    kv = store.get(store.keys.leader)
    return kv.value if kv else None
