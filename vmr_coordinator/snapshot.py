"""One consistent read of the world per healer cycle (Patroni's DCS snapshot).

Every range is read inside a single etcd transaction, so the snapshot is
taken at one revision: the host records, the live group members, the
journal, the probe answers and the switches always agree with each other.
The healer decides only from a snapshot; it never reads in the middle of a
decision.
"""

import logging

from tooz import utils as tooz_utils

from vmr_common import exceptions
from vmr_common.keys import Keyspace
from vmr_common.store import Op

LOG = logging.getLogger(__name__)


class HostRecord:
    """A host's record (``hosts/<host>``) and the revision it was read at."""

    __slots__ = ('name', 'data', 'mod_revision')

    def __init__(self, name, data, mod_revision):
        self.name = name
        self.data = data
        self.mod_revision = mod_revision

    @property
    def agent(self):
        return self.data.get('agent') or {}

    @property
    def state(self):
        return self.data.get('state', 'up')

    @property
    def zone(self):
        return self.agent.get('zone') or self.data.get('zone') or 'nova'

    def __repr__(self):
        return '<HostRecord %s %s>' % (self.name, self.state)


class Member:
    """A live member of the agents group, with its capabilities and lease."""

    __slots__ = ('name', 'capabilities', 'lease', 'create_revision')

    def __init__(self, name, capabilities, lease, create_revision):
        self.name = name
        self.capabilities = capabilities
        self.lease = lease
        self.create_revision = create_revision


class Snapshot:
    """Everything one healer cycle needs, read at one etcd revision."""

    def __init__(self, revision, hosts, members, journal, probes, contracts,
                 paused, brake, leader, corrupt):
        self.revision = revision
        self.hosts = hosts            # name -> HostRecord
        self.members = members        # name -> Member
        self.journal = journal        # recovery id -> (dict, mod_revision)
        self.probes = probes          # (target, req) -> {'request':, 'answers':}
        self.contracts = contracts    # name -> dict
        self.paused = paused          # None or the pause record (dict)
        self.brake = brake            # None or the brake record (dict)
        self.leader = leader          # KeyValue of the leader key or None
        self.corrupt = corrupt        # [(key, reason)] skipped this cycle

    def live(self, host):
        return host in self.members


def take(store, group):
    """Read a :class:`Snapshot` of ``store``'s cluster in one transaction."""
    keys = store.keys
    group_dir = Keyspace.group(group)
    result = store.txn([], [
        Op.get(keys.hosts, prefix=True),
        Op.get(group_dir, prefix=True),
        Op.get(keys.journal, prefix=True),
        Op.get(keys.probes, prefix=True),
        Op.get(keys.contracts, prefix=True),
        Op.get(keys.pause),
        Op.get(keys.brake),
        Op.get(keys.leader),
    ])
    (host_kvs, member_kvs, journal_kvs, probe_kvs, contract_kvs, pause_kvs,
     brake_kvs, leader_kvs) = result.ranges()
    corrupt = []

    def load(kv):
        try:
            value = kv.json()
        except exceptions.CorruptRecord as exc:
            corrupt.append((kv.key, str(exc)))
            return None
        if not isinstance(value, dict):
            corrupt.append((kv.key, 'not a JSON object'))
            return None
        return value

    hosts = {}
    for kv in host_kvs:
        name = keys.name_in(keys.hosts, kv.key)
        data = load(kv)
        if data is not None and '/' not in name and name:
            hosts[name] = HostRecord(name, data, kv.mod_revision)

    members = {}
    for kv in member_kvs:
        name = keys.name_in(group_dir, kv.key)
        if not name:
            continue  # the group's own key
        try:
            caps = tooz_utils.loads(kv.raw) or {}
        except Exception as exc:  # msgpack raises many types
            corrupt.append((kv.key, 'unreadable capabilities: %s' % exc))
            caps = {}
        if not isinstance(caps, dict):
            caps = {}
        members[name] = Member(name, caps, kv.lease, kv.create_revision)

    journal = {}
    for kv in journal_kvs:
        data = load(kv)
        if data is not None:
            journal[keys.name_in(keys.journal, kv.key)] = (data,
                                                           kv.mod_revision)

    probes = {}
    for kv in probe_kvs:
        parts = keys.name_in(keys.probes, kv.key).split('/')
        data = load(kv)
        if data is None or len(parts) not in (2, 3):
            continue
        entry = probes.setdefault((parts[0], parts[1]),
                                  {'request': None, 'answers': {}})
        if len(parts) == 2:
            entry['request'] = data
        else:
            entry['answers'][parts[2]] = data

    contracts = {}
    for kv in contract_kvs:
        data = load(kv)
        if data is not None:
            contracts[keys.name_in(keys.contracts, kv.key)] = data

    paused = load(pause_kvs[0]) if pause_kvs else None
    brake = load(brake_kvs[0]) if brake_kvs else None
    leader = leader_kvs[0] if leader_kvs else None
    for key, reason in corrupt:
        LOG.debug('snapshot: skipped %s: %s', key, reason)
    return Snapshot(result.revision, hosts, members, journal, probes,
                    contracts, paused, brake, leader, corrupt)
