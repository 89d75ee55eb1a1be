"""The components of the OpenAPI document: every body's schema."""


from vmr_common import models


def schema_ref(name):
    return {'$ref': '#/components/schemas/%s' % name}


def object_schema(properties, required=(), additional=True):
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
    'Error': object_schema({'error': object_schema({
        'code': INT, 'message': STR,
        'field': {'type': 'string', 'description': 'The offending request '
                  'field (dotted path), when there is one.'}},
        required=('code', 'message'))}, required=('error',)),
    'Contract': object_schema({
        'name': STR, 'description': STR, 'priority': INT, 'enabled': BOOL,
        'trigger': object_schema({'type': STR}, required=('type',)),
        'selector': ANY_OBJ,
        'action': object_schema({'type': STR, 'params': ANY_OBJ}, required=('type',)),
        'on_failure': {'type': 'array', 'items': ANY_OBJ},
        'limits': ANY_OBJ}, required=('name', 'trigger', 'action')),
    'ServerRef': object_schema({'id': STR, 'name': STR, 'host': NSTR,
                       'project_id': STR, 'status': STR,
                       'reason': {'type': 'string', 'description':
                                  'Why a skipped server is left alone.'}},
                      required=('id', 'name')),
    'Matches': object_schema({
        'checked': {'type': 'boolean', 'description': 'False when the '
                    'cloud could not be listed (see error).'},
        'error': STR, 'servers': INT,
        'selected': {'type': 'array', 'items': schema_ref('ServerRef')},
        'skipped': {'type': 'array', 'items': schema_ref('ServerRef')}},
        required=('checked',)),
    'ContractEnvelope': object_schema({'contract': schema_ref('Contract'),
                              'dry_run': BOOL,
                              'matches': schema_ref('Matches')},
                             required=('contract',)),
    'ContractList': object_schema({'contracts': {'type': 'array',
                                        'items': schema_ref('Contract')}},
                         required=('contracts',)),
    'HostSummary': object_schema({
        'host': STR, 'state': STR, 'state_since': NNUM, 'reason': NSTR,
        'live': BOOL, 'enabled': BOOL, 'maintenance': BOOL, 'zone': STR,
        'recovery': NSTR}, required=('host', 'state', 'live')),
    'HostList': object_schema({'hosts': {'type': 'array',
                                'items': schema_ref('HostSummary')},
                      'members': {'type': 'array', 'items': STR}},
                     required=('hosts', 'members')),
    'Host': object_schema({'host': object_schema({
        'host': STR, 'state': STR, 'enabled': BOOL, 'maintenance': BOOL,
        'maintenance_by': NSTR, 'maintenance_reason': NSTR,
        'maintenance_at': NNUM, 'agent': ANY_OBJ, 'live': BOOL,
        'mod_revision': INT}, required=('host',)),
        'member': {'type': ['object', 'null'], 'description': 'The live '
                   "agent's capabilities, null when it is absent."},
        'fence': dict(object_schema({
            'profile': NSTR, 'ladder': {'type': 'array', 'items': STR},
            'post': {'type': 'array', 'items': STR}, 'error': NSTR,
            'last_check': {'oneOf': [{'type': 'null'}, object_schema({
                'ok': BOOL, 'checked_at': NNUM, 'checked_by': NSTR,
                'why': NSTR})]}}),
            description="The fence profile that applies to the host (its "
            "drivers; options stay in the profiles file) or why none does, "
            "and the leader's last status-only check of it."),
        'warning': dict(STR, description='Maintenance turned on while no '
                        'enabled contract has trigger maintenance: nothing '
                        'will be drained.')},
        required=('host',)),
    'MaintenanceRequest': object_schema({'enabled': BOOL, 'reason': STR},
                               required=('enabled',), additional=False),
    'ReasonRequest': object_schema({'reason': STR}),
    'OperatorRequest': object_schema({'request': object_schema({
        'type': STR, 'host': STR, 'by': STR, 'at': NUM, 'reason': NSTR})},
        required=('request',)),
    'RecoveryRequest': object_schema({
        'contract': dict(STR, description='A contract whose trigger is '
                         'manual.'),
        'server': dict(STR, description='Id or name of the server to heal.'),
        'host': dict(STR, description='Heal every server on this host.'),
        'reason': STR},
        required=('contract',), additional=False),
    'RecoveryAccepted': object_schema({
        'recovery_id': dict(STR, description='The id the recovery opens '
                            'under (GET /v1/recoveries/{recovery_id}).'),
        'request': ANY_OBJ}, required=('recovery_id', 'request')),
    'RecoverySummary': object_schema({
        'id': STR, 'host': NSTR, 'state': NSTR, 'trigger': NSTR,
        'created_at': NNUM, 'updated_at': NNUM,
        'archived_at': dict(NNUM, description='When the leader moved it '
                            'to the history; null while in the journal.'),
        'fenced': BOOL, 'steps': INT, 'steps_by_state': COUNTS}, required=('id', 'state')),
    'RecoveryList': object_schema({'recoveries': {
        'type': 'array', 'items': schema_ref('RecoverySummary')}},
        required=('recoveries',)),
    'Recovery': object_schema({'recovery': object_schema({
        'id': STR, 'host': STR, 'state': STR, 'trigger': ANY_OBJ,
        'created_at': NUM, 'updated_at': NUM, 'archived_at': NNUM,
        'fencing': ANY_OBJ, 'steps': {'type': 'array', 'items': object_schema({
            'server_id': STR, 'server_name': NSTR, 'contract': STR,
            'action': STR, 'state': STR, 'attempts': INT,
            'started_at': NNUM, 'finished_at': NNUM, 'result': {},
            'error': NSTR, 'request_ids': {'type': 'array',
                                           'items': STR}})},
        'timeline': {'type': 'array', 'items': object_schema({
            'at': NUM, 'event': STR, 'detail': {}})}},
        required=('id', 'state'))}, required=('recovery',)),
    'Pause': object_schema({'paused': {'oneOf': [{'type': 'null'}, object_schema({
        'by': STR, 'at': NUM, 'reason': NSTR})]}, 'was_paused': BOOL},
        required=('paused',)),
    'BrakeRelease': object_schema({'released': BOOL, 'brake': NOBJ},
                         required=('released',)),
    'Status': object_schema({
        'leader': {'oneOf': [{'type': 'null'},
                             object_schema({'member': STR, 'token': INT})]},
        'coordinator': object_schema({'member': NSTR, 'is_leader': BOOL,
                             'token': {'type': ['integer', 'null']},
                             'sentence': NSTR, 'cycle_seconds': NNUM,
                             'cycles': {'type': ['integer', 'null']}}),
        'paused': NOBJ, 'brake': NOBJ,
        'hosts': object_schema({'total': INT, 'by_state': COUNTS}),
        'recoveries': object_schema({'total': INT, 'by_state': COUNTS}),
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
        'coordinators': {
            'type': 'array', 'items': STR, 'description': 'The live '
            'coordinators, leader and standbys (their presence keys): '
            'where a leader that cannot fence a host hands over.'},
        'duplicate_agents': {
            'type': 'array', 'description': 'Agents refused because '
            'another live agent holds their host name (a cloned image?): '
            'each reports itself and the holder until it stops or joins.',
            'items': object_schema({
                'host': STR, 'boot_id': NSTR, 'addresses': {'type': 'object'},
                'version': NSTR, 'refused_at': NUM, 'refusals': INT,
                'holder': object_schema({'boot_id': NSTR, 'version': NSTR,
                                'addresses': {'type': 'object'}})})},
        'fence_paths': object_schema({
            'checked': INT, 'oldest_check': NNUM,
            'failed': {'type': 'array', 'description': 'Hosts whose fence '
                       'path failed the leader\'s last status-only check '
                       '([coordinator] fence_check_interval), with why.',
                       'items': object_schema({'host': STR, 'checked_at': NNUM,
                                      'why': STR})}}),
        'vrrp': {'type': 'object', 'description': 'The latest state each '
                 'keepalived guest reported: pair -> instance -> report.',
                 'additionalProperties': {
                     'type': 'object',
                     'additionalProperties': schema_ref('VrrpState')}},
        'preflight': object_schema({
            'ready': {'type': ['boolean', 'null'], 'description': 'False '
                      'when this coordinator could not fence a known host '
                      'or reach the cloud (see problems); null before the '
                      'first check.'},
            'problems': {'type': 'array', 'items': STR},
            'checked_at': NNUM})},
        required=('leader', 'paused', 'brake', 'hosts', 'recoveries')),
    'FenceTestRequest': object_schema({'power_cycle': BOOL, 'confirm': BOOL},
                             additional=False),
    'FenceTest': object_schema({
        'host': STR, 'profile': STR, 'ok': BOOL, 'checked_by': NSTR,
        'rungs': {'type': 'array', 'items': object_schema({
            'kind': STR, 'index': INT, 'driver': STR, 'ok': BOOL,
            'power_state': NSTR, 'error': NSTR, 'seconds': NUM})},
        'power_cycle': NOBJ}, required=('host', 'rungs', 'ok')),
    'PlanStep': object_schema({
        'order': INT, 'server_id': STR, 'server_name': STR, 'contract': STR,
        'priority': INT, 'action': STR,
        'on_failure': {'type': 'array', 'items': STR},
        'size': object_schema({'vcpus': NUM, 'ram_mb': NUM, 'disk_gb': NUM}),
        'destination': NSTR,
        'outcome': {'type': 'string', 'enum': [
            'placed', 'no capacity', 'moves nothing', 'not applicable']},
        'reason': STR},
        required=('order', 'server_id', 'contract', 'action', 'outcome')),
    'Segment': object_schema({
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
    'SegmentEnvelope': object_schema({'segment': schema_ref('Segment')},
                            required=('segment',)),
    'SegmentList': object_schema({'segments': {'type': 'array',
                                      'items': schema_ref('Segment')}},
                        required=('segments',)),
    'Plan': object_schema({'plan': object_schema({
        'host': STR, 'known_host': BOOL,
        'fits': {'type': 'boolean', 'description': 'Every server that needs '
                 'a new home (evacuate, boot_from_snapshot) gets one.'},
        'summary': STR, 'servers_on_host': INT, 'placed': INT,
        'without_capacity': INT, 'contracts': INT,
        'steps': {'type': 'array', 'items': schema_ref('PlanStep'),
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
    'CapacityGroup': object_schema({
        'kind': {'type': 'string',
                 'enum': ['aggregate', 'zone', 'segment', 'cloud']},
        'name': STR, 'hosts': INT, 'usable_hosts': INT,
        'tolerates': {'type': 'integer', 'description': 'k of N+k: losing '
                      'any k usable hosts leaves room for their VMs.'},
        'n_plus': STR, 'breaks_at': NOBJ,
        'unusable': {'type': 'array', 'items': ANY_OBJ},
        'resources': ANY_OBJ,
        'host_names': {'type': 'array', 'items': STR},
        'recovery_method': {'type': 'string', 'description': 'Segments '
                            'only: how the segment recovers.'},
        'reserved_hosts': {'type': 'array', 'items': STR,
                           'description': 'Segments only: its spares, '
                           'counted as room when its method uses them.'}},
        required=('kind', 'name', 'tolerates')),
    'Capacity': object_schema({'capacity': object_schema({
        'groups': {'type': 'array', 'items': schema_ref('CapacityGroup')},
        'cloud': schema_ref('CapacityGroup'), 'summary': STR, 'method': STR},
        required=('groups', 'cloud'))}, required=('capacity',)),
    'AlarmAccepted': object_schema({'event': STR, 'alerts': INT},
                          required=('event',)),
    'VrrpReport': object_schema({
        'pair': {'type': 'string', 'pattern': models.NAME_PATTERN,
                 'description': 'The guest pair (metadata vmr_pair).'},
        'instance': {'type': 'string',
                     'pattern': models.NAME_PATTERN,
                     'description': 'The member reporting (server name).'},
        'state': {'type': 'string', 'enum': list(models.VRRP_STATES)}},
        required=('pair', 'instance', 'state'), additional=False),
    'VrrpState': object_schema({'pair': STR, 'instance': STR, 'state': STR,
                       'previous': NSTR, 'received_at': NUM, 'from': NSTR},
                      required=('pair', 'instance', 'state')),
    'VrrpAccepted': object_schema({'vrrp': schema_ref('VrrpState')}, required=('vrrp',)),
    'Health': object_schema({'status': STR}),
    'Ready': object_schema({'ready': BOOL, 'role': STR, 'member': NSTR,
                   'leader': NSTR, 'reason': STR}, required=('ready',)),
}
