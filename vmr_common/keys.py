"""The etcd keyspace (DESIGN §2), in one place.

Every key VMR writes lives below ``<prefix>/<cluster>/``; agents' group
membership lives where tooz puts it (``tooz/groups/<group>/<member>``).
"""

TOOZ_GROUP_PREFIX = 'tooz/groups/'


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
    def probes(self):
        return self.root + 'probes/'

    @property
    def locks(self):
        return self.root + 'locks/host/'

    @property
    def events(self):
        return self.root + 'events/'

    def host(self, name):
        return self.hosts + name

    def contract(self, name):
        return self.contracts + name

    def recovery(self, recovery_id):
        return self.journal + recovery_id

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

    @staticmethod
    def group(group):
        return '%s%s/' % (TOOZ_GROUP_PREFIX, group)

    @staticmethod
    def name_in(directory, key):
        """The last part of ``key`` below ``directory``."""
        return key[len(directory):]
