"""The one place that talks to etcd (through etcd3gw's HTTP gateway client).

Why raw gateway requests instead of etcd3gw's helpers: we need the revisions
and lease ids of every key (the leader's ``create_revision`` is the fencing
token), multi-key transactions with compare clauses, several endpoints with
fail-over, and watches that cannot die silently.  etcd3gw gives us the HTTP
session, TLS and error mapping; the request bodies are built here.

Pitfalls handled here (see FACTS.md): keys and values are base64 in raw
bodies; numbers come back as strings; ``succeeded`` is absent when a
transaction fails; PUT events lack ``type``; etcd answers 503 while it has no
leader; watches die silently on etcd restart or compaction.

The parts: ``client`` (:class:`Store`), ``wire`` (the request bodies and
what comes back), ``watch`` (:class:`Watcher`) and ``errors`` (etcd's
refusals in words).
"""

from vmr_common.store.client import Store  # noqa: F401 - the API
from vmr_common.store.errors import CN_REFUSED, token_expired  # noqa: F401
from vmr_common.store.watch import Watcher  # noqa: F401
from vmr_common.store.wire import (  # noqa: F401 - the API
    Compare, KeyValue, LeaderGuard, Op, TxnResult, range_end)
