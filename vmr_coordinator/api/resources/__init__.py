"""The REST API's resources: what each endpoint reads and writes in etcd.

One module per resource — :mod:`.health`, :mod:`.cluster`, :mod:`.contracts`,
:mod:`.hosts`, :mod:`.fence`, :mod:`.recoveries`, :mod:`.planning`,
:mod:`.segments`,
:mod:`.alarms`, :mod:`.dashboard` — each a class of handlers over
:class:`~.base.ResourceBase` (the store, the configuration, the cloud
connection). :class:`Resources` is all of them in
one object, the one the router calls by the handler names in
:data:`vmr_coordinator.api.routing.ROUTES`.

Reads take one consistent snapshot (or one range) per request. Writes are
operator *requests* the leader picks up (pause, confirm-fenced, alarm
events) or documents it reads (contracts); the one write into a record the
leader also writes — a host's maintenance flag — is a compare-and-swap (see
:mod:`.hosts`).
"""

from vmr_coordinator.api.resources.alarms import AlarmResource
from vmr_coordinator.api.resources.cluster import ClusterResource
from vmr_coordinator.api.resources.contracts import ContractResource
from vmr_coordinator.api.resources.dashboard import DashboardResource
from vmr_coordinator.api.resources.fence import FenceResource
from vmr_coordinator.api.resources.health import HealthResource
from vmr_coordinator.api.resources.hosts import HostResource
from vmr_coordinator.api.resources.planning import PlanningResource
from vmr_coordinator.api.resources.recoveries import RecoveryResource
from vmr_coordinator.api.resources.segments import SegmentResource


class Resources(HealthResource, ClusterResource, ContractResource,
                HostResource, FenceResource, RecoveryResource,
                PlanningResource, SegmentResource, AlarmResource,
                DashboardResource):
    """Every endpoint handler, bound to one store and coordinator (they
    share one cloud connection and one metrics registry)."""
