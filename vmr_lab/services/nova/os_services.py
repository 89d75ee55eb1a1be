"""os-services: listing and updating Nova's services.

Enabling a service before it reports up leaves the sticky
``COMPUTE_STATUS_DISABLED`` trait; disabling a dead compute Nova believes
up blocks nova-api for ``delays['rpc_timeout']``; forced_down from 2.11.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import datetime
import time

from vmr_lab.services.base import Fault
from vmr_lab.services.nova.common import LOG, _is_uuid, _iso_us, _now


class OsServices:
    """os-services of the Nova API (a mixin)."""

    def _service_view(self, req, service):
        up = self.service_is_up(service)
        updated = datetime.datetime.fromtimestamp(
            self._last_report(service), datetime.timezone.utc).replace(
                tzinfo=None)
        view = {'id': service['uuid'] if self.mv(req, '2.53')
                else service['id'],
                'binary': service['binary'], 'host': service['host'],
                'zone': (self._host_zone(service['host'])
                         if service['binary'] == 'nova-compute'
                         else service['zone']),
                'status': service['status'], 'state': 'up' if up else 'down',
                'updated_at': _iso_us(updated),
                'disabled_reason': service['disabled_reason']}
        if self.mv(req, '2.11'):
            view['forced_down'] = service['forced_down']
        return view

    def list_services(self, req, ctx):
        self._admin(ctx, 'os_compute_api:os-services:list')
        host = req.GET.get('host')
        binary = req.GET.get('binary')
        with self.state_lock:
            rows = [self._service_view(req, s) for s in sorted(
                self.services.values(), key=lambda s: s['id'])
                if (not host or s['host'] == host) and
                (not binary or s['binary'] == binary)]
        return 200, {'services': rows}

    def update_service(self, req, ctx, service_id):
        self._admin(ctx, 'os_compute_api:os-services:update')
        if not self.mv(req, '2.53'):
            return self._update_service_legacy(req, ctx, service_id)
        if not _is_uuid(service_id):
            raise Fault(400, 'Invalid uuid %s' % service_id)
        body = self.json_body(req)
        unknown = set(body) - {'status', 'disabled_reason', 'forced_down'}
        if unknown:
            raise Fault(400, "Invalid input for field/attribute service. "
                             "Additional properties are not allowed (%s "
                             "were unexpected)" % ', '.join(sorted(unknown)))
        if 'status' not in body and 'forced_down' not in body:
            raise Fault(400, "At least one of 'status' or 'forced_down' "
                             "must be specified in the request body.")
        status = body.get('status')
        if status is not None and status not in ('enabled', 'disabled'):
            raise Fault(400, "Invalid input for field/attribute status. "
                             "Value: %s. %r is not one of ['enabled', "
                             "'disabled']" % (status, status))
        if 'disabled_reason' in body and status != 'disabled':
            raise Fault(400, "Specifying 'disabled_reason' with status "
                             "'%s' is invalid." % status)
        forced = body.get('forced_down')
        if 'forced_down' in body and not isinstance(forced, bool):
            raise Fault(400, "Invalid input for field/attribute forced_down. "
                             "Value: %s. %r is not of type 'boolean'"
                        % (forced, forced))
        with self.state_lock:
            service = self.services.get(service_id)
            if service is None:
                raise Fault(404, 'Service %s not found.' % service_id)
            if service['binary'] != 'nova-compute' and 'forced_down' in body:
                raise Fault(400, 'Updating a %s service is not supported. '
                                 'Only nova-compute services can be updated.'
                            % service['binary'])
        if status == 'disabled' and forced is not True:
            # Nova saves forced_down with the status before it asks
            # whether the service is up: forced down in the same request,
            # it is down and nova-api never calls the compute
            self._maybe_block_on_dead_compute(service)
        with self.state_lock:
            self._apply_service_update(service, status,
                                       body.get('disabled_reason'), forced)
            return 200, {'service': self._service_view(req, service)}

    def _maybe_block_on_dead_compute(self, service):
        """nova-api calls the compute to sync the trait: blocks if it's dead.

        Happens when Nova still believes the service up (recent report, not
        forced down) but the compute no longer answers RPC.
        """
        with self.state_lock:
            host = self.lab.hosts.get(service['host'])
            dead_but_up = (host is not None and
                           self.service_is_up(service) and
                           not host.compute_alive())
        if dead_but_up:
            LOG.warning('disabling %s while Nova believes it up: blocking '
                        '%.1fs (rpc_response_timeout)', service['host'],
                        self.lab.delays['rpc_timeout'])
            self.lab.events.add('rpc_timeout', host=service['host'],
                                detail='disable of a dead compute believed '
                                       'up: COMPUTE_STATUS_DISABLED unsynced')
            time.sleep(self.lab.delays['rpc_timeout'])

    def _apply_service_update(self, service, status, reason, forced):
        host_name = service['host']
        if forced is not None and forced != service['forced_down']:
            service['forced_down'] = forced
            host = self.lab.hosts.get(host_name)
            if not forced and host is not None and not host.compute_alive():
                # Un-forcing before the host restarted: evacuated instances
                # stay unreconciled (DESIGN 7).
                self.lab.events.add('unforced_before_restart', host=host_name)
            self.lab.events.add('service_forced_down', host=host_name,
                                forced_down=forced)
        if status == 'enabled' and service['status'] != 'enabled':
            service['status'] = 'enabled'
            service['disabled_reason'] = None
            up = self.service_is_up(service)
            service['sticky_disabled_trait'] = not up
            if not up:
                self.lab.events.add(
                    'sticky_disabled_trait', host=host_name,
                    detail='enabled before it reported up: '
                           'COMPUTE_STATUS_DISABLED stays in placement')
            self.lab.events.add('service_enabled', host=host_name)
        elif status == 'enabled' and self.service_is_up(service):
            service['sticky_disabled_trait'] = False
        elif status == 'disabled':
            service['status'] = 'disabled'
            service['disabled_reason'] = reason
            self.lab.events.add('service_disabled', host=host_name,
                                reason=reason)
        service['updated_at'] = _now()

    def _update_service_legacy(self, req, ctx, action):
        body = self.json_body(req)
        host, binary = body.get('host'), body.get('binary')
        if action not in ('enable', 'disable', 'disable-log-reason',
                          'force-down'):
            raise Fault(404, 'Unknown action')
        if action == 'force-down' and not self.mv(req, '2.11'):
            raise Fault(404, 'Unknown action')
        with self.state_lock:
            service = next((s for s in self.services.values()
                            if s['host'] == host and s['binary'] == binary),
                           None)
            if service is None:
                raise Fault(404, 'Service %s could not be found.' % host)
        if action.startswith('disable'):
            self._maybe_block_on_dead_compute(service)
        with self.state_lock:
            result = {'host': host, 'binary': binary}
            if action == 'enable':
                self._apply_service_update(service, 'enabled', None, None)
                result['status'] = 'enabled'
            elif action == 'disable':
                self._apply_service_update(service, 'disabled', None, None)
                result['status'] = 'disabled'
            elif action == 'disable-log-reason':
                self._apply_service_update(service, 'disabled',
                                           body.get('disabled_reason'), None)
                result['status'] = 'disabled'
                result['disabled_reason'] = body.get('disabled_reason')
            else:
                forced = body.get('forced_down')
                if not isinstance(forced, bool):
                    raise Fault(400, "Invalid input for field/attribute "
                                     "forced_down.")
                self._apply_service_update(service, None, None, forced)
                result['forced_down'] = forced
        return 200, {'service': result}
