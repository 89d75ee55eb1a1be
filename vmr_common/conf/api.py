"""[api] options of the REST API every coordinator serves."""

from oslo_config import cfg

GROUP = cfg.OptGroup('api', title='REST API')

OPTS = [
    cfg.BoolOpt('enabled', default=True, help='Serve the REST API.'),
    cfg.HostAddressOpt('bind_host', default='127.0.0.1',
                       help='Address the API listens on.'),
    cfg.PortOpt('bind_port', default=8779,
                help='Port the API listens on (0: any free port, for '
                     'tests).'),
    cfg.IntOpt('threads', default=8, min=1, max=256,
               help='Worker threads of the API server; each request holds '
                    'one for the duration of one etcd round trip or two.'),
    cfg.IntOpt('max_body_bytes', default=1 << 20, min=1024,
               help='Largest request body accepted (bytes); larger ones are '
                    'refused with 413.'),
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=[('keystone', 'keystonemiddleware + oslo.policy'),
                        ('noauth', 'no authentication: the lab only')],
               help='How API callers are authenticated. With keystone, '
                    'configure [keystone_authtoken] and, to change the '
                    'default rules, [oslo_policy] policy_file.'),
    cfg.StrOpt('webhook_token', secret=True,
               help='Shared secret of the alarm webhooks '
                    '(/v1/alarms/aodh, /v1/alarms/alertmanager, '
                    '/v1/alarms/keepalived). A caller presents it as '
                    '"Authorization: Bearer <token>" (Alertmanager\'s '
                    'http_config authorization), as the password of HTTP '
                    'basic auth (any user name), in the X-VMR-Token header, '
                    'or signs the body with it: X-VMR-Signature: '
                    'sha256=<hex HMAC-SHA256 of the body>. Unset: the '
                    'webhooks refuse every call.'),
]


def register_opts(conf):
    # A fresh OptGroup per ConfigOpts: register_group() copies the group
    # shallowly, so a shared module-level group would share its options'
    # overrides between every ConfigOpts of the process (tests build many).
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP.name)


def list_opts():
    return [(GROUP, OPTS)]
