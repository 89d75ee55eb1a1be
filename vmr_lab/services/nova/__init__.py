"""Nova (compute v2.1) for the lab, with the rules VMR must respect.

Faithful where a healer can trip (DESIGN.md section 7):

* microversions 2.1 .. ``lab.microversion_max`` (2.96) negotiated through
  ``OpenStack-API-Version`` / ``X-OpenStack-Nova-API-Version``, 406 outside;
* evacuate answers 400 while the source nova-compute is up and not forced
  down; an evacuated server ends SHUTOFF at >= 2.95 and ACTIVE below;
* evacuate, live-migrate and boot need a destination that is enabled, up,
  not forced down and has room (vCPUs and RAM of the flavor);
* a service enabled before it reports up gets a sticky
  ``COMPUTE_STATUS_DISABLED`` trait (the scheduler then skips the host);
  disabling a service Nova believes up while it is dead blocks nova-api for
  ``delays['rpc_timeout']`` like a real RPC call to a dead compute;
* every action sets ``task_state`` and completes asynchronously after a
  tunable delay, and only once the compute that must do it is alive (the
  message waits in its queue); a conflicting action meanwhile gets 409;
* key pairs belong to a user (another user's need admin and ``user_id``,
  >= 2.10) and a server's ``key_name`` must name one of the caller's, or
  the boot gets 400 "Invalid key_name provided.";
* admin-only APIs answer 403 to other roles, errors use Nova's bodies.

The simulated hypervisors live in :mod:`vmr_lab.hosts`; Nova tells a host to
start or stop a server when an action completes.

One module per controller of the real Nova API: ``servers``,
``server_actions`` (the ``action`` endpoint: stop, start, reboot, rebuild,
evacuate, live-migrate, migrate, ...), ``server_metadata``, ``server_tags``,
``volumes`` (volume attachments), ``instance_actions``, ``migrations``,
``os_services``, ``hypervisors``, ``flavors``, ``keypairs``, ``aggregates``
(and availability zones) and ``server_groups``; the parts they share:
``common`` (constants and helpers), ``views`` (server views), ``scheduler``,
``tasks`` (policy, action records, the asynchronous machinery), ``hooks``
(the calls of the lab and other services) and ``api`` (:class:`NovaAPI`,
which puts them together, with its state, routes and microversions).
"""

from vmr_lab.services.nova.api import (CONTROLLER_HOST, FLAVORS,  # noqa: F401 - the API
                                       MIN_VERSION, NovaAPI)
from vmr_lab.services.nova.common import (CRASHED, NOSTATE, PAUSED, RUNNING,  # noqa: F401
                                          SHUTDOWN, SUSPENDED, status_of)
from vmr_lab.services.nova.keypairs import KEYPAIR_QUOTA  # noqa: F401
from vmr_lab.services.nova.servers import MAX_USER_DATA  # noqa: F401
