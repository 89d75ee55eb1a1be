"""Every operation of the OpenAPI document, by route name: summary, tag,
parameters, body and responses."""

from vmr_common import models
from vmr_coordinator.api.openapi.schemas import (
    ANY_OBJ, STR, schema_ref)


def _json(schema_name, description):
    return {'description': description, 'content': {
        'application/json': {'schema': schema_ref(schema_name)}}}


def error_response(description):
    return _json('Error', description)


def _path_param(name, description):
    return {'name': name, 'in': 'path', 'required': True,
            'description': description, 'schema': STR}


def _query(name, description, schema=STR):
    return {'name': name, 'in': 'query', 'required': False,
            'description': description, 'schema': schema}


def _body(schema_name, required=True, yaml=False):
    content = {'application/json': {'schema': schema_ref(schema_name)}}
    if yaml:
        content['application/yaml'] = {'schema': STR}
    return {'required': required, 'content': content}


NAME = _path_param('name', 'Contract name.')
HOST = _path_param('host', 'Compute host name.')
RID = _path_param('recovery_id', 'Recovery id.')
SEGMENT = _path_param('name', 'Segment name.')
AUTH = [{'keystone': []}, {}]
WEBHOOK = [{'webhookBearer': []}, {'webhookBasic': []}, {'webhookToken': []},
           {'webhookSignature': []}]

#: route name -> (summary, tag, parameters, request body, responses)
OPERATIONS = {
    'healthz': ('The process is alive.', 'health', [], None,
                {'200': _json('Health', 'Alive.')}),
    'readyz': ('Ready: the leader, or a standby that can read etcd.',
               'health', [], None,
               {'200': _json('Ready', 'Ready.'),
                '503': _json('Ready', 'Not ready (etcd unreachable).')}),
    'metrics': ('Prometheus metrics (text exposition format).', 'health',
                [], None, {'200': {'description': 'Metrics.', 'content': {
                    'text/plain': {'schema': STR}}}}),
    'openapi': ('This document.', 'health', [], None,
                {'200': {'description': 'OpenAPI 3.1 document.',
                         'content': {'application/json': {
                             'schema': ANY_OBJ}}}}),
    'status': ('Leader, switches and counts of hosts and recoveries.',
               'cluster', [], None, {'200': _json('Status', 'Status.')}),
    'contracts.list': ('List contracts.', 'contracts', [], None,
                       {'200': _json('ContractList', 'Contracts.')}),
    'contracts.create': (
        'Create a contract (or validate it with dry_run=1).', 'contracts',
        [_query('dry_run', 'Validate and return the parsed contract '
                'without storing it, with the servers it selects now.',
                {'type': 'string', 'enum': ['0', '1']}),
         _query('match', 'With dry_run: list the cloud\'s servers the '
                'contract selects (default 1).',
                {'type': 'string', 'enum': ['0', '1']})],
        _body('Contract', yaml=True),
        {'200': _json('ContractEnvelope', 'Valid (dry run).'),
         '201': _json('ContractEnvelope', 'Created.'),
         '400': error_response('Invalid contract; `field` names the offending '
                       'field.'),
         '409': error_response('A contract with this name exists.')}),
    'contracts.get': ('Show a contract.', 'contracts', [NAME], None,
                      {'200': _json('ContractEnvelope', 'The contract.'),
                       '404': error_response('No such contract.')}),
    'contracts.put': ('Create or replace a contract.', 'contracts', [NAME],
                      _body('Contract', yaml=True),
                      {'200': _json('ContractEnvelope', 'Replaced.'),
                       '201': _json('ContractEnvelope', 'Created.'),
                       '400': error_response('Invalid contract.')}),
    'contracts.delete': ('Delete a contract.', 'contracts', [NAME], None,
                         {'204': {'description': 'Deleted.'},
                          '404': error_response('No such contract.')}),
    'segments.list': ('List failover segments.', 'segments', [], None,
                      {'200': _json('SegmentList', 'Segments.')}),
    'segments.create': ('Create a failover segment.', 'segments', [],
                        _body('Segment'),
                        {'201': _json('SegmentEnvelope', 'Created.'),
                         '400': error_response('Invalid segment; `field` names the '
                                       'offending field.'),
                         '409': error_response('A segment of this name exists, or a '
                                       'host is in another segment.')}),
    'segments.get': ('Show a failover segment.', 'segments', [SEGMENT],
                     None, {'200': _json('SegmentEnvelope', 'The segment.'),
                            '404': error_response('No such segment.')}),
    'segments.put': ('Create or replace a failover segment.', 'segments',
                     [SEGMENT], _body('Segment'),
                     {'200': _json('SegmentEnvelope', 'Replaced.'),
                      '201': _json('SegmentEnvelope', 'Created.'),
                      '400': error_response('Invalid segment.'),
                      '409': error_response('A host is in another segment.')}),
    'segments.delete': ('Delete a failover segment.', 'segments', [SEGMENT],
                        None, {'204': {'description': 'Deleted.'},
                               '404': error_response('No such segment.')}),
    'hosts.list': ('List hosts with their state and live membership.',
                   'hosts', [_query('state', 'Only hosts in this state.',
                                    {'type': 'string', 'enum': list(
                                        models.HostState.ALL)})], None,
                   {'200': _json('HostList', 'Hosts.'),
                    '400': error_response('Unknown state.')}),
    'hosts.get': ("Show a host with its agent's last facts.", 'hosts',
                  [HOST], None, {'200': _json('Host', 'The host.'),
                                 '404': error_response('No such host.')}),
    'hosts.maintenance': (
        'Start or end maintenance (compare-and-swap on the host record).',
        'hosts', [HOST], _body('MaintenanceRequest'),
        {'200': _json('Host', 'The updated host.'),
         '400': error_response('Malformed body.'), '404': error_response('No such host.'),
         '409': error_response('The record kept changing; retry.')}),
    'hosts.confirm_fenced': (
        'Confirm by hand that a host is powered off (journaled).', 'hosts',
        [HOST], _body('ReasonRequest', required=False),
        {'202': _json('OperatorRequest', 'Handed to the leader.'),
         '404': error_response('No such host.'),
         '409': error_response('The host is alive in the agents group.')}),
    'hosts.fence_test': (
        "Test a host's fence path: the power status through every rung of "
        'its ladder, timed; with power_cycle and confirm, fence it through '
        'the first rung that answered and power it on again (host in '
        'maintenance only).', 'hosts', [HOST],
        _body('FenceTestRequest', required=False),
        {'200': _json('FenceTest', 'Per rung: driver, result, seconds.'),
         '400': error_response('Malformed body, or a power cycle without confirm.'),
         '409': error_response('No fence profile for the host, not in maintenance, '
                       'or no rung answered.')}),
    'recoveries.list': (
        'List recoveries.', 'recoveries',
        [_query('state', 'Only recoveries in this state.',
                {'type': 'string', 'enum': list(models.RecoveryState.ALL)}),
         _query('host', 'Only recoveries of this host.'),
         _query('limit', 'At most this many (the newest).',
                {'type': 'integer', 'minimum': 1}),
         _query('history', 'true: the history too (closed recoveries the '
                'leader archived; with limit, the last archived).',
                {'type': 'boolean', 'default': False})], None,
        {'200': _json('RecoveryList', 'Recoveries, newest first.'),
         '400': error_response('Unknown state.')}),
    'recoveries.create': (
        'Ask for a manual recovery: one contract with a manual trigger, for '
        'one server or every server of a host (exactly one of server and '
        'host).', 'recoveries', [], _body('RecoveryRequest'),
        {'202': _json('RecoveryAccepted', 'Handed to the leader.'),
         '400': error_response('Malformed body, or the contract\'s trigger is not '
                       'manual; `field` names the offending field.'),
         '404': error_response('No such contract or host.'),
         '409': error_response('The contract is disabled or stored invalid.')}),
    'recoveries.get': ('Show a recovery with its steps and timeline.',
                       'recoveries', [RID], None,
                       {'200': _json('Recovery', 'The recovery.'),
                        '404': error_response('No such recovery.')}),
    'recoveries.delete': ('Purge a closed recovery from the history.',
                          'recoveries', [RID], None,
                          {'204': {'description': 'Purged.'},
                           '404': error_response('Not in the history.'),
                           '409': error_response('Still in the journal: open, or '
                                         'closed less than [journal] '
                                         'archive_after ago.')}),
    'plan': ('Dry run: what VMR would do if a host failed now — contracts, '
             'order, destinations and capacity.', 'planning',
             [dict(_query('host', 'The compute host to plan the failure of.'),
                   required=True)], None,
             {'200': _json('Plan', 'The plan (nothing is changed).'),
              '400': error_response('No host given.'),
              '404': error_response('Neither Nova nor VMR knows the host.'),
              '503': error_response('etcd or OpenStack ([cloud] cloud) is '
                            'unreachable.')}),
    'capacity': ('How many host failures each aggregate and zone survives '
                 '(N+k), from Placement or hypervisor usage.', 'planning',
                 [], None,
                 {'200': _json('Capacity', 'Per aggregate and zone.'),
                  '503': error_response('OpenStack ([cloud] cloud) is '
                                'unreachable.')}),
    'pause': ('Pause VMR: the leader observes but does nothing.', 'cluster',
              [], _body('ReasonRequest', required=False),
              {'200': _json('Pause', 'Paused.')}),
    'resume': ('Resume after a pause.', 'cluster', [], None,
               {'200': _json('Pause', 'Resumed.')}),
    'brake.release': ('Release the disruption brake.', 'cluster', [], None,
                      {'200': _json('BrakeRelease', 'Released (or was not '
                                    'engaged).')}),
    'alarms.aodh': ('Receive an Aodh alarm notification.', 'alarms', [],
                    {'required': True, 'content': {'application/json': {
                        'schema': ANY_OBJ}}},
                    {'202': _json('AlarmAccepted', 'Stored for the leader.'),
                     '400': error_response('Not an Aodh notification.'),
                     '401': error_response('Bad or missing credentials; '
                                   'nothing stored.')}),
    'alarms.alertmanager': (
        'Receive an Alertmanager webhook notification.', 'alarms', [],
        {'required': True, 'content': {'application/json': {
            'schema': ANY_OBJ}}},
        {'202': _json('AlarmAccepted', 'Stored for the leader.'),
         '400': error_response('Not an Alertmanager notification.'),
         '401': error_response('Bad or missing credentials; nothing stored.')}),
    'alarms.keepalived': (
        "A guest keepalived's notify hook reports a VRRP state change.",
        'alarms', [], _body('VrrpReport'),
        {'202': _json('VrrpAccepted', 'Stored as the latest state of the '
                      'instance.'),
         '400': error_response('Malformed report; `field` names the offending '
                       'field.'),
         '401': error_response('Bad or missing credentials; nothing stored.')}),
    'dashboard.redirect': ('The dashboard, at /dashboard/.', 'dashboard', [],
                           None, {'301': {'description': 'To /dashboard/.'}}),
    'dashboard': ('The web dashboard: hosts by zone, recoveries with their '
                  'timeline, fence paths, brake, capacity. Static; it reads '
                  'this API with the caller\'s token.', 'dashboard', [], None,
                  {'200': {'description': 'The page.', 'content': {
                      'text/html': {'schema': STR}}}}),
    'dashboard.asset': ('A file of the dashboard (its script and style).',
                        'dashboard', [_path_param('asset', 'dashboard.js or '
                                                  'dashboard.css')], None,
                        {'200': {'description': 'The file.', 'content': {
                            'text/javascript': {'schema': STR},
                            'text/css': {'schema': STR}}},
                         '404': error_response('No such file.')}),
}

COMMON_ERRORS = {
    '401': error_response('No valid Keystone token (auth_strategy = keystone).'),
    '403': error_response('The policy does not allow this caller.'),
    '503': error_response('etcd is unreachable.'),
}
