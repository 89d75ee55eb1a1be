"""Errors VMR raises on purpose; each message names the thing and the fix."""


class VmrError(Exception):
    """Base of every VMR error."""


class ConfigError(VmrError):
    """The configuration is wrong; the message names the option."""


class StoreError(VmrError):
    """etcd could not do what was asked."""


class StoreUnavailable(StoreError):
    """No etcd endpoint answered (down, unreachable or without a leader)."""


class LeadershipLost(StoreError):
    """A leader-guarded write was refused: this coordinator no longer leads."""


class CompareFailed(StoreError):
    """A conditional write was refused because a key it compared changed
    meanwhile (another writer got there first): read again and retry, or
    give up.  Never raised for a lost leadership or an unreachable etcd."""


class CorruptRecord(StoreError):
    """A value under the VMR prefix is not what VMR writes there."""


def first_line(exc, limit=None):
    """The first line of ``exc``'s message (its class name when it has
    none), cut at ``limit`` characters: keystoneauth's and urllib3's errors
    carry a whole chain, whose first line names the URL and what
    happened -- the one line an operator reads."""
    line = (str(exc).splitlines() or [type(exc).__name__])[0]
    return line[:limit] if limit else line
