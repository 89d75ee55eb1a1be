"""The lab's Octavia v2 API, a package along Octavia's own seams:

* :mod:`.api` -- ``OctaviaAPI``: state, routes, the generic handlers;
* :mod:`.states` -- provisioning and operating status;
* :mod:`.resources` -- load balancers, listeners, pools, members, monitors;
* :mod:`.validation` -- the vocabulary and input rules.
"""

from vmr_lab.services.octavia.api import OctaviaAPI
from vmr_lab.services.octavia.validation import (
    ALGORITHMS,
    API_MINOR,
    ATTRIBUTES,
    MONITOR_TYPES,
    POOL_PROTOCOLS,
    PROTOCOLS,
)

__all__ = ['ALGORITHMS', 'API_MINOR', 'ATTRIBUTES', 'MONITOR_TYPES',
           'OctaviaAPI', 'POOL_PROTOCOLS', 'PROTOCOLS']
