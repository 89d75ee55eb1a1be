"""The agent's part of its host record (``hosts/<host>``).

The record has two owners: the agent owns the ``agent`` sub-document
(inventory facts it knows best), the leader owns everything else (state,
recovery, maintenance).  Both write with compare-and-swap on the record's
``mod_revision``, so neither can overwrite the other's fields.
"""

import logging
import time

from vmr_common import exceptions
from vmr_common.store import Compare, Op

LOG = logging.getLogger(__name__)


def new_record(host, agent_facts, now=None):
    """The record a host gets when its agent registers it for the first time."""
    return {
        'host': host,
        'registered_at': now or time.time(),
        'enabled': True,
        'maintenance': False,
        'state': 'up',
        'state_since': now or time.time(),
        'agent': dict(agent_facts),
    }


def register(store, host, agent_facts, attempts=5):
    """Create or update ``hosts/<host>`` with ``agent_facts``; the record."""
    key = store.keys.host(host)
    for _ in range(attempts):
        kv = store.get(key)
        if kv is None:
            record = new_record(host, agent_facts)
            if store.create(key, record):
                LOG.info('registered host %s in %s', host, key)
                return record
            continue
        try:
            record = kv.json()
        except exceptions.CorruptRecord as exc:
            LOG.error('%s; replacing it with a fresh registration', exc)
            record = new_record(host, agent_facts)
        if not isinstance(record, dict):
            record = new_record(host, agent_facts)
        if record.get('agent') == agent_facts:
            return record
        record['agent'] = dict(agent_facts)
        record.setdefault('host', host)
        result = store.txn([Compare.mod_revision(key, kv.mod_revision)],
                           [Op.put(key, record)])
        if result.succeeded:
            return record
    raise exceptions.StoreError('could not register %s: %s keeps changing'
                                % (host, key))
