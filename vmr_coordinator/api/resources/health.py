"""Health, readiness, metrics and the OpenAPI document: the public
endpoints a load balancer, Prometheus or a client polls."""

import logging

import webob
from prometheus_client import exposition

from vmr_common import exceptions
from vmr_coordinator import metrics
from vmr_coordinator.api import openapi as openapi_mod
from vmr_coordinator.api.resources.base import (
    ResourceBase)

LOG = logging.getLogger(__name__)


class HealthResource(ResourceBase):
    """Health and the documents about the API."""

    def healthz(self, req):
        return 200, {'status': 'ok'}

    def readyz(self, req):
        view = metrics.coordinator_view(self.coordinator)
        if view['is_leader']:
            return 200, {'ready': True, 'role': 'leader',
                         'member': view['member']}
        try:
            leader = self.store.get(self.keys.leader)
        except exceptions.StoreError as exc:
            return 503, {'ready': False, 'role': 'standby',
                         'member': view['member'],
                         'reason': 'cannot read etcd: %s' % exc}
        return 200, {'ready': True, 'role': 'standby',
                     'member': view['member'],
                     'leader': leader.value if leader else None}

    def metrics(self, req):
        resp = webob.Response(status=200)
        resp.body = exposition.generate_latest(self.registry)
        resp.headers['Content-Type'] = exposition.CONTENT_TYPE_LATEST
        return resp

    def openapi(self, req):
        return 200, openapi_mod.document()
