"""Reachability, shared by the agent and the coordinator.

* :mod:`vmr_common.reach.ring` — who watches whom: the neighbour ring (pure);
* :mod:`vmr_common.reach.probes` — the UDP probes themselves (sockets);
* :mod:`vmr_common.reach.watch` — continuous probing, answered from memory.

An agent watches its ring neighbours and answers the leader's probe
requests about them; the leader asks the agents the ring says are already
watching a suspect, and watches every host itself.
"""
