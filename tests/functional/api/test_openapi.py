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


def test_the_reference_page_is_generated_from_the_document():
    path = os.path.join(os.path.dirname(DOC), 'reference.inc')
    with open(path, encoding='utf-8') as f:
        stored = f.read()
    assert stored == openapi.render_rst(), (
        'doc/api/reference.inc is stale: run python -m '
        'vmr_coordinator.api.openapi --rst > doc/api/reference.inc')
    # every operation and schema has its section
    doc = openapi.document()
    for path_, methods in doc['paths'].items():
        for method in methods:
            assert '\n%s %s\n' % (method.upper(), path_) in stored
    for name in doc['components']['schemas']:
        assert '.. _schema-%s:' % name.lower() in stored
