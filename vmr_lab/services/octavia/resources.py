"""Octavia's resources: load balancers (with their VIP port, status
tree, stats and failover), listeners, pools, members and health monitors
(a part of the lab's Octavia)."""

import ipaddress
import uuid

from vmr_lab.services.base import Fault
from vmr_lab.services.octavia.validation import (
    ALGORITHMS,
    _bool,
    _choice,
    _int,
    _invalid,
    MONITOR_TYPES,
    POOL_PROTOCOLS,
    PROTOCOLS,
)


class Resources:
    """How :class:`OctaviaAPI` makes and updates each kind (a mixin)."""

    # -- load balancers ----------------------------------------------------
    def _make_loadbalancer(self, ctx, project, body, pool_id):
        if not any(body.get(k) for k in ('vip_subnet_id', 'vip_network_id',
                                         'vip_port_id')):
            raise Fault(400, 'Validation failure: VIP must contain one of: '
                             'vip_port_id, vip_network_id, vip_subnet_id.')
        if body.get('provider', 'amphora') not in ('amphora', 'octavia'):
            raise Fault(400, 'Provider \'%s\' is not enabled.'
                        % body['provider'])
        lb = self._base(project, body, 'loadbalancer')
        lb.update({'vip_address': body.get('vip_address'),
                   'vip_port_id': body.get('vip_port_id'),
                   'vip_subnet_id': body.get('vip_subnet_id'),
                   'vip_network_id': body.get('vip_network_id'),
                   'vip_qos_policy_id': None, 'vip_vnic_type': 'normal',
                   'additional_vips': [], 'listeners': [], 'pools': [],
                   'provider': body.get('provider', 'amphora'),
                   'flavor_id': body.get('flavor_id'),
                   'availability_zone': body.get('availability_zone')})
        self._allocate_vip(lb, project)
        self.loadbalancers[lb['id']] = lb
        self._schedule(lb['id'])
        return lb

    def _allocate_vip(self, lb, project):
        neutron = getattr(self.lab, 'neutron', None)
        if neutron is None:
            lb['vip_address'] = lb['vip_address'] or '10.0.0.250'
            lb['vip_port_id'] = lb['vip_port_id'] or str(uuid.uuid4())
            return
        try:
            if lb['vip_port_id']:
                port = neutron.get_port(lb['vip_port_id'])
                if port is None:
                    raise Fault(400, 'Validation failure: Port %s could not '
                                     'be found.' % lb['vip_port_id'])
            else:
                port = neutron.create_service_port(
                    project, network_id=lb['vip_network_id'],
                    subnet_id=lb['vip_subnet_id'],
                    ip_address=lb['vip_address'],
                    name='octavia-lb-%s' % lb['id'], device_owner='Octavia',
                    device_id='lb-%s' % lb['id'])
        except Fault as exc:
            if exc.status == 404:
                raise Fault(400, 'Validation failure: %s' % exc.message)
            raise Fault(exc.status, exc.message)
        lb['vip_port_id'] = port['id']
        lb['vip_network_id'] = port['network_id']
        lb['vip_subnet_id'] = port['fixed_ips'][0]['subnet_id']
        lb['vip_address'] = port['fixed_ips'][0]['ip_address']

    def _update_loadbalancer(self, new, body):
        for key in ('vip_address', 'vip_subnet_id', 'vip_port_id',
                    'vip_network_id', 'provider'):
            if key in body and body[key] != new.get(key):
                raise _invalid(key, body[key], 'The attribute is read-only.')

    def status_tree(self, req, ctx, obj_id):
        """``GET /loadbalancers/{id}/status``: the operating status tree."""
        with self.lock:
            self._settle()
            lb = self._get(ctx, 'loadbalancer', obj_id)

            def pool_tree(pool):
                tree = {'id': pool['id'], 'name': pool['name'],
                        'provisioning_status': pool['provisioning_status'],
                        'operating_status': self._pool_status(pool),
                        'members': [{
                            'id': m['id'], 'name': m['name'],
                            'address': m['address'],
                            'protocol_port': m['protocol_port'],
                            'provisioning_status': m['provisioning_status'],
                            'operating_status': self._member_status(pool, m)}
                            for m in self.members.get(pool['id'], {}).values()
                        ]}
                hm = self.healthmonitors.get(pool['healthmonitor_id'])
                if hm is not None:
                    tree['health_monitor'] = {
                        'id': hm['id'], 'name': hm['name'], 'type': hm['type'],
                        'provisioning_status': hm['provisioning_status'],
                        'operating_status': 'ONLINE'}
                return tree
            listeners = []
            for ref in lb['listeners']:
                listener = self.listeners[ref['id']]
                pool = self.pools.get(listener['default_pool_id'])
                pools = [pool_tree(pool)] if pool is not None else []
                listeners.append({
                    'id': listener['id'], 'name': listener['name'],
                    'provisioning_status': listener['provisioning_status'],
                    'operating_status': self._listener_status(listener),
                    'pools': pools})
            return 200, {'statuses': {'loadbalancer': {
                'id': lb['id'], 'name': lb['name'],
                'provisioning_status': lb['provisioning_status'],
                'operating_status': self._lb_status(lb),
                'listeners': listeners}}}

    def stats(self, req, ctx, obj_id):
        """``GET /loadbalancers/{id}/stats``: all zero."""
        with self.lock:
            self._get(ctx, 'loadbalancer', obj_id)
        return 200, {'stats': {'active_connections': 0, 'bytes_in': 0,
                               'bytes_out': 0, 'request_errors': 0,
                               'total_connections': 0}}

    def failover(self, req, ctx, obj_id):
        """``PUT /loadbalancers/{id}/failover`` (admin): PENDING_UPDATE."""
        if ctx is not None and not ctx.is_admin:
            raise Fault(403, 'Policy does not allow this request to be '
                             'performed.')
        with self.lock:
            self._settle()
            lb = self._get(ctx, 'loadbalancer', obj_id)
            self._begin(obj_id, lb)
        return 202, None

    # -- listeners ---------------------------------------------------------
    def _make_listener(self, ctx, project, body, pool_id):
        lb_id = body.get('loadbalancer_id')
        if not lb_id:
            raise _invalid('loadbalancer_id', None, 'Mandatory field missing.')
        lb = self._get(ctx, 'loadbalancer', lb_id)
        protocol = _choice(body, 'protocol', PROTOCOLS)
        port = _int(body, 'protocol_port', None, 1, 65535)
        if port is None:
            raise _invalid('protocol_port', None, 'Mandatory field missing.')
        for other in self.listeners.values():
            if other['loadbalancers'][0]['id'] == lb_id \
                    and other['protocol_port'] == port \
                    and (other['protocol'] == 'UDP') == (protocol == 'UDP'):
                raise Fault(409, 'Another Listener on this Load Balancer is '
                                 'already using protocol_port %d' % port)
        listener = self._base(project, body, 'listener')
        listener.update({
            'protocol': protocol, 'protocol_port': port,
            'connection_limit': _int(body, 'connection_limit', -1, -1,
                                     1000000),
            'default_pool_id': None, 'loadbalancers': [{'id': lb_id}],
            'default_tls_container_ref': body.get('default_tls_container_ref'),
            'sni_container_refs': body.get('sni_container_refs', []),
            'l7policies': [], 'insert_headers': body.get('insert_headers', {}),
            'timeout_client_data': body.get('timeout_client_data', 50000),
            'timeout_member_connect': body.get('timeout_member_connect', 5000),
            'timeout_member_data': body.get('timeout_member_data', 50000),
            'timeout_tcp_inspect': body.get('timeout_tcp_inspect', 0),
            'allowed_cidrs': body.get('allowed_cidrs'),
            'tls_ciphers': None, 'tls_versions': None, 'alpn_protocols': None,
            'hsts_max_age': None, 'hsts_include_subdomains': False,
            'hsts_preload': False})
        if body.get('default_pool_id'):
            pool = self._get(ctx, 'pool', body['default_pool_id'])
            listener['default_pool_id'] = pool['id']
            pool['listeners'].append({'id': listener['id']})
        self._begin(lb_id)
        self.listeners[listener['id']] = listener
        lb['listeners'].append({'id': listener['id']})
        return listener

    def _update_listener(self, new, body):
        if 'default_pool_id' in body:
            pool_id = body['default_pool_id']
            if pool_id is not None and pool_id not in self.pools:
                raise Fault(404, 'Pool %s not found.' % pool_id)
            for pool in self.pools.values():
                pool['listeners'] = [x for x in pool['listeners']
                                     if x['id'] != new['id']]
            if pool_id is not None:
                self.pools[pool_id]['listeners'].append({'id': new['id']})
            new['default_pool_id'] = pool_id
        if 'connection_limit' in body:
            new['connection_limit'] = _int(body, 'connection_limit', -1, -1,
                                           1000000)

    # -- pools -------------------------------------------------------------
    def _make_pool(self, ctx, project, body, pool_id):
        listener = None
        if body.get('listener_id'):
            listener = self._get(ctx, 'listener', body['listener_id'])
            lb_id = listener['loadbalancers'][0]['id']
            if listener['default_pool_id']:
                raise Fault(409, 'Listener %s already has a default pool'
                            % listener['id'])
        elif body.get('loadbalancer_id'):
            lb_id = self._get(ctx, 'loadbalancer', body['loadbalancer_id'])['id']
        else:
            raise Fault(400, 'Validation failure: Either loadbalancer_id or '
                             'listener_id must be specified.')
        pool = self._base(project, body, 'pool')
        pool.update({
            'protocol': _choice(body, 'protocol', POOL_PROTOCOLS),
            'lb_algorithm': _choice(body, 'lb_algorithm', ALGORITHMS),
            'session_persistence': body.get('session_persistence'),
            'loadbalancers': [{'id': lb_id}],
            'listeners': [{'id': listener['id']}] if listener else [],
            'members': [], 'healthmonitor_id': None, 'tls_enabled': False,
            'tls_container_ref': None, 'ca_tls_container_ref': None,
            'crl_container_ref': None, 'tls_ciphers': None,
            'tls_versions': None, 'alpn_protocols': None})
        self._begin(lb_id)
        self.pools[pool['id']] = pool
        self.members[pool['id']] = {}
        self.loadbalancers[lb_id]['pools'].append({'id': pool['id']})
        if listener:
            listener['default_pool_id'] = pool['id']
        return pool

    def _update_pool(self, new, body):
        if 'lb_algorithm' in body:
            new['lb_algorithm'] = _choice(body, 'lb_algorithm', ALGORITHMS)
        if 'session_persistence' in body:
            new['session_persistence'] = body['session_persistence']

    # -- members -----------------------------------------------------------
    def _make_member(self, ctx, project, body, pool_id):
        pool = self._get(ctx, 'pool', pool_id)
        address = body.get('address')
        try:
            ipaddress.ip_address(address or '')
        except ValueError:
            raise _invalid('address', address, 'Value should be IPv4 or IPv6 '
                                               'format')
        port = _int(body, 'protocol_port', None, 1, 65535)
        if port is None:
            raise _invalid('protocol_port', None, 'Mandatory field missing.')
        for other in self.members[pool_id].values():
            if other['address'] == address and other['protocol_port'] == port:
                raise Fault(409, 'Another member on this pool is already using'
                                 ' ip %s on protocol_port %d' % (address, port))
        subnet_id = body.get('subnet_id')
        neutron = getattr(self.lab, 'neutron', None)
        if subnet_id and neutron is not None \
                and subnet_id not in neutron.subnets:
            raise Fault(400, 'Validation failure: Subnet %s not found.'
                        % subnet_id)
        member = self._base(project, body, 'member')
        member.update({
            'address': address, 'protocol_port': port,
            'weight': _int(body, 'weight', 1, 0, 256),
            'backup': _bool(body, 'backup', False), 'subnet_id': subnet_id,
            'monitor_address': body.get('monitor_address'),
            'monitor_port': body.get('monitor_port'), 'vnic_type': 'normal',
            'pool_id': pool_id})
        self._begin(pool['loadbalancers'][0]['id'], pool=pool)
        self.members[pool_id][member['id']] = member
        pool['members'].append({'id': member['id']})
        return member

    def _update_member(self, new, body):
        if 'weight' in body:
            new['weight'] = _int(body, 'weight', 1, 0, 256)
        if 'backup' in body:
            new['backup'] = _bool(body, 'backup', False)
        for key in ('monitor_address', 'monitor_port'):
            if key in body:
                new[key] = body[key]
        for key in ('address', 'protocol_port', 'subnet_id'):
            if key in body and body[key] != new[key]:
                raise _invalid(key, body[key], 'The attribute is read-only.')

    # -- health monitors ---------------------------------------------------
    def _make_healthmonitor(self, ctx, project, body, pool_id):
        pool_id = body.get('pool_id')
        if not pool_id:
            raise _invalid('pool_id', None, 'Mandatory field missing.')
        pool = self._get(ctx, 'pool', pool_id)
        if pool['healthmonitor_id']:
            raise Fault(409, 'This pool already has a health monitor')
        hm_type = _choice(body, 'type', MONITOR_TYPES)
        delay = _int(body, 'delay', None, 0, 2147483647)
        timeout = _int(body, 'timeout', None, 0, 2147483647)
        retries = _int(body, 'max_retries', None, 1, 10)
        for field, value in (('delay', delay), ('timeout', timeout),
                             ('max_retries', retries)):
            if value is None:
                raise _invalid(field, None, 'Mandatory field missing.')
        if timeout > delay:
            raise Fault(400, 'Validation failure: The request delay value %d '
                             'should be larger than the request timeout value'
                             ' %d.' % (delay, timeout))
        hm = self._base(project, body, 'healthmonitor')
        http = hm_type in ('HTTP', 'HTTPS')
        hm.update({
            'type': hm_type, 'delay': delay, 'timeout': timeout,
            'max_retries': retries,
            'max_retries_down': _int(body, 'max_retries_down', 3, 1, 10),
            'http_method': body.get('http_method', 'GET') if http else None,
            'url_path': body.get('url_path', '/') if http else None,
            'expected_codes': body.get('expected_codes', '200') if http
            else None, 'http_version': body.get('http_version'),
            'domain_name': body.get('domain_name'),
            'pools': [{'id': pool_id}]})
        self._begin(pool['loadbalancers'][0]['id'], pool=pool)
        self.healthmonitors[hm['id']] = hm
        pool['healthmonitor_id'] = hm['id']
        return hm

    def _update_healthmonitor(self, new, body):
        for key in ('delay', 'timeout', 'max_retries', 'max_retries_down'):
            if key in body:
                new[key] = _int(body, key, None, 0, 2147483647)
        for key in ('http_method', 'url_path', 'expected_codes'):
            if key in body:
                new[key] = body[key]
