"""[api] options of the REST API every coordinator serves."""

from oslo_config import cfg

GROUP = cfg.OptGroup('api', title='REST API')

OPTS = [
    cfg.BoolOpt('enabled', default=True, help='Serve the REST API.'),
    cfg.HostAddressOpt('bind_host', default='127.0.0.1',
                       help='Address the API listens on.'),
    cfg.PortOpt('bind_port', default=8779, help='Port the API listens on.'),
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=[('keystone', 'keystonemiddleware + oslo.policy'),
                        ('noauth', 'no authentication: the lab only')],
               help='How API callers are authenticated.'),
    cfg.StrOpt('webhook_token', secret=True,
               help='Shared token the alarm webhooks must present '
                    '(X-VMR-Token header, or HMAC-SHA256 of the body in '
                    'X-VMR-Signature).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
