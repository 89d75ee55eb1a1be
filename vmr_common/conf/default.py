"""[DEFAULT] options shared by every VMR service."""

import socket

from oslo_config import cfg

OPTS = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this node. For an agent it must be the name Nova '
                    'uses for the compute service (the `host` column of '
                    '`openstack compute service list`); for a coordinator it '
                    'names the member in the leader election.'),
    cfg.StrOpt('state_path',
               default='/var/lib/vmr',
               help='Directory for local state (never secrets).'),
]


def register_opts(conf):
    conf.register_opts(OPTS)


def list_opts():
    return [(None, OPTS)]
