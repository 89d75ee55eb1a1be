"""Planning: "if host X fails, what happens?" and "how many failures do we survive?".

Pure functions over plain data, no I/O (the cloud is read by
:mod:`vmr_coordinator.cloud`, the API hands the result out as JSON):

* :func:`plan_host_failure` matches the contracts against the servers of one
  host as the engine would for a ``host_down`` event, in the engine's order
  (priority, then name), and simulates where every server that needs a new
  home goes (``evacuate``, ``boot_from_snapshot``): the fitting host with the
  most free RAM, like Nova's default weigher, among the remaining enabled, up,
  not forced-down hosts, honouring ``target_host``/``target_aggregate`` and
  (anti-)affinity server groups.
* :func:`capacity` answers N+k per aggregate and availability zone: the
  largest k such that losing *any* k usable hosts leaves room for their VMs
  on the others (vCPU, RAM and disk all counted).

The capacity answer is a pooled one: it adds up free room across hosts and so
ignores fragmentation (a 16 GiB VM does not fit in two 8 GiB holes). It is an
upper bound; :func:`plan_host_failure` places VM by VM and is the exact
answer for one host.

What lives where (everything is importable from ``vmr_coordinator.planning``):

* :mod:`~vmr_coordinator.planning.hosts`: the records (``HostCapacity``,
  ``ComputeService``, ``Aggregate``, ``ServerLoad``) and ``host_view``;
* :mod:`~vmr_coordinator.planning.host_failure`: ``plan_host_failure``,
  ``plan_sentence``, ``choose_in_aggregate`` and ``Destination``;
* :mod:`~vmr_coordinator.planning.tolerance`: ``capacity``,
  ``capacity_sentence`` and ``tolerated_failures`` (N+k).
"""

from vmr_coordinator.planning.host_failure import (NON_PLACING_ACTIONS, PLACING_ACTIONS,
                                                   Destination, choose_in_aggregate,
                                                   place_in_segment, plan_host_failure,
                                                   plan_sentence)
from vmr_coordinator.planning.hosts import (AFFINITY_POLICIES, RESOURCE_LABELS, RESOURCES,
                                            Aggregate, ComputeService, HostCapacity,
                                            ServerLoad, host_view)
from vmr_coordinator.planning.tolerance import (capacity, capacity_sentence,
                                                tolerated_failures)

__all__ = [
    'AFFINITY_POLICIES', 'NON_PLACING_ACTIONS', 'PLACING_ACTIONS', 'RESOURCES',
    'RESOURCE_LABELS', 'Aggregate', 'ComputeService', 'Destination', 'HostCapacity',
    'ServerLoad', 'capacity', 'capacity_sentence', 'choose_in_aggregate', 'host_view',
    'place_in_segment', 'plan_host_failure', 'plan_sentence', 'tolerated_failures',
]
