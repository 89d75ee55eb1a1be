"""Octavia's vocabulary and input rules: the protocols, algorithms and
monitor types it accepts, the attributes of each resource and WSME's
errors for a wrong one (a part of the lab's Octavia)."""

import time

from vmr_lab.services.base import Fault


API_MINOR = 27
PROTOCOLS = ('HTTP', 'HTTPS', 'TCP', 'UDP', 'TERMINATED_HTTPS', 'PROXY',
             'PROXYV2', 'SCTP', 'PROMETHEUS')
POOL_PROTOCOLS = ('HTTP', 'HTTPS', 'TCP', 'UDP', 'PROXY', 'PROXYV2', 'SCTP')
ALGORITHMS = ('ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP',
              'SOURCE_IP_PORT')
MONITOR_TYPES = ('HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO', 'UDP-CONNECT',
                 'SCTP')
_NAMES = {'loadbalancer': 'Load Balancer', 'listener': 'Listener',
          'pool': 'Pool', 'member': 'Member', 'healthmonitor': 'Health Monitor'}
_SEVERITY = {'ONLINE': 0, 'NO_MONITOR': 0, 'DRAINING': 0, 'OFFLINE': 0,
             'DEGRADED': 1, 'ERROR': 2}


def _now():
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())


def _invalid(field, value, reason):
    return Fault(400, 'Invalid input for field/attribute %s. Value: %r. %s'
                 % (field, value, reason))


def _bool(body, field, default):
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise _invalid(field, value, 'Wrong type. Expected \'bool\', got '
                                     '\'%s\'' % type(value).__name__)
    return value


def _int(body, field, default, low, high):
    value = body.get(field, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, value, 'Wrong type. Expected \'int\', got '
                                     '\'%s\'' % type(value).__name__)
    if not low <= value <= high:
        raise _invalid(field, value, 'Value should be greater or equal to %d'
                       ' and lower or equal to %d' % (low, high))
    return value


def _choice(body, field, choices, default=None):
    value = body.get(field, default)
    if value not in choices:
        raise _invalid(field, value, 'Value should be one of: %s'
                       % ', '.join(choices))
    return value


_COMMON = ('name', 'admin_state_up', 'project_id', 'tenant_id', 'tags')
#: Attributes each resource accepts (WSME rejects any other one).
ATTRIBUTES = {
    'loadbalancer': _COMMON + (
        'description', 'vip_address', 'vip_port_id', 'vip_subnet_id',
        'vip_network_id', 'vip_qos_policy_id', 'provider', 'flavor_id',
        'availability_zone', 'additional_vips', 'vip_sg_ids'),
    'listener': _COMMON + (
        'description', 'loadbalancer_id', 'protocol', 'protocol_port',
        'connection_limit', 'default_pool_id', 'default_tls_container_ref',
        'sni_container_refs', 'insert_headers', 'timeout_client_data',
        'timeout_member_connect', 'timeout_member_data',
        'timeout_tcp_inspect', 'allowed_cidrs', 'tls_ciphers',
        'tls_versions', 'alpn_protocols', 'hsts_max_age',
        'hsts_include_subdomains', 'hsts_preload'),
    'pool': _COMMON + (
        'description', 'listener_id', 'loadbalancer_id', 'protocol',
        'lb_algorithm', 'session_persistence', 'tls_enabled',
        'tls_container_ref', 'ca_tls_container_ref', 'crl_container_ref',
        'tls_ciphers', 'tls_versions', 'alpn_protocols'),
    'member': _COMMON + (
        'address', 'protocol_port', 'weight', 'backup', 'subnet_id',
        'monitor_address', 'monitor_port', 'request_sriov'),
    'healthmonitor': _COMMON + (
        'pool_id', 'type', 'delay', 'timeout', 'max_retries',
        'max_retries_down', 'http_method', 'url_path', 'expected_codes',
        'http_version', 'domain_name'),
}
_STRING_ATTRS = ('name', 'description', 'project_id', 'tenant_id',
                 'vip_address', 'vip_port_id', 'vip_subnet_id',
                 'vip_network_id', 'provider', 'flavor_id',
                 'availability_zone', 'loadbalancer_id', 'listener_id',
                 'pool_id', 'default_pool_id', 'subnet_id', 'address',
                 'monitor_address', 'http_method', 'url_path',
                 'expected_codes', 'domain_name')


def _check_attributes(kind, body):
    for key, value in body.items():
        if key not in ATTRIBUTES[kind]:
            raise Fault(400, 'Invalid input for field/attribute %s. Value: '
                             '%r. Unknown attribute for argument %s: %s'
                        % (kind, body, kind, key))
        if key in _STRING_ATTRS and value is not None \
                and not isinstance(value, str):
            raise _invalid(key, value, "Wrong type. Expected '<class "
                                       "'str'>', got '%s'" % type(value))
    tags = body.get('tags', [])
    if not isinstance(tags, list) or not all(isinstance(t, str)
                                             for t in tags):
        raise _invalid('tags', tags, "Wrong type. Expected '[<class "
                                     "'str'>]'")
    persistence = body.get('session_persistence')
    if persistence is not None and not isinstance(persistence, dict):
        raise _invalid('session_persistence', persistence,
                       "Wrong type. Expected 'SessionPersistencePOST'")
