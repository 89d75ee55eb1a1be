"""The OpenAPI 3.1 description of the REST API, built from the route table.

Served at ``/v1/openapi.json`` and kept in ``doc/api/openapi.json``; a test
checks that both are equal. After changing an endpoint, regenerate it::

    python -m vmr_coordinator.api.openapi > doc/api/openapi.json
    python -m vmr_coordinator.api.openapi --rst > doc/api/reference.inc

The parts: ``schemas`` (every body), ``operations`` (every route's
summary, parameters and responses), ``document`` (the whole, from the
route table) and ``reference`` (the reference page).
"""

import sys

from vmr_coordinator.api.openapi.document import document, render  # noqa: F401
from vmr_coordinator.api.openapi.reference import render_rst  # noqa: F401


def main(argv=None):
    """Print the document (``python -m vmr_coordinator.api.openapi``), or
    with ``--rst`` the reference page."""
    argv = sys.argv[1:] if argv is None else argv
    sys.stdout.write(render_rst() if '--rst' in argv else render())
    return 0
