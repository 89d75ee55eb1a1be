"""The served OpenAPI document is valid and equals doc/api/openapi.json."""

import json
import os

from openapi_spec_validator import validate

from vmr_coordinator.api import openapi, routing

DOC = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'doc', 'api',
                   'openapi.json')


def test_served_document_is_valid_and_kept_in_doc(api):
    r = api.get('/v1/openapi.json')
    assert r.status_code == 200
    served = r.json()
    validate(served)
    with open(DOC) as f:
        stored = json.load(f)
    assert served == stored, (
        'doc/api/openapi.json is stale: run python -m '
        'vmr_coordinator.api.openapi > doc/api/openapi.json')


def test_every_route_is_documented():
    doc = openapi.document()
    for route in routing.ROUTES:
        assert route.method.lower() in doc['paths'][route.path], route.name
