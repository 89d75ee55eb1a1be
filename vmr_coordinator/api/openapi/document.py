"""The OpenAPI document, put together from the route table, the
operations and the schemas."""

import copy
import json

import vmr_common
from vmr_coordinator.api import routing
from vmr_coordinator.api.openapi.operations import (
    AUTH, COMMON_ERRORS, OPERATIONS, WEBHOOK, error_response)
from vmr_coordinator.api.openapi.schemas import SCHEMAS


def document():
    """The OpenAPI document (a fresh dict)."""
    paths = {}
    for route in routing.ROUTES:
        summary, tag, params, body, responses = OPERATIONS[route.name]
        op = {'operationId': route.name, 'summary': summary, 'tags': [tag],
              'responses': copy.deepcopy(responses)}
        if params:
            op['parameters'] = copy.deepcopy(params)
        if body:
            op['requestBody'] = copy.deepcopy(body)
        if route.name.startswith('alarms.'):
            op['security'] = copy.deepcopy(WEBHOOK)
            if route.rule is not None:
                # Aodh's trust+http actions: a Keystone token instead.
                op['security'].append({'keystone': []})
                op['responses'].setdefault('403', error_response(
                    'The Keystone token\'s roles do not pass %s.'
                    % ', '.join(route.rule.rules)))
        elif route.rule is not None:
            op['security'] = copy.deepcopy(AUTH)
            for code, resp in COMMON_ERRORS.items():
                op['responses'].setdefault(code, copy.deepcopy(resp))
            if route.method == 'POST' and body and '400' not in \
                    op['responses']:
                op['responses']['400'] = error_response('Malformed body.')
        else:
            op['security'] = []
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        'openapi': '3.1.0',
        'info': {
            'title': 'VMR API',
            'version': vmr_common.__version__,
            'summary': 'Autohealing of OpenStack virtual machines.',
            'description': 'Served by every VMR coordinator. Errors are '
                           '`{"error": {"code", "message", "field"?}}`. With '
                           'auth_strategy = keystone send X-Auth-Token; '
                           'reads need the reader, member or admin role, '
                           'writes need admin. The alarm webhooks take '
                           '[api] webhook_token instead: as a Bearer '
                           'token, a basic-auth password, X-VMR-Token or '
                           'the key of X-VMR-Signature; the Aodh webhook '
                           'also takes a Keystone token (Aodh trust+http '
                           'actions) whose roles pass vmr:alarm:aodh.',
            'license': {'name': 'Apache-2.0',
                        'identifier': 'Apache-2.0'},
        },
        'tags': [{'name': t} for t in ('cluster', 'contracts', 'hosts',
                                       'recoveries', 'segments', 'planning',
                                       'alarms',
                                       'health', 'dashboard')],
        'paths': paths,
        'components': {
            'schemas': copy.deepcopy(SCHEMAS),
            'securitySchemes': {
                'keystone': {'type': 'apiKey', 'in': 'header',
                             'name': 'X-Auth-Token',
                             'description': 'A Keystone token.'},
                'webhookBearer': {'type': 'http', 'scheme': 'bearer',
                                  'description': 'Authorization: Bearer '
                                                 '<[api] webhook_token> '
                                                 '(Alertmanager).'},
                'webhookBasic': {'type': 'http', 'scheme': 'basic',
                                 'description': 'Any user name, password '
                                                '[api] webhook_token.'},
                'webhookToken': {'type': 'apiKey', 'in': 'header',
                                 'name': 'X-VMR-Token',
                                 'description': '[api] webhook_token.'},
                'webhookSignature': {
                    'type': 'apiKey', 'in': 'header',
                    'name': 'X-VMR-Signature',
                    'description': 'sha256=<hex HMAC-SHA256 of the body '
                                   'keyed with [api] webhook_token>.'},
            },
        },
    }


def render():
    """The document as the text stored in ``doc/api/openapi.json``."""
    return json.dumps(document(), indent=2, sort_keys=True) + '\n'
