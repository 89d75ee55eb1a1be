"""The OpenAPI 3.1 description of the REST API, built from the route table.

Served at ``/v1/openapi.json`` and kept in ``doc/api/openapi.json``; a test
checks that both are equal. After changing an endpoint, regenerate it::

    python -m vmr_coordinator.api.openapi > doc/api/openapi.json
"""

import copy
import json
import sys

import vmr_common
from vmr_common import models
from vmr_coordinator.api import routing


def _ref(name):
    return {'$ref': '#/components/schemas/%s' % name}


def _obj(properties, required=(), additional=True):
    schema = {'type': 'object', 'properties': properties}
    if required:
        schema['required'] = list(required)
    if not additional:
        schema['additionalProperties'] = False
    return schema


STR = {'type': 'string'}
NSTR = {'type': ['string', 'null']}
NUM = {'type': 'number'}
NNUM = {'type': ['number', 'null']}
BOOL = {'type': 'boolean'}
INT = {'type': 'integer'}
ANY_OBJ = {'type': 'object'}
NOBJ = {'type': ['object', 'null']}
COUNTS = {'type': 'object', 'additionalProperties': INT}

SCHEMAS = {
    'Error': _obj({'error': _obj({
        'code': INT, 'message': STR,
        'field': {'type': 'string', 'description': 'The offending request '
                  'field (dotted path), when there is one.'}},
        required=('code', 'message'))}, required=('error',)),
    'Contract': _obj({
        'name': STR, 'description': STR, 'priority': INT, 'enabled': BOOL,
        'trigger': _obj({'type': STR}, required=('type',)),
        'selector': ANY_OBJ,
        'action': _obj({'type': STR, 'params': ANY_OBJ}, required=('type',)),
        'on_failure': {'type': 'array', 'items': ANY_OBJ},
        'limits': ANY_OBJ}, required=('name', 'trigger', 'action')),
    'ServerRef': _obj({'id': STR, 'name': STR, 'host': NSTR,
                       'project_id': STR, 'status': STR,
                       'reason': {'type': 'string', 'description':
                                  'Why a skipped server is left alone.'}},
                      required=('id', 'name')),
    'Matches': _obj({
        'checked': {'type': 'boolean', 'description': 'False when the '
                    'cloud could not be listed (see error).'},
        'error': STR, 'servers': INT,
        'selected': {'type': 'array', 'items': _ref('ServerRef')},
        'skipped': {'type': 'array', 'items': _ref('ServerRef')}},
        required=('checked',)),
    'ContractEnvelope': _obj({'contract': _ref('Contract'),
                              'dry_run': BOOL,
                              'matches': _ref('Matches')},
                             required=('contract',)),
    'ContractList': _obj({'contracts': {'type': 'array',
                                        'items': _ref('Contract')}},
                         required=('contracts',)),
    'HostSummary': _obj({
        'host': STR, 'state': STR, 'state_since': NNUM, 'reason': NSTR,
        'live': BOOL, 'enabled': BOOL, 'maintenance': BOOL, 'zone': STR,
        'recovery': NSTR}, required=('host', 'state', 'live')),
    'HostList': _obj({'hosts': {'type': 'array',
                                'items': _ref('HostSummary')},
                      'members': {'type': 'array', 'items': STR}},
                     required=('hosts', 'members')),
    'Host': _obj({'host': _obj({
        'host': STR, 'state': STR, 'enabled': BOOL, 'maintenance': BOOL,
        'maintenance_by': NSTR, 'maintenance_reason': NSTR,
        'maintenance_at': NNUM, 'agent': ANY_OBJ, 'live': BOOL,
        'mod_revision': INT}, required=('host',)),
        'member': {'type': ['object', 'null'], 'description': 'The live '
                   "agent's capabilities, null when it is absent."},
        'fence': dict(_obj({
            'profile': NSTR, 'ladder': {'type': 'array', 'items': STR},
            'post': {'type': 'array', 'items': STR}, 'error': NSTR,
            'last_check': {'oneOf': [{'type': 'null'}, _obj({
                'ok': BOOL, 'checked_at': NNUM, 'checked_by': NSTR,
                'why': NSTR})]}}),
            description="The fence profile that applies to the host (its "
            "drivers; options stay in the profiles file) or why none does, "
            "and the leader's last status-only check of it."),
        'warning': dict(STR, description='Maintenance turned on while no '
                        'enabled contract has trigger maintenance: nothing '
                        'will be drained.')},
        required=('host',)),
    'MaintenanceRequest': _obj({'enabled': BOOL, 'reason': STR},
                               required=('enabled',), additional=False),
    'ReasonRequest': _obj({'reason': STR}),
    'OperatorRequest': _obj({'request': _obj({
        'type': STR, 'host': STR, 'by': STR, 'at': NUM, 'reason': NSTR})},
        required=('request',)),
    'RecoveryRequest': _obj({
        'contract': dict(STR, description='A contract whose trigger is '
                         'manual.'),
        'server': dict(STR, description='Id or name of the server to heal.'),
        'host': dict(STR, description='Heal every server on this host.'),
        'reason': STR},
        required=('contract',), additional=False),
    'RecoveryAccepted': _obj({
        'recovery_id': dict(STR, description='The id the recovery opens '
                            'under (GET /v1/recoveries/{recovery_id}).'),
        'request': ANY_OBJ}, required=('recovery_id', 'request')),
    'RecoverySummary': _obj({
        'id': STR, 'host': NSTR, 'state': NSTR, 'trigger': NSTR,
        'created_at': NNUM, 'updated_at': NNUM,
        'archived_at': dict(NNUM, description='When the leader moved it '
                            'to the history; null while in the journal.'),
        'fenced': BOOL, 'steps': INT, 'steps_by_state': COUNTS}, required=('id', 'state')),
    'RecoveryList': _obj({'recoveries': {
        'type': 'array', 'items': _ref('RecoverySummary')}},
        required=('recoveries',)),
    'Recovery': _obj({'recovery': _obj({
        'id': STR, 'host': STR, 'state': STR, 'trigger': ANY_OBJ,
        'created_at': NUM, 'updated_at': NUM, 'archived_at': NNUM,
        'fencing': ANY_OBJ, 'steps': {'type': 'array', 'items': _obj({
            'server_id': STR, 'server_name': NSTR, 'contract': STR,
            'action': STR, 'state': STR, 'attempts': INT,
            'started_at': NNUM, 'finished_at': NNUM, 'result': {},
            'error': NSTR, 'request_ids': {'type': 'array',
                                           'items': STR}})},
        'timeline': {'type': 'array', 'items': _obj({
            'at': NUM, 'event': STR, 'detail': {}})}},
        required=('id', 'state'))}, required=('recovery',)),
    'Pause': _obj({'paused': {'oneOf': [{'type': 'null'}, _obj({
        'by': STR, 'at': NUM, 'reason': NSTR})]}, 'was_paused': BOOL},
        required=('paused',)),
    'BrakeRelease': _obj({'released': BOOL, 'brake': NOBJ},
                         required=('released',)),
    'Status': _obj({
        'leader': {'oneOf': [{'type': 'null'},
                             _obj({'member': STR, 'token': INT})]},
        'coordinator': _obj({'member': NSTR, 'is_leader': BOOL,
                             'token': {'type': ['integer', 'null']},
                             'sentence': NSTR, 'cycle_seconds': NNUM,
                             'cycles': {'type': ['integer', 'null']}}),
        'paused': NOBJ, 'brake': NOBJ,
        'hosts': _obj({'total': INT, 'by_state': COUNTS}),
        'recoveries': _obj({'total': INT, 'by_state': COUNTS}),
        'members': {'type': 'array', 'items': STR},
        'heartbeats': dict(COUNTS, description='Live agents by how they '
                           'renew their lease: grpc, gateway (see the '
                           'operator guide), unknown.'),
        'contracts': INT, 'revision': INT,
        'corrupt_keys': {'type': 'array', 'items': STR},
        'legacy_members': {
            'type': 'array', 'items': STR, 'description': 'Live agents '
            'of an older VMR, found at their old group key during an '
            'upgrade: upgrade them.'},
        'duplicate_agents': {
            'type': 'array', 'description': 'Agents refused because '
            'another live agent holds their host name (a cloned image?): '
            'each reports itself and the holder until it stops or joins.',
            'items': _obj({
                'host': STR, 'boot_id': NSTR, 'addresses': {'type': 'object'},
                'version': NSTR, 'refused_at': NUM, 'refusals': INT,
                'holder': _obj({'boot_id': NSTR, 'version': NSTR,
                                'addresses': {'type': 'object'}})})},
        'fence_paths': _obj({
            'checked': INT, 'oldest_check': NNUM,
            'failed': {'type': 'array', 'description': 'Hosts whose fence '
                       'path failed the leader\'s last status-only check '
                       '([coordinator] fence_check_interval), with why.',
                       'items': _obj({'host': STR, 'checked_at': NNUM,
                                      'why': STR})}}),
        'vrrp': {'type': 'object', 'description': 'The latest state each '
                 'keepalived guest reported: pair -> instance -> report.',
                 'additionalProperties': {
                     'type': 'object',
                     'additionalProperties': _ref('VrrpState')}},
        'preflight': _obj({
            'ready': {'type': ['boolean', 'null'], 'description': 'False '
                      'when this coordinator could not fence a known host '
                      'or reach the cloud (see problems); null before the '
                      'first check.'},
            'problems': {'type': 'array', 'items': STR},
            'checked_at': NNUM})},
        required=('leader', 'paused', 'brake', 'hosts', 'recoveries')),
    'FenceTestRequest': _obj({'power_cycle': BOOL, 'confirm': BOOL},
                             additional=False),
    'FenceTest': _obj({
        'host': STR, 'profile': STR, 'ok': BOOL, 'checked_by': NSTR,
        'rungs': {'type': 'array', 'items': _obj({
            'kind': STR, 'index': INT, 'driver': STR, 'ok': BOOL,
            'power_state': NSTR, 'error': NSTR, 'seconds': NUM})},
        'power_cycle': NOBJ}, required=('host', 'rungs', 'ok')),
    'PlanStep': _obj({
        'order': INT, 'server_id': STR, 'server_name': STR, 'contract': STR,
        'priority': INT, 'action': STR,
        'on_failure': {'type': 'array', 'items': STR},
        'size': _obj({'vcpus': NUM, 'ram_mb': NUM, 'disk_gb': NUM}),
        'destination': NSTR,
        'outcome': {'type': 'string', 'enum': [
            'placed', 'no capacity', 'moves nothing', 'not applicable']},
        'reason': STR},
        required=('order', 'server_id', 'contract', 'action', 'outcome')),
    'Segment': _obj({
        'name': STR, 'description': STR,
        'recovery_method': {'type': 'string', 'enum': [
            'auto', 'reserved_host', 'auto_priority', 'rh_priority'],
            'default': 'auto', 'description': 'auto: the other members; '
            'reserved_host: the reserved hosts only; rh_priority: reserved '
            'first; auto_priority: reserved last.'},
        'hosts': {'type': 'array', 'items': STR,
                  'description': 'Explicit members.'},
        'aggregate': dict(NSTR, description='Every host of this aggregate '
                          'is a member.'),
        'availability_zone': dict(NSTR, description='Every host of this '
                                  'zone is a member.'),
        'reserved_hosts': {'type': 'array', 'items': STR,
                           'description': 'Idle spares, kept disabled in '
                           'Nova (reason "vmr: reserved") until used.'},
        'enabled': BOOL}, required=('name',), additional=False),
    'SegmentEnvelope': _obj({'segment': _ref('Segment')},
                            required=('segment',)),
    'SegmentList': _obj({'segments': {'type': 'array',
                                      'items': _ref('Segment')}},
                        required=('segments',)),
    'Plan': _obj({'plan': _obj({
        'host': STR, 'known_host': BOOL,
        'fits': {'type': 'boolean', 'description': 'Every server that needs '
                 'a new home (evacuate, boot_from_snapshot) gets one.'},
        'summary': STR, 'servers_on_host': INT, 'placed': INT,
        'without_capacity': INT, 'contracts': INT,
        'steps': {'type': 'array', 'items': _ref('PlanStep'),
                  'description': 'In the order the engine runs them.'},
        'skipped': {'type': 'array', 'items': ANY_OBJ},
        'unmatched': {'type': 'array', 'items': ANY_OBJ},
        'destinations': {'type': 'array', 'items': ANY_OBJ},
        'unusable_hosts': {'type': 'array', 'items': ANY_OBJ},
        'ignored_contracts': {'type': 'array', 'items': ANY_OBJ},
        'segment': dict(NOBJ, description='The failover segment the host '
                        'recovers in (null: none, any usable host).'),
        'segment_note': STR,
        'reserved_hosts_used': {'type': 'array', 'items': STR}},
        required=('host', 'fits', 'steps'))}, required=('plan',)),
    'CapacityGroup': _obj({
        'kind': {'type': 'string', 'enum': ['aggregate', 'zone', 'cloud']},
        'name': STR, 'hosts': INT, 'usable_hosts': INT,
        'tolerates': {'type': 'integer', 'description': 'k of N+k: losing '
                      'any k usable hosts leaves room for their VMs.'},
        'n_plus': STR, 'breaks_at': NOBJ,
        'unusable': {'type': 'array', 'items': ANY_OBJ},
        'resources': ANY_OBJ,
        'host_names': {'type': 'array', 'items': STR}},
        required=('kind', 'name', 'tolerates')),
    'Capacity': _obj({'capacity': _obj({
        'groups': {'type': 'array', 'items': _ref('CapacityGroup')},
        'cloud': _ref('CapacityGroup'), 'summary': STR, 'method': STR},
        required=('groups', 'cloud'))}, required=('capacity',)),
    'AlarmAccepted': _obj({'event': STR, 'alerts': INT},
                          required=('event',)),
    'VrrpReport': _obj({
        'pair': {'type': 'string', 'pattern': models.NAME_PATTERN,
                 'description': 'The guest pair (metadata vmr_pair).'},
        'instance': {'type': 'string',
                     'pattern': models.NAME_PATTERN,
                     'description': 'The member reporting (server name).'},
        'state': {'type': 'string', 'enum': list(models.VRRP_STATES)}},
        required=('pair', 'instance', 'state'), additional=False),
    'VrrpState': _obj({'pair': STR, 'instance': STR, 'state': STR,
                       'previous': NSTR, 'received_at': NUM, 'from': NSTR},
                      required=('pair', 'instance', 'state')),
    'VrrpAccepted': _obj({'vrrp': _ref('VrrpState')}, required=('vrrp',)),
    'Health': _obj({'status': STR}),
    'Ready': _obj({'ready': BOOL, 'role': STR, 'member': NSTR,
                   'leader': NSTR, 'reason': STR}, required=('ready',)),
}


def _json(schema_name, description):
    return {'description': description, 'content': {
        'application/json': {'schema': _ref(schema_name)}}}


def _error(description):
    return _json('Error', description)


def _path_param(name, description):
    return {'name': name, 'in': 'path', 'required': True,
            'description': description, 'schema': STR}


def _query(name, description, schema=STR):
    return {'name': name, 'in': 'query', 'required': False,
            'description': description, 'schema': schema}


def _body(schema_name, required=True, yaml=False):
    content = {'application/json': {'schema': _ref(schema_name)}}
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
         '400': _error('Invalid contract; `field` names the offending '
                       'field.'),
         '409': _error('A contract with this name exists.')}),
    'contracts.get': ('Show a contract.', 'contracts', [NAME], None,
                      {'200': _json('ContractEnvelope', 'The contract.'),
                       '404': _error('No such contract.')}),
    'contracts.put': ('Create or replace a contract.', 'contracts', [NAME],
                      _body('Contract', yaml=True),
                      {'200': _json('ContractEnvelope', 'Replaced.'),
                       '201': _json('ContractEnvelope', 'Created.'),
                       '400': _error('Invalid contract.')}),
    'contracts.delete': ('Delete a contract.', 'contracts', [NAME], None,
                         {'204': {'description': 'Deleted.'},
                          '404': _error('No such contract.')}),
    'segments.list': ('List failover segments.', 'segments', [], None,
                      {'200': _json('SegmentList', 'Segments.')}),
    'segments.create': ('Create a failover segment.', 'segments', [],
                        _body('Segment'),
                        {'201': _json('SegmentEnvelope', 'Created.'),
                         '400': _error('Invalid segment; `field` names the '
                                       'offending field.'),
                         '409': _error('A segment of this name exists, or a '
                                       'host is in another segment.')}),
    'segments.get': ('Show a failover segment.', 'segments', [SEGMENT],
                     None, {'200': _json('SegmentEnvelope', 'The segment.'),
                            '404': _error('No such segment.')}),
    'segments.put': ('Create or replace a failover segment.', 'segments',
                     [SEGMENT], _body('Segment'),
                     {'200': _json('SegmentEnvelope', 'Replaced.'),
                      '201': _json('SegmentEnvelope', 'Created.'),
                      '400': _error('Invalid segment.'),
                      '409': _error('A host is in another segment.')}),
    'segments.delete': ('Delete a failover segment.', 'segments', [SEGMENT],
                        None, {'204': {'description': 'Deleted.'},
                               '404': _error('No such segment.')}),
    'hosts.list': ('List hosts with their state and live membership.',
                   'hosts', [_query('state', 'Only hosts in this state.',
                                    {'type': 'string', 'enum': list(
                                        models.HostState.ALL)})], None,
                   {'200': _json('HostList', 'Hosts.'),
                    '400': _error('Unknown state.')}),
    'hosts.get': ("Show a host with its agent's last facts.", 'hosts',
                  [HOST], None, {'200': _json('Host', 'The host.'),
                                 '404': _error('No such host.')}),
    'hosts.maintenance': (
        'Start or end maintenance (compare-and-swap on the host record).',
        'hosts', [HOST], _body('MaintenanceRequest'),
        {'200': _json('Host', 'The updated host.'),
         '400': _error('Malformed body.'), '404': _error('No such host.'),
         '409': _error('The record kept changing; retry.')}),
    'hosts.confirm_fenced': (
        'Confirm by hand that a host is powered off (journaled).', 'hosts',
        [HOST], _body('ReasonRequest', required=False),
        {'202': _json('OperatorRequest', 'Handed to the leader.'),
         '404': _error('No such host.'),
         '409': _error('The host is alive in the agents group.')}),
    'hosts.fence_test': (
        "Test a host's fence path: the power status through every rung of "
        'its ladder, timed; with power_cycle and confirm, fence it through '
        'the first rung that answered and power it on again (host in '
        'maintenance only).', 'hosts', [HOST],
        _body('FenceTestRequest', required=False),
        {'200': _json('FenceTest', 'Per rung: driver, result, seconds.'),
         '400': _error('Malformed body, or a power cycle without confirm.'),
         '409': _error('No fence profile for the host, not in maintenance, '
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
         '400': _error('Unknown state.')}),
    'recoveries.create': (
        'Ask for a manual recovery: one contract with a manual trigger, for '
        'one server or every server of a host (exactly one of server and '
        'host).', 'recoveries', [], _body('RecoveryRequest'),
        {'202': _json('RecoveryAccepted', 'Handed to the leader.'),
         '400': _error('Malformed body, or the contract\'s trigger is not '
                       'manual; `field` names the offending field.'),
         '404': _error('No such contract or host.'),
         '409': _error('The contract is disabled or stored invalid.')}),
    'recoveries.get': ('Show a recovery with its steps and timeline.',
                       'recoveries', [RID], None,
                       {'200': _json('Recovery', 'The recovery.'),
                        '404': _error('No such recovery.')}),
    'recoveries.delete': ('Purge a closed recovery from the history.',
                          'recoveries', [RID], None,
                          {'204': {'description': 'Purged.'},
                           '404': _error('Not in the history.'),
                           '409': _error('Still in the journal: open, or '
                                         'closed less than [journal] '
                                         'archive_after ago.')}),
    'plan': ('Dry run: what VMR would do if a host failed now — contracts, '
             'order, destinations and capacity.', 'planning',
             [dict(_query('host', 'The compute host to plan the failure of.'),
                   required=True)], None,
             {'200': _json('Plan', 'The plan (nothing is changed).'),
              '400': _error('No host given.'),
              '404': _error('Neither Nova nor VMR knows the host.'),
              '503': _error('etcd or OpenStack ([cloud] cloud) is '
                            'unreachable.')}),
    'capacity': ('How many host failures each aggregate and zone survives '
                 '(N+k), from Placement or hypervisor usage.', 'planning',
                 [], None,
                 {'200': _json('Capacity', 'Per aggregate and zone.'),
                  '503': _error('OpenStack ([cloud] cloud) is '
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
                     '400': _error('Not an Aodh notification.'),
                     '401': _error('Bad or missing credentials; '
                                   'nothing stored.')}),
    'alarms.alertmanager': (
        'Receive an Alertmanager webhook notification.', 'alarms', [],
        {'required': True, 'content': {'application/json': {
            'schema': ANY_OBJ}}},
        {'202': _json('AlarmAccepted', 'Stored for the leader.'),
         '400': _error('Not an Alertmanager notification.'),
         '401': _error('Bad or missing credentials; nothing stored.')}),
    'alarms.keepalived': (
        "A guest keepalived's notify hook reports a VRRP state change.",
        'alarms', [], _body('VrrpReport'),
        {'202': _json('VrrpAccepted', 'Stored as the latest state of the '
                      'instance.'),
         '400': _error('Malformed report; `field` names the offending '
                       'field.'),
         '401': _error('Bad or missing credentials; nothing stored.')}),
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
                         '404': _error('No such file.')}),
}

COMMON_ERRORS = {
    '401': _error('No valid Keystone token (auth_strategy = keystone).'),
    '403': _error('The policy does not allow this caller.'),
    '503': _error('etcd is unreachable.'),
}


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
                op['responses'].setdefault('403', _error(
                    'The Keystone token\'s roles do not pass %s.'
                    % ', '.join(route.rule.rules)))
        elif route.rule is not None:
            op['security'] = copy.deepcopy(AUTH)
            for code, resp in COMMON_ERRORS.items():
                op['responses'].setdefault(code, copy.deepcopy(resp))
            if route.method == 'POST' and body and '400' not in \
                    op['responses']:
                op['responses']['400'] = _error('Malformed body.')
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


#: how the reference names each security scheme
AUTH_WORDS = {
    'keystone': 'a Keystone token in X-Auth-Token (with [api] '
                'auth_strategy = keystone)',
    'webhookBearer': 'Authorization: Bearer <[api] webhook_token>',
    'webhookBasic': 'basic auth with password [api] webhook_token',
    'webhookToken': 'X-VMR-Token: <[api] webhook_token>',
    'webhookSignature': 'X-VMR-Signature (HMAC-SHA256 of the body)',
}


def _type(schema):
    """A schema in a few words: ``string``, ``array of Host``, ``Error``."""
    if not isinstance(schema, dict):
        return 'any'
    if '$ref' in schema:
        name = schema['$ref'].rsplit('/', 1)[-1]
        return ':ref:`%s <schema-%s>`' % (name, name.lower())
    if 'oneOf' in schema:
        return ' or '.join(_type(s) for s in schema['oneOf'])
    if 'enum' in schema:
        return 'one of %s' % ', '.join('``%s``' % v for v in schema['enum'])
    kind = schema.get('type', 'any')
    if isinstance(kind, list):
        kind = ' or '.join(kind)
    if kind == 'array':
        return 'array of %s' % _type(schema.get('items'))
    return kind


def _content_types(content):
    return ', '.join('%s (%s)' % (media, _type(body.get('schema')))
                     for media, body in sorted((content or {}).items()))


def _para(text):
    return ' '.join(str(text).split()).replace('`', '``').replace(
        '````', '``')


def render_rst():
    """The reference as reStructuredText (``doc/api/reference.inc``): every
    operation by tag, then every schema."""
    doc = document()
    out = ['.. This file is generated: python -m vmr_coordinator.api.openapi '
           '--rst > doc/api/reference.inc', '']
    by_tag = {}
    for path, methods in sorted(doc['paths'].items()):
        for method, op in sorted(methods.items()):
            by_tag.setdefault(op['tags'][0], []).append((path, method, op))
    for tag in [t['name'] for t in doc['tags']]:
        out += [tag.capitalize(), '-' * len(tag), '']
        for path, method, op in by_tag.get(tag, []):
            title = '%s %s' % (method.upper(), path)
            out += [title, '~' * len(title), '', _para(op['summary']), '']
            auth = op.get('security')
            if auth == []:
                out += ['No authentication.', '']
            elif auth:
                out += ['Authentication: %s.' % ', '.join(
                    AUTH_WORDS.get(k, k) for k in sorted(
                        {k for entry in auth for k in entry})), '']
            for param in op.get('parameters', []):
                out.append('* ``%s`` (%s%s, %s): %s' % (
                    param['name'], param['in'],
                    ', required' if param.get('required') else '',
                    _type(param.get('schema')),
                    _para(param.get('description', ''))))
            if op.get('parameters'):
                out.append('')
            body = op.get('requestBody')
            if body:
                out += ['Body: %s.' % _content_types(body.get('content')), '']
            for code, resp in sorted(op['responses'].items()):
                types = _content_types(resp.get('content'))
                out.append('* **%s** %s%s' % (
                    code, _para(resp.get('description', '')),
                    ' -- %s' % types if types else ''))
            out.append('')
    out += ['Schemas', '-------', '']
    for name, schema in sorted(doc['components']['schemas'].items()):
        out += ['.. _schema-%s:' % name.lower(), '', name,
                '~' * len(name), '']
        if schema.get('description'):
            out += [_para(schema['description']), '']
        required = set(schema.get('required') or ())
        for field, sub in sorted((schema.get('properties') or {}).items()):
            line = '* ``%s`` (%s%s)' % (field, _type(sub),
                                        ', required' if field in required
                                        else '')
            if isinstance(sub, dict) and sub.get('description'):
                line += ': %s' % _para(sub['description'])
            out.append(line)
        if not schema.get('properties'):
            out.append('%s.' % _type(schema).capitalize())
        out.append('')
    return '\n'.join(out).rstrip('\n') + '\n'


def main(argv=None):
    """Print the document (``python -m vmr_coordinator.api.openapi``), or
    with ``--rst`` the reference page."""
    argv = sys.argv[1:] if argv is None else argv
    sys.stdout.write(render_rst() if '--rst' in argv else render())
    return 0


if __name__ == '__main__':
    sys.exit(main())
