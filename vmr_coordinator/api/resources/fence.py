"""``POST /v1/hosts/{host}/fence-test``: prove a host's fence path now.

Run by the coordinator that receives the request (every coordinator has
the fence profiles file).  By default only the power status is read,
through every rung of the host's ladder, with timings; nothing changes.
``{"power_cycle": true, "confirm": true}`` also fences the host through the
first rung that answered and powers it on again — refused unless the host
is in maintenance, or the leader would take the power-off for a failure.
"""

import logging
import time

from vmr_common import exceptions
from vmr_coordinator.api.resources.base import (
    ResourceBase, api_error, read_json)
from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import check
from vmr_coordinator.fencing.profiles import FenceProfiles

LOG = logging.getLogger(__name__)


class FenceResource(ResourceBase):
    """``/v1/hosts/{host}/fence-test``."""

    def fence_test(self, req, host):
        body = read_json(req, required=False)
        unknown = sorted(set(body) - {'power_cycle', 'confirm'})
        if unknown:
            raise api_error(400, 'unknown field %r; allowed: power_cycle, confirm'
                         % unknown[0], unknown[0])
        power_cycle = body.get('power_cycle', False)
        if not isinstance(power_cycle, bool):
            raise api_error(400, "field 'power_cycle' must be true or false",
                         'power_cycle')
        if power_cycle and body.get('confirm') is not True:
            raise api_error(400, 'a power cycle switches host %s off and on: send '
                         '"confirm": true (vmr fence test --power-cycle --yes)'
                         % host, 'confirm')
        conf = self.conf
        try:
            record = self.store.get(self.keys.host(host))
        except exceptions.StoreError as exc:
            raise api_error(503, 'etcd: %s' % exc)
        data = {}
        if record is not None:
            try:
                data = record.json()
            except exceptions.CorruptRecord:
                data = {}
        if power_cycle and not data.get('maintenance'):
            raise api_error(409, 'host %s is not in maintenance: the leader would '
                         'take its power-off for a failure and heal it; run vmr '
                         'host maintenance %s --enable first' % (host, host))
        try:
            profile = FenceProfiles.load(
                conf.fencing.profiles_file).profile_for(host)
        except base.FenceConfigError as exc:
            raise api_error(409, str(exc))
        cloud = None
        if profile.post:
            try:
                cloud = self._cloud()
            except Exception as exc:  # the post step's row will say why
                LOG.info('fence test of %s without the cloud: %s', host,
                         exceptions.first_line(exc))
        target = base.FenceTarget(host=host, record=data, now=time.time(),
                                  cloud=cloud)
        rungs = check.check_ladder(target, profile, conf)
        answered = [r for r in rungs if r['kind'] == 'ladder' and r['ok']]
        result = {'host': host, 'profile': profile.name, 'rungs': rungs,
                  'ok': bool(answered), 'power_cycle': None,
                  'checked_by': conf.host}
        LOG.info('API: %s tested the fence path of %s: %s', self._who(req),
                 host, ', '.join('%s %s' % (r['driver'], 'ok' if r['ok'] else
                                            'FAILED') for r in rungs))
        if power_cycle:
            if not answered:
                raise api_error(409, 'no rung of host %s answered a status call: '
                             'not power cycling it' % host)
            LOG.warning('API: %s power cycles host %s through %s',
                        self._who(req), host, answered[0]['driver'])
            result['power_cycle'] = check.power_cycle(target, profile, conf,
                                                      answered[0]['index'])
        return 200, result
