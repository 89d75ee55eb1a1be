"""The alarm webhooks: Aodh, Alertmanager and guests' keepalived notify
hooks, authenticated by ``[api] webhook_token`` instead of Keystone."""

import logging
import time
import uuid

from vmr_common import exceptions
from vmr_common import models
from vmr_coordinator.api import webhooks
from vmr_coordinator.api.errors import ApiError
from vmr_coordinator.api.resources.base import (
    ResourceBase, api_error, read_json)
from vmr_coordinator.triggers import alarm as alarm_mod

LOG = logging.getLogger(__name__)


class AlarmResource(ResourceBase):
    """``/v1/alarms/aodh``, ``/v1/alarms/alertmanager``, ``/v1/alarms/keepalived``."""

    def alarm_aodh(self, req):
        return self._alarm(req, 'aodh')

    def alarm_alertmanager(self, req):
        return self._alarm(req, 'alertmanager')

    def _keystone_caller(self, req, source):
        """Who keystonemiddleware vouched for, or None.

        Only a keystone-mode API routes a webhook call through
        keystonemiddleware (``PublicSplit.TOKEN_PATHS``), which drops any
        identity headers the caller sent; in noauth mode such headers are
        the caller's own words and count for nothing.
        """
        if source != 'aodh' or not self.keystone or \
                req.headers.get('X-Identity-Status') != 'Confirmed':
            return None
        return self._who(req)

    def _authenticate_webhook(self, req, source):
        """Refuse with a 401 unless authentic; returns how it was."""
        caller = self._keystone_caller(req, source)
        if caller is not None:
            # The token was validated and vmr:alarm:aodh checked (Api).
            how = 'Keystone token of %s' % caller
            LOG.info('API: %s webhook from %s authenticated by a %s', source,
                     req.remote_addr, how)
            return how
        ok, why = webhooks.check(
            self.conf.api.webhook_token, req.body,
            token=req.headers.get(webhooks.TOKEN_HEADER),
            signature=req.headers.get(webhooks.SIGNATURE_HEADER),
            authorization=req.headers.get(webhooks.AUTHORIZATION_HEADER))
        if not ok:
            LOG.warning('API: refused %s webhook from %s: %s', source,
                        req.remote_addr, why)
            raise ApiError(401, 'webhook refused: %s' % why,
                           headers={'WWW-Authenticate': webhooks.CHALLENGE})
        LOG.debug('API: %s webhook from %s authenticated by %s', source,
                  req.remote_addr, why)
        return why

    def alarm_keepalived(self, req):
        """A guest's keepalived notify hook: the latest VRRP state per instance.

        Stored under ``vrrp/<pair>/<instance>`` (last report wins); the
        ``fip_failover`` action in vrrp mode reads it to tell whether the
        standby took the VIP.
        """
        self._authenticate_webhook(req, 'keepalived')
        body = read_json(req)
        unknown = sorted(set(body) - {'pair', 'instance', 'state'})
        if unknown:
            raise api_error(400, 'unknown field %r; allowed: pair, instance, '
                            'state' % unknown[0], unknown[0])
        for field in ('pair', 'instance'):
            value = body.get(field)
            if not isinstance(value, str) or not models.NAME_RE.match(value):
                raise api_error(400, 'field %r must be 1-64 letters, digits, '
                                '".", "_" or "-" starting with a letter or '
                                'digit' % field, field)
        state = body.get('state')
        if state not in models.VRRP_STATES:
            raise api_error(400, 'field \'state\' must be one of %s'
                            % ', '.join(models.VRRP_STATES), 'state')
        key = '%s%s/%s' % (self.vrrp_dir, body['pair'], body['instance'])
        previous = self._etcd(self.store.get, key)
        before = None
        if previous is not None:
            try:
                before = (previous.json() or {}).get('state')
            except exceptions.CorruptRecord:
                before = None
        record = {'pair': body['pair'], 'instance': body['instance'],
                  'state': state, 'previous': before,
                  'received_at': time.time(), 'from': req.remote_addr}
        self._etcd(self.store.put, key, record)
        LOG.info('API: keepalived %s/%s reports %s (was %s)', body['pair'],
                 body['instance'], state, before or 'unknown')
        return 202, {'vrrp': record}

    def _alarm(self, req, source):
        how = self._authenticate_webhook(req, source)
        body = read_json(req)
        events = self._parse_alarm(source, body)
        event_id = str(uuid.uuid4())
        record = {'type': 'alarm', 'source': source, 'body': body,
                  'received_at': time.time(), 'events': events,
                  'authenticated_by': how}
        self._etcd(self.store.create, self.keys.events + event_id, record)
        LOG.info('API: %s alarm webhook stored as event %s (%d alerts)',
                 source, event_id, len(events))
        return 202, {'event': event_id, 'alerts': len(events)}

    @staticmethod
    def _parse_alarm(source, body):
        parser = alarm_mod.parse_aodh if source == 'aodh' else \
            alarm_mod.parse_alertmanager
        try:
            return parser(body)
        except alarm_mod.AlarmPayloadError as exc:
            raise api_error(400, 'not a valid %s notification: %s'
                            % (source, exc))
