"""[cloud] options: how VMR reaches OpenStack (openstacksdk)."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup('cloud', title='OpenStack access')

OPTS = [
    cfg.StrOpt('cloud', default='envvars',
               help='Cloud name in clouds.yaml. Credentials stay in '
                    'clouds.yaml (mode 0600), never in etcd.'),
    cfg.StrOpt('clouds_yaml',
               help='Path of clouds.yaml. When set it is the only source '
                    'of credentials: OS_CLIENT_CONFIG_FILE and OS_* '
                    'variables are ignored. Default: the openstacksdk '
                    'search path (OS_CLIENT_CONFIG_FILE, '
                    '~/.config/openstack, /etc/openstack).'),
    cfg.StrOpt('compute_microversion', default='2.95',
               help='Nova API microversion VMR pins. At >= 2.95 evacuated '
                    'servers end SHUTOFF and VMR starts them.'),
    cfg.ListOpt('service_vm_projects', default=[],
                help='Project ids whose servers belong to other controllers '
                     '(e.g. the Octavia amphora project); never healed '
                     'unless a contract selects them explicitly.'),
    cfg.ListOpt('service_vm_name_prefixes', default=['amphora-'],
                help='Server name prefixes of service-owned VMs.'),
    cfg.ListOpt('service_vm_image_tags', default=['amphora'],
                help='Image tags of service-owned VMs.'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
