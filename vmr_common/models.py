"""The states VMR records and the names it accepts, defined once.

Every package reads these from here: detection and recovery write them, the
API validates and documents them, metrics count them, the CLI offers them.
"""

import re
import uuid


class HostState:
    """Host states written to ``hosts/<host>``; detection owns the first five."""

    UP = 'up'
    SUSPECT = 'suspect'
    PARTITIONED = 'partitioned'
    FAILED = 'failed'
    MAINTENANCE = 'maintenance'
    # Owned by fencing/recovery (later stages of the same record):
    FENCING = 'fencing'
    FENCED = 'fenced'
    BLOCKED = 'blocked'
    RECOVERING = 'recovering'
    RECOVERED = 'recovered'

    #: every state, in the order the API, metrics and CLI list them
    ALL = (UP, SUSPECT, PARTITIONED, FAILED, FENCING, FENCED, BLOCKED,
           RECOVERING, RECOVERED, MAINTENANCE)

    #: The one table of the host state machine: the states a host may go to
    #: from each state.  Detection owns the moves out of up, suspect,
    #: partitioned and maintenance and into failed; the recovery engine
    #: owns failed -> fencing and everything after it until the host is up
    #: again.  Staying in a state (new fields, same state) is always
    #: allowed.  A write outside the table is refused and logged.
    #: A trigger that declares its host dead (``needs_fence``: an alarm,
    #: an event) has the engine fence it from whatever state detection
    #: holds it in: fenced or blocked from every detection state.
    TRANSITIONS = {
        UP: (SUSPECT, MAINTENANCE, FENCED, BLOCKED),
        SUSPECT: (UP, PARTITIONED, FAILED, MAINTENANCE, FENCED, BLOCKED),
        PARTITIONED: (UP, FAILED, MAINTENANCE, FENCED, BLOCKED),
        MAINTENANCE: (UP, SUSPECT, FENCED, BLOCKED),
        # up: back (new or same boot) before the engine opened a recovery
        FAILED: (UP, FENCING, FENCED, BLOCKED),
        FENCING: (FENCED, BLOCKED),
        # up: back before any fence was proven (nothing restarted)
        BLOCKED: (FENCED, UP),
        FENCED: (RECOVERING, RECOVERED),
        RECOVERING: (RECOVERED,),
        # up: back with a new boot id
        RECOVERED: (UP,),
    }

    @classmethod
    def allowed(cls, old, new):
        """May a host go from state ``old`` to ``new``?  A record without
        a state (a fresh or foreign one) may take any."""
        return old is None or old == new or new in cls.TRANSITIONS.get(old, ())


class RecoveryState:
    """States of a recovery record in the journal (``journal/<id>``)."""

    DETECTED = 'detected'
    CONFIRMING = 'confirming'
    FENCING = 'fencing'
    FENCED = 'fenced'
    ACTING = 'acting'
    DONE = 'done'
    FAILED = 'failed'
    BLOCKED = 'blocked'

    TERMINAL = (DONE, FAILED)
    OPEN = (DETECTED, CONFIRMING, FENCING, FENCED, ACTING, BLOCKED)
    #: every state, in the order a recovery goes through them
    ALL = (DETECTED, CONFIRMING, FENCING, FENCED, ACTING, DONE, FAILED,
           BLOCKED)


class StepState:
    """States of one step (one server) of a recovery."""

    PENDING = 'pending'
    RUNNING = 'running'
    DONE = 'done'
    FAILED = 'failed'
    SKIPPED = 'skipped'

    TERMINAL = (DONE, FAILED, SKIPPED)
    #: every state, in the order a step goes through them
    ALL = (PENDING, RUNNING, DONE, FAILED, SKIPPED)


#: states a guest's keepalived notify hook reports, recorded under
#: ``vrrp/<pair>/<instance>`` (UNKNOWN: the hook got something else)
VRRP_STATES = ('MASTER', 'BACKUP', 'FAULT', 'STOP', 'UNKNOWN')

#: names VMR accepts for guest pairs and their members (keepalived instance
#: names, the VRRP report's ``pair`` and ``instance``): they are embedded in
#: keepalived.conf, shell scripts, JSON bodies and etcd key segments, so a
#: conservative alphabet (no '/', no whitespace) that never needs quoting
NAME_PATTERN = r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
NAME_RE = re.compile(NAME_PATTERN)
#: what :data:`NAME_RE` asks for, in words (for error messages)
NAME_RULE = ("1-64 letters, digits, '.', '_' or '-' starting with a letter or "
             "digit (no whitespace)")


def looks_like_id(ref):
    """True when ``ref`` is a UUID: an OpenStack id, not a name."""
    try:
        uuid.UUID(str(ref))
        return True
    except ValueError:
        return False
