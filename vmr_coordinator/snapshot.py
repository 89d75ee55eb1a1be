"""One consistent read of the world per healer cycle (Patroni's DCS snapshot).

Every range is read inside a single etcd transaction, so the snapshot is
taken at one revision: the host records, the live group members, the
journal, the probe answers and the switches always agree with each other.
The healer decides only from a snapshot; it never reads in the middle of a
decision.
"""

import logging

from vmr_common import exceptions
from vmr_common.keys import Keyspace
from vmr_common.store import KeyValue, Op
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import segments as segments_mod

LOG = logging.getLogger(__name__)

_NUMBER = (int, float)
_NONE = type(None)

#: field -> the types the loop can use.  A record with another type in one
#: of these (foreign writer, hand edit, a bug elsewhere) is reported and
#: skipped like a record that is not JSON: one bad key must never crash
#: the loop (tests/functional/reliability/test_corrupt_data.py).
HOST_FIELDS = {
    'state': (str,), 'agent': (dict, _NONE), 'zone': (str, _NONE),
    'flaps': (list, _NONE), 'grace': _NUMBER + (_NONE,),
    'suspect_since': _NUMBER + (_NONE,), 'state_since': _NUMBER + (_NONE,),
    'probed_at': _NUMBER + (_NONE,), 'probe': (str, _NONE),
    'recovery': (str, _NONE), 'failed_boot_id': (str, _NONE),
    'processes_down': (list, _NONE), 'reason': (str, _NONE),
}
JOURNAL_FIELDS = {
    'id': (str,), 'host': (str, _NONE), 'state': (str,),
    'trigger': (dict,), 'fencing': (dict, _NONE), 'steps': (list, _NONE),
    'skipped': (list, _NONE), 'timeline': (list, _NONE),
    'created_at': _NUMBER + (_NONE,), 'updated_at': _NUMBER + (_NONE,),
}
_REQUIRED = {'journal': ('state', 'trigger')}


def type_problem(data, fields, required=()):
    """Why ``data`` cannot be used (a sentence), or None when it can."""
    for name in required:
        if name not in data:
            return 'field %r missing' % name
    for name, types in fields.items():
        if name in data and not isinstance(data[name], types):
            return 'field %r is %s, expected %s' % (
                name, type(data[name]).__name__,
                ' or '.join(t.__name__ for t in types))
    if 'flaps' in fields and isinstance(data.get('flaps'), list) and \
            not all(isinstance(t, _NUMBER) for t in data['flaps']):
        return "field 'flaps' holds something other than timestamps"
    if isinstance(data.get('steps'), list) and \
            not all(isinstance(st, dict) for st in data['steps']):
        return "field 'steps' holds something other than objects"
    return None


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
                 paused, brake, leader, corrupt, duplicates=(),
                 legacy_members=(), segments=(), coordinators=()):
        self.revision = revision
        self.hosts = hosts            # name -> HostRecord
        self.members = members        # name -> Member
        self.journal = journal        # recovery id -> (dict, mod_revision)
        self.probes = probes          # (target, req) -> {'request':, 'answers':, 'lease':}
        self.contracts = contracts    # name -> dict
        self.paused = paused          # None or the pause record (dict)
        self.brake = brake            # None or the brake record (dict)
        self.leader = leader          # KeyValue of the leader key or None
        self.corrupt = corrupt        # [(key, reason)] skipped this cycle
        #: agents refused because another live agent holds their host name
        #: (their reports under ``duplicate_agents/``), sorted by host
        self.duplicates = list(duplicates)
        #: live agents found only at the old membership key (an upgrade
        #: in progress): counted live, named so the operator upgrades them
        self.legacy_members = sorted(legacy_members)
        #: the valid failover segments (:class:`~.segments.Segment`)
        self.segments = list(segments)
        #: the live coordinators' member ids (``coordinators/``), sorted
        self.coordinators = list(coordinators)

    def live(self, host):
        return host in self.members


class SnapshotCache:
    """The host records and group members the previous snapshot decoded.

    With thousands of hosts, fetching and decoding every record and every
    member each cycle dominated the cycle (5,000 hosts: ~6 MB of base64 JSON
    from etcd's gateway and ~1 s of decoding per cycle, bench_scale).  With a
    cache, :func:`take` reads those two prefixes as ``keys_only`` (names and
    revisions) in the snapshot's transaction, then fetches the values of the
    keys whose revision changed *at the snapshot's revision* (so the snapshot
    stays one consistent read) and decodes only those.  In a quiet cluster
    that second read does not happen at all.
    """

    def __init__(self):
        self.clear()

    def clear(self):
        self.revision = 0
        self.hosts = {}     # raw (base64) key -> (mod_revision, entry, meta)
        self.members = {}
        # What the last snapshot built from them: reused as is when a
        # prefix did not move (a quiet cycle then costs no per-host work).
        self.host_view = ({}, [])     # (name -> HostRecord, corrupt)
        self.member_view = ({}, [])   # (name -> Member, corrupt)


def _range(key, **extra):
    op = Op.get(key, prefix=True)
    op['request_range'].update(extra)
    return op


def _raw_kvs(response):
    return (response.get('response_range') or {}).get('kvs') or []


def take(store, group, cache=None):
    """Read a :class:`Snapshot` of ``store``'s cluster in one transaction.

    ``cache`` (a :class:`SnapshotCache` kept by the caller across cycles)
    makes the read incremental for host records and group members.
    """
    keys = store.keys
    group_dir = keys.group(group)
    incremental = cache is not None and cache.revision > 0
    if incremental:
        # How many keys, and the newest one: enough to know whether a
        # prefix changed since the cache (any put raises the newest
        # mod_revision, a delete alone lowers the count).
        big = [_range(keys.hosts, keys_only=True, limit='1',
                      sort_order='DESCEND', sort_target='MOD'),
               _range(group_dir, keys_only=True, limit='1',
                      sort_order='DESCEND', sort_target='MOD')]
    else:
        big = [Op.get(keys.hosts, prefix=True),
               Op.get(group_dir, prefix=True)]
    result = store.txn([], big + [
        Op.get(keys.journal, prefix=True),
        Op.get(keys.steps, prefix=True),
        Op.get(keys.probes, prefix=True),
        Op.get(keys.contracts, prefix=True),
        Op.get(keys.pause),
        Op.get(keys.brake),
        Op.get(keys.leader),
        Op.get(keys.duplicate_agents, prefix=True),
        Op.get(keys.segments, prefix=True),
        _range(keys.coordinators, keys_only=True),
    ] + ([Op.get(keys.legacy_group(group), prefix=True)]
         if store.legacy_membership else []))
    responses = result.responses
    if incremental:
        try:
            host_raw = _current(store, keys.hosts, responses[0],
                                cache.hosts, cache.revision, result.revision)
            member_raw = _current(store, group_dir, responses[1],
                                  cache.members, cache.revision,
                                  result.revision)
        except exceptions.StoreError as exc:
            # e.g. the revision was compacted meanwhile: read everything.
            LOG.debug('snapshot: incremental read failed (%s); full read',
                      exc)
            host_raw = member_raw = None
        if host_raw is None or member_raw is None:
            # The cache missed a key it should hold: read everything again.
            cache.clear()
            return take(store, group, cache)
        rest = responses[2:]
    else:
        host_raw = [(kv, None) for kv in _raw_kvs(responses[0])]
        member_raw = [(kv, None) for kv in _raw_kvs(responses[1])]
        rest = responses[2:]
    (journal_kvs, step_kvs, probe_kvs, contract_kvs, pause_kvs, brake_kvs,
     leader_kvs, duplicate_kvs, segment_kvs, coordinator_kvs,
     *legacy_kvs) = [
        [KeyValue(kv) for kv in _raw_kvs(r)] for r in rest]
    legacy_kvs = legacy_kvs[0] if legacy_kvs else ()
    corrupt = []

    def load(kv, fields=None, required=()):
        try:
            value = kv.json()
        except exceptions.CorruptRecord as exc:
            corrupt.append((kv.key, str(exc)))
            return None
        if not isinstance(value, dict):
            corrupt.append((kv.key, 'not a JSON object'))
            return None
        problem = type_problem(value, fields, required) if fields else None
        if problem:
            corrupt.append((kv.key, problem))
            return None
        return value

    hosts, host_cache = {}, {}
    if host_raw is UNCHANGED:
        host_raw = ()
        hosts = dict(cache.host_view[0])
        host_cache = cache.hosts
        corrupt.extend(cache.host_view[1])
    for raw, entry in host_raw:
        if entry is None:
            kv = KeyValue(raw)
            name = keys.name_in(keys.hosts, kv.key)
            data = load(kv, HOST_FIELDS)
            reason = corrupt[-1] if data is None and corrupt and \
                corrupt[-1][0] == kv.key else None
            entry = (name, data, reason)
        elif entry[2] is not None:
            corrupt.append(entry[2])
        name, data, _ = entry
        host_cache[raw['key']] = (raw.get('mod_revision'), entry,
                                  _meta(raw))
        if data is not None and '/' not in name and name:
            # Shared with the cache: the healer replaces a record's data
            # (after writing it, which moves its revision), it never edits
            # the dict in place.
            hosts[name] = HostRecord(name, data,
                                     int(raw.get('mod_revision', 0)))
    host_corrupt = list(corrupt)

    members, member_cache = {}, {}
    if member_raw is UNCHANGED:
        member_raw = ()
        members = dict(cache.member_view[0])
        member_cache = cache.members
        corrupt.extend(cache.member_view[1])
    for raw, entry in member_raw:
        if entry is None:
            kv = KeyValue(raw)
            name = keys.name_in(group_dir, kv.key)
            reason = None
            try:
                caps = kv.capabilities() if name else {}
            except exceptions.CorruptRecord as exc:
                reason = (kv.key, str(exc))
                corrupt.append(reason)
                caps = {}
            entry = (name, caps, reason)
        elif entry[2] is not None:
            corrupt.append(entry[2])
        member_cache[raw['key']] = (raw.get('mod_revision'), entry,
                                    _meta(raw))
        name, caps, _ = entry
        if not name:
            continue  # the group's own key
        members[name] = Member(name, caps, int(raw.get('lease', 0)),
                               int(raw.get('create_revision', 0)))
    legacy = _legacy_members(keys.legacy_group(group), legacy_kvs, members,
                             corrupt)
    members.update(legacy)
    if cache is not None:
        cache.hosts, cache.members = host_cache, member_cache
        cache.host_view = (dict(hosts), host_corrupt)
        cache.member_view = (
            {n: m for n, m in members.items() if n not in legacy},
            corrupt[len(host_corrupt):])
        cache.revision = result.revision

    journal = {}
    steps = journal_mod.steps_by_recovery(keys, step_kvs)
    for kv in journal_kvs:
        data = load(kv, JOURNAL_FIELDS, _REQUIRED['journal'])
        if data is not None:
            rid = keys.name_in(keys.journal, kv.key)
            data = journal_mod.assemble(data, steps.get(rid, ({}, {}))[0])
            journal[rid] = (data, kv.mod_revision)

    probes = {}
    for kv in probe_kvs:
        parts = keys.probe_parts(kv.key)
        data = load(kv)
        if data is None or parts is None:
            continue
        target, request_id, prober = parts
        entry = probes.setdefault((target, request_id),
                                  {'request': None, 'answers': {}})
        if prober is None:
            entry['request'] = data
            entry['lease'] = kv.lease
        else:
            entry['answers'][prober] = data

    contracts = {}
    for kv in contract_kvs:
        data = load(kv)
        if data is not None:
            contracts[keys.name_in(keys.contracts, kv.key)] = data

    paused = load(pause_kvs[0]) if pause_kvs else None
    if pause_kvs and paused is None:
        # Someone meant to pause: an unreadable pause key pauses too.
        paused = {'by': 'an unreadable pause key (%s)' % pause_kvs[0].key}
    brake = load(brake_kvs[0]) if brake_kvs else None
    leader = leader_kvs[0] if leader_kvs else None
    duplicates = [data for data in (load(kv) for kv in duplicate_kvs)
                  if data is not None]
    segments = []
    for kv in segment_kvs:
        data = load(kv)
        if data is None:
            continue
        try:
            segments.append(segments_mod.parse_segment(
                data, keys.name_in(keys.segments, kv.key)))
        except segments_mod.SegmentError as exc:
            corrupt.append((kv.key, str(exc)))
    for key, reason in corrupt:
        LOG.debug('snapshot: skipped %s: %s', key, reason)
    coordinators = sorted(
        name for name in (keys.name_in(keys.coordinators, kv.key)
                          for kv in coordinator_kvs) if name)
    return Snapshot(result.revision, hosts, members, journal, probes,
                    contracts, paused, brake, leader, corrupt, duplicates,
                    legacy, segments, coordinators)


def probe_legacy_membership(store, group):
    """How many agents of an older VMR are in ``group`` at their old key
    (``tooz/groups/<group>/``), or False when our etcd role cannot read it
    (a cluster set up with the one-prefix role: its agents cannot write
    there either), or None when etcd cannot answer now (ask again).

    The coordinator asks once at start and, whenever the key is readable,
    sets ``store.legacy_membership``: :func:`take` then reads both keys, so
    an agent upgraded or rolled back in either order stays visible.  An
    empty prefix costs one range in the snapshot's transaction."""
    try:
        kvs, _rev = store.get_prefix(store.keys.legacy_group(group))
    except exceptions.StoreUnavailable:
        return None
    except exceptions.StoreError as exc:
        LOG.debug('legacy membership not readable: %s', exc)
        return False
    return sum(1 for kv in kvs
               if Keyspace.name_in(store.keys.legacy_group(group), kv.key))


def _legacy_members(legacy_dir, kvs, members, corrupt):
    """Members that joined at the old key (``tooz/groups/<group>/``)
    and not at the current one: during a rolling upgrade an old agent is
    alive, not failed.  ``corrupt`` gets the unreadable ones."""
    out = {}
    for kv in kvs:
        name = Keyspace.name_in(legacy_dir, kv.key)
        if not name or '/' in name or name in members:
            continue
        try:
            caps = kv.capabilities()
        except exceptions.CorruptRecord as exc:
            corrupt.append((kv.key, str(exc)))
            caps = {}
        out[name] = Member(name, caps, kv.lease, kv.create_revision)
    return out


#: :func:`_current`'s answer when a prefix did not move since the cache
UNCHANGED = object()


def _meta(raw):
    """A key-value without its value (what ``keys_only`` returns)."""
    if 'value' not in raw:
        return raw
    return {k: v for k, v in raw.items() if k != 'value'}


def _current(store, prefix, probe, cached, cached_revision, revision):
    """``[(raw kv, cached entry or None)]`` of ``prefix`` at ``revision``.

    ``probe`` is the answer to the count + newest-key range of the snapshot
    transaction: when neither moved, the cache is the prefix and nothing is
    read; otherwise the keys are listed and the changed values fetched, both
    at ``revision`` (None when the cache turns out inconsistent).
    """
    rng = probe.get('response_range') or {}
    newest = _raw_kvs(probe)
    newest_revision = int(newest[0].get('mod_revision', 0)) if newest else 0
    if int(rng.get('count', 0)) == len(cached) and \
            newest_revision <= cached_revision:
        return UNCHANGED
    result = store.txn([], [_range(prefix, keys_only=True,
                                   revision=str(revision))])
    key_kvs = _raw_kvs(result.responses[0])
    return _merge(cached, key_kvs, _changed(store, prefix, key_kvs, cached,
                                            revision))


def _changed(store, prefix, key_kvs, cached, revision):
    """The full key-values, read at ``revision``, of the keys of
    ``key_kvs`` whose revision differs from the cache."""
    stale = [kv['key'] for kv in key_kvs
             if cached.get(kv['key'], (None,))[0] != kv.get('mod_revision')]
    if not stale:
        return []
    at = str(revision)
    if len(stale) > max(100, len(key_kvs) // 4):
        # Many changed (start-up, mass failure): one range is cheaper.
        result = store.txn([], [_range(prefix, revision=at)])
        return _raw_kvs(result.responses[0])
    out = []
    for i in range(0, len(stale), 100):
        result = store.txn([], [{'request_range': {'key': key,
                                                   'revision': at}}
                                for key in stale[i:i + 100]])
        for response in result.responses:
            out.extend(_raw_kvs(response))
    return out


def _merge(cached, key_kvs, changed_kvs):
    """``[(raw kv, cached entry or None)]`` for the current keys of a prefix:
    the cached entry where the key is unchanged, None where it must be
    decoded; None altogether when the cache lacks an unchanged key."""
    changed = {kv['key']: kv for kv in changed_kvs}
    out = []
    for kv in key_kvs:
        full = changed.get(kv['key'])
        if full is not None:
            out.append((full, None))
            continue
        hit = cached.get(kv['key'])
        if hit is None or hit[0] != kv.get('mod_revision'):
            return None
        out.append((kv, hit[1]))
    return out
