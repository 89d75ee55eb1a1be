"""The lab's Cinder v3 API, a package along Cinder's own seams:

* :mod:`.api` -- ``CinderAPI``: state, routes, volume types, Nova's hooks;
* :mod:`.volumes` -- volumes and the volume actions;
* :mod:`.attachments` -- attach/detach and the attachments API (3.27+);
* :mod:`.common` -- microversions and input rules.
"""

from vmr_lab.services.cinder.api import CinderAPI
from vmr_lab.services.cinder.common import (
    DEFAULT_TYPE_ID,
    DELETABLE,
    MAX_VERSION,
    MIN_VERSION,
)

__all__ = ['CinderAPI', 'DEFAULT_TYPE_ID', 'DELETABLE', 'MAX_VERSION',
           'MIN_VERSION']
