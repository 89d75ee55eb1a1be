"""[etcd] options: where VMR keeps all its state."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup('etcd', title='etcd connection',
                     help='The etcd cluster that holds every piece of VMR '
                          'state: membership, host records, contracts, the '
                          'recovery journal and leadership.')

OPTS = [
    cfg.ListOpt('endpoints',
                default=['http://127.0.0.1:2379'],
                help='etcd client URLs (http:// or https://). The client '
                     'fails over to the next endpoint when one is '
                     'unreachable or has no leader.'),
    cfg.StrOpt('prefix', default='/vmr',
               help='Key prefix; VMR writes only below <prefix>/<cluster>/.'),
    cfg.StrOpt('cluster', default='default',
               help='Name of this VMR cluster. Several clusters can share '
                    'one etcd with different names.'),
    cfg.FloatOpt('timeout', default=3.0, min=0.1,
                 help='Timeout in seconds of one etcd request.'),
    cfg.FloatOpt('election_timeout', default=1.0, min=0.01,
                 help='The etcd cluster\'s --election-timeout in seconds '
                      '(etcd default 1 s). Used only to validate that the '
                      'heartbeat TTL outlives an etcd leader election.'),
    cfg.StrOpt('ca_file',
               help='CA bundle to verify etcd\'s TLS certificate.'),
    cfg.StrOpt('cert_file',
               help='Client certificate for etcd TLS client auth.'),
    cfg.StrOpt('key_file',
               help='Private key of cert_file.'),
    cfg.StrOpt('username',
               help='etcd user when etcd authentication is enabled.'),
    cfg.StrOpt('password', secret=True,
               help='Password of the etcd user.'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
