"""From "host failed" to "VMs healed": the stages after detection.

Plugged into the healer loop (``Healer.stages``), run by the leader only:

1. a *failed* host gets a journal record and the host lock (one open
   recovery per host incarnation), in one guarded transaction;
2. the record is *fenced* with the host's fence profile (ladder of fencers,
   then ``post`` steps such as ``nova_force_down``) — or *blocked* and
   retried with back-off, or confirmed by an operator;
3. only a verified fence lets it plan: the host's servers are matched with
   the contracts, one step per server, highest priority first;
4. steps run in a bounded pool under per-contract limits, with retries and
   the contract's ``on_failure`` actions; every action is idempotent, so a
   new leader resumes a record without repeating finished work;
5. when the fenced host returns with a new boot id, its Nova service is
   un-forced and enabled once it reports up, and the host is *up* again.

The loop itself never blocks: fencing and actions run in worker threads and
write their outcome through the same leader-guarded journal.

The engine is :class:`~vmr_coordinator.recovery.engine.Recovery`, put
together from one part per stage (``intake``, ``fence``, ``plan``,
``steps``, ``returns``, ``upkeep``); what a record needs next is decided
by the pure functions of ``decide``.
"""

from vmr_coordinator.recovery.decide import held_down, next_job, polled_statuses, standby_keys  # noqa: F401 - the API
from vmr_coordinator.recovery.engine import Recovery, attach  # noqa: F401 - the API
from vmr_coordinator.recovery.upkeep import RESERVE_CHECK  # noqa: F401
