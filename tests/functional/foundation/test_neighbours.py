"""The probing ring on a real etcd: every agent watches exactly the hosts
the leader will ask it about (``Agent.neighbours`` is the inverse of
``detection.choose_probers``), including around the wrap of the ring and
with tooz's group key sitting at the bare group prefix."""

import types
import uuid

from oslo_config import cfg
from tooz import utils as tooz_utils

from vmr_agent.service import Agent
from vmr_common import conf as vmr_conf
from vmr_common.store import Store
from vmr_coordinator import detection

HOSTS = ['compute-%d' % i for i in range(1, 8)]


def agent_for(endpoint, group, host):
    conf = cfg.ConfigOpts()
    vmr_conf.register_all(conf)
    conf([], project='vmr', default_config_files=[])
    conf.set_override('endpoints', [endpoint], 'etcd')
    conf.set_override('host', host)
    conf.set_override('group', group, 'heartbeat')
    return Agent(conf)


def test_neighbours_are_the_hosts_the_leader_asks_about(etcd_server):
    group = 'ring-%s' % uuid.uuid4().hex[:6]
    store = Store([etcd_server.endpoint])
    prefix = store.keys.group(group)
    store.put(prefix, tooz_utils.dumps({}))        # tooz's group key
    for i, host in enumerate(HOSTS):
        store.put(prefix + host, tooz_utils.dumps(
            {'addresses': {'mgmt': '127.0.0.1:%d' % (5000 + i)},
             'probe_port': 4747}))
    try:
        watched = {h: agent_for(etcd_server.endpoint, group, h).neighbours()
                   for h in HOSTS}
        snap = types.SimpleNamespace(members={h: None for h in HOSTS})
        for target in HOSTS:
            # the leader asks when target is gone from the group
            live = [h for h in HOSTS if h != target]
            probers = detection.choose_probers(snap, target, 3, live)
            assert len(probers) == 3
            for agent in HOSTS:
                assert (agent in probers) == (target in watched[agent]), \
                    (target, agent, probers, sorted(watched[agent]))
        assert watched['compute-1']['compute-7'] == (
            {'mgmt': '127.0.0.1:5006'}, 4747)
    finally:
        store.delete(prefix, prefix=True)
        store.delete(prefix[:-1])
