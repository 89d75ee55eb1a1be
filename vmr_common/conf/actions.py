"""[actions] options: what the contract actions need from the coordinator."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup(
    'actions',
    title='Contract actions',
    help='Settings of the actions contracts run (vmr.actions plugins).')

OPTS = [
    cfg.StrOpt('secrets_file',
               default='/etc/vmr/secrets.yaml',
               help='YAML file with the secrets contracts refer to by name, '
                    'e.g. the HMAC keys of the webhook action '
                    '(`secret_ref`): a top-level `secrets:` mapping of name '
                    '-> secret. Contracts live in etcd and never hold a '
                    'secret themselves. The file must not be accessible to '
                    'group or others (chmod 0600); the coordinator refuses '
                    'to use it otherwise.'),
    cfg.FloatOpt('webhook_backoff',
                 default=0.5, min=0.01,
                 help='Seconds before the webhook action retries a POST '
                      'that failed with HTTP 5xx, 429 or a timeout; doubles '
                      'on every retry, up to webhook_backoff_max, within '
                      'the step\'s timeout.'),
    cfg.FloatOpt('webhook_backoff_max',
                 default=30.0, min=0.01,
                 help='Upper bound, in seconds, of the wait between two '
                      'POSTs of the webhook action.'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
