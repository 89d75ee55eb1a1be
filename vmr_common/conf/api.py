"""[api] options of the REST API every coordinator serves."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

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


register_opts, list_opts = group_functions(GROUP, OPTS)
