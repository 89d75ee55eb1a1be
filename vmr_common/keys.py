"""The etcd keyspace (DESIGN §2), in one place.

Every key VMR writes lives below ``<prefix>/<cluster>/``, the agents' group
membership too: ``<prefix>/<cluster>/groups/<group>/<member>``, in tooz's
layout (a bare group key, msgpack capabilities on a lease) but inside the
cluster, so two VMR clusters on one etcd never see each other's agents and
one etcd role prefix covers everything VMR touches.
"""


class Keyspace:
    """Builds the keys of one VMR cluster."""

    def __init__(self, prefix='/vmr', cluster='default'):
        prefix = '/' + prefix.strip('/') if prefix.strip('/') else ''
        self.root = '%s/%s/' % (prefix, cluster)

    # single keys
    @property
    def leader(self):
        return self.root + 'leader'

    @property
    def pause(self):
        return self.root + 'pause'

    @property
    def brake(self):
        return self.root + 'brake'

    # directories
    @property
    def hosts(self):
        return self.root + 'hosts/'

    @property
    def contracts(self):
        return self.root + 'contracts/'

    @property
    def journal(self):
        return self.root + 'journal/'

    @property
    def steps(self):
        """The steps of open recoveries written in journal format 2, one
        key each: ``steps/<recovery id>/<index>``."""
        return self.root + 'steps/'

    @property
    def history(self):
        """Closed recoveries the leader archived: never read by a cycle."""
        return self.root + 'history/'

    @property
    def incidents(self):
        """One key per alert incident that opened a recovery (so a re-sent
        alert finds its recovery after that moved to the history)."""
        return self.root + 'incidents/'

    @property
    def segments(self):
        return self.root + 'segments/'

    @property
    def probes(self):
        return self.root + 'probes/'

    @property
    def locks(self):
        return self.root + 'locks/host/'

    @property
    def events(self):
        return self.root + 'events/'

    @property
    def duplicate_agents(self):
        return self.root + 'duplicate_agents/'

    @property
    def fence_checks(self):
        return self.root + 'fence_checks/'

    @property
    def coordinators(self):
        """Each live coordinator's presence (a key with a lease)."""
        return self.root + 'coordinators/'

    def host(self, name):
        return self.hosts + name

    def contract(self, name):
        return self.contracts + name

    def recovery(self, recovery_id):
        return self.journal + recovery_id

    def segment(self, name):
        return self.segments + name

    def steps_of(self, recovery_id):
        return '%s%s/' % (self.steps, recovery_id)

    def step(self, recovery_id, index):
        """A step's key; the index zero-padded so keys sort in plan order."""
        return '%s%s/%06d' % (self.steps, recovery_id, index)

    def archived(self, recovery_id):
        return self.history + recovery_id

    def incident(self, digest):
        return self.incidents + digest

    def host_lock(self, host):
        return self.locks + host

    def probe_request(self, target, request_id):
        return '%s%s/%s' % (self.probes, target, request_id)

    def probe_answer(self, target, request_id, prober):
        return '%s%s/%s/%s' % (self.probes, target, request_id, prober)

    def probe_parts(self, key):
        """``(target, request_id, prober)`` of a key below ``probes/``:
        ``prober`` is None for the request itself; None for any other
        key."""
        parts = self.name_in(self.probes, key).split('/')
        if len(parts) == 2:
            return parts[0], parts[1], None
        if len(parts) == 3:
            return parts[0], parts[1], parts[2]
        return None

    def group(self, group):
        """The directory of tooz group ``group`` (its members below it)."""
        return '%sgroups/%s/' % (self.root, group)

    @staticmethod
    def legacy_group(group):
        """Where older agents joined ``group`` (tooz's global layout,
        ``tooz/groups/<group>/``): read during an upgrade, never written."""
        return 'tooz/groups/%s/' % group

    def member(self, group, host):
        return self.group(group) + host

    def duplicate_agent(self, host, boot_id):
        """Where an agent refused as a duplicate of ``host`` reports itself."""
        return '%s%s/%s' % (self.duplicate_agents, host, boot_id)

    def coordinator(self, member):
        return self.coordinators + member

    def fence_check(self, host):
        return self.fence_checks + host

    @staticmethod
    def name_in(directory, key):
        """The last part of ``key`` below ``directory``."""
        return key[len(directory):]
