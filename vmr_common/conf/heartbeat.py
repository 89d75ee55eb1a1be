"""[heartbeat] options: how agents prove they are alive."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup('heartbeat', title='Agent heartbeat')

OPTS = [
    cfg.FloatOpt('ttl', default=3.0, min=2.0,
                 help='Lease TTL T of an agent\'s group membership, in '
                      'seconds. A host whose agent stops heartbeating leaves '
                      'the group between T/2 and T later. etcd refuses '
                      'leases shorter than 2 s by default. Detection latency '
                      'is about T + grace: the probes run during the grace, '
                      'and the leader looks again the moment it ends.'),
    cfg.FloatOpt('interval', default=1.0, min=0.1,
                 help='Seconds between two heartbeats; must be at most '
                      'ttl/2.'),
    cfg.StrOpt('transport', default='auto',
               choices=[('auto', 'gRPC when the grpcio package is '
                         'installed; the HTTP gateway for a beat whose gRPC '
                         'renewal fails while the gateway answers'),
                        ('grpc', 'etcd\'s gRPC LeaseKeepAlive only'),
                        ('gateway', 'etcd\'s HTTP/JSON gateway only')],
               help='How an agent renews its membership lease each '
                    'heartbeat. Over gRPC a renewal costs etcd about 2.5 '
                    'times less CPU than over the HTTP/JSON gateway '
                    '(doc/benchmarks.rst): what decides how many hosts one '
                    'etcd can watch. Everything else uses the gateway.'),
    cfg.StrOpt('group', default='vmr-agents',
               help='Name of the group the agents join (tooz\'s layout), '
                    'below the cluster\'s keyspace: <prefix>/<cluster>/'
                    'groups/<group>/<host>. Agents and coordinators of one '
                    'cluster must use the same name.'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
