"""``vmr-agent --check``: can this agent join, and is its host name its own?

Besides the configuration (checked by :mod:`vmr_common.cli`), an agent needs
etcd to answer and its host name to be free: a live member of the agents
group with the same name and another boot id is a second machine (a cloned
image) that this agent must not replace.
"""

from vmr_common import exceptions
from vmr_common.store import Store


def etcd_problems(conf):
    """etcd reachable; no other live agent under this host's name."""
    from vmr_agent.service import read_boot_id
    store = Store.from_conf(conf)
    try:
        store.status()
        kv = store.get(store.keys.member(conf.heartbeat.group, conf.host))
    except exceptions.StoreError as exc:
        # the store's message names the endpoints and what to check
        return [exceptions.first_line(exc)]
    if kv is None:
        return []
    try:
        caps = kv.capabilities()
    except exceptions.CorruptRecord:
        caps = {}
    mine = read_boot_id(conf.agent.boot_id_file)
    theirs = caps.get('boot_id')
    if theirs and theirs != mine:
        return ['another agent is a live member as %s (boot id %s, '
                'addresses %s): two machines share this host name (a cloned '
                'image?); give this one its own [DEFAULT] host'
                % (conf.host, theirs, caps.get('addresses') or '-')]
    return []
