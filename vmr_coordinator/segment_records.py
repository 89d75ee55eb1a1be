"""Segments as etcd holds them (``segments/<name>``): read them, and mark
a reserved host used.  The model and its decisions are
:mod:`vmr_coordinator.segments` (pure)."""

from vmr_common import exceptions
from vmr_coordinator import segments as segments_mod


def stored_segments(store, on_corrupt=None):
    """Every valid segment in etcd (:class:`~.segments.Segment`, by name);
    an invalid one is passed to ``on_corrupt(key, reason)`` and left out."""
    out = []
    for name, doc in store.get_objects(store.keys.segments):
        try:
            out.append(segments_mod.parse_segment(doc, name))
        except segments_mod.SegmentError as exc:
            if on_corrupt is not None:
                on_corrupt(store.keys.segment(name), str(exc))
    return out


def reserved_in(store, name):
    """The reserved hosts segment ``name`` lists now (empty when it is
    gone or unreadable)."""
    kv = store.get(store.keys.segment(name))
    try:
        doc = kv.json() if kv is not None else {}
    except exceptions.CorruptRecord:
        return ()
    hosts = doc.get('reserved_hosts') if isinstance(doc, dict) else None
    return tuple(hosts) if isinstance(hosts, list) else ()


def use_reserved_host(store, write, name, host):
    """Make ``host`` an ordinary member of segment ``name``: it took
    servers, it is no longer an idle spare.  ``write`` is the leader's
    guarded transaction.  The segment as written; None when it is gone or
    ``host`` was not reserved there (any more)."""
    changed = []

    def change(doc):
        if host not in (doc.get('reserved_hosts') or []):
            return None
        doc['reserved_hosts'] = [h for h in doc['reserved_hosts']
                                 if h != host]
        doc['hosts'] = sorted(set(doc.get('hosts') or []) | {host})
        changed.append(True)
        return doc
    try:
        written = store.cas_update(store.keys.segment(name), change, write)
    except exceptions.CompareFailed:
        return None
    return written if changed else None
