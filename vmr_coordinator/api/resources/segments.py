"""``/v1/segments``: failover segments (:mod:`vmr_coordinator.segments`),
validated on the way in; a host is listed by one segment only."""

import logging

from vmr_common.store import Op
from vmr_coordinator import segments as segments_mod
from vmr_coordinator.segment_records import stored_segments
from vmr_coordinator.api.resources.base import (
    ResourceBase, api_error, read_json)

LOG = logging.getLogger(__name__)


class SegmentResource(ResourceBase):
    """``/v1/segments`` and ``/v1/segments/{name}``."""

    def _segments(self):
        return self._etcd(stored_segments, self.store, lambda key, why:
                          LOG.warning('API: skipping %s: %s', key, why))

    def _parse(self, req, name=None):
        try:
            segment = segments_mod.parse_segment(read_json(req), name)
        except segments_mod.SegmentError as exc:
            raise api_error(400, str(exc), exc.field)
        clash = segments_mod.overlaps(segment, self._segments())
        if clash:
            host, other = clash[0]
            raise api_error(409, 'host %s is in segment %s already; a host '
                            'recovers inside one segment only' % (host, other),
                            'hosts')
        return segment

    def list_segments(self, req):
        return 200, {'segments': [s.to_dict() for s in self._segments()]}

    def create_segment(self, req):
        segment = self._parse(req)
        key = self.keys.segment(segment.name)
        if not self._etcd(self.store.create, key, segment.to_dict()):
            raise api_error(409, 'segment %r exists; PUT /v1/segments/%s to '
                            'replace it' % (segment.name, segment.name), 'name')
        LOG.warning('API: %s created segment %s (%s)', self._who(req),
                    segment.name, segment.recovery_method)
        return 201, {'segment': segment.to_dict()}

    def get_segment(self, req, name):
        kv = self._etcd(self.store.get, self.keys.segment(name))
        if kv is None:
            raise api_error(404, 'no segment named %r' % name)
        return 200, {'segment': self._record(kv)}

    def put_segment(self, req, name):
        segment = self._parse(req, name)
        key = self.keys.segment(name)
        result = self._etcd(self.store.txn, [], [Op.get(key),
                                                 Op.put(key, segment.to_dict())])
        existed = bool(result.ranges() and result.ranges()[0])
        LOG.warning('API: %s %s segment %s (%s)', self._who(req),
                    'replaced' if existed else 'created', name,
                    segment.recovery_method)
        return (200 if existed else 201), {'segment': segment.to_dict()}

    def delete_segment(self, req, name):
        if not self._etcd(self.store.delete, self.keys.segment(name)):
            raise api_error(404, 'no segment named %r' % name)
        LOG.warning('API: %s deleted segment %s', self._who(req), name)
        return 204, None
