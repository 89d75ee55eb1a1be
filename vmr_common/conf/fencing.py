"""Options of the ``[fencing]`` group: fence profiles, timeouts, safety."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup(
    'fencing',
    title='Fencing (STONITH)',
    help='How the coordinator proves a failed host is powered off before '
         'anything that could run its VMs twice happens.')

OPTS = [
    cfg.StrOpt('profiles_file',
               default='/etc/vmr/fence-profiles.yaml',
               help='YAML file with the fence profiles: per host or host '
                    'pattern, an ordered ladder of fencers and their '
                    'options, BMC credentials included. It must not be '
                    'readable by group or others (chmod 0600); the '
                    'coordinator refuses to load it otherwise. See '
                    'etc/vmr/fence-profiles.yaml.example.'),
    cfg.BoolOpt('allow_unsafe_fencing',
                default=False,
                help='Allow the "noop" fencer, which claims success without '
                     'touching the host. Only for tests and demos: with it, '
                     'a VM can run twice and corrupt its disks.'),
    cfg.FloatOpt('default_timeout',
                 default=10.0, min=0.1,
                 help='Seconds one rung of a fence ladder may take (power '
                      'off plus verification) when its profile entry sets '
                      'no "timeout". A rung that overruns counts as failed '
                      'and the next rung is tried.'),
    cfg.FloatOpt('poll_interval',
                 default=0.1, min=0.01,
                 help='Seconds between power-state polls while a fencer '
                      'waits for a host to report "off".'),
    cfg.FloatOpt('watchdog_margin',
                 default=5.0, min=0.0,
                 help='Seconds added to an agent\'s watchdog timeout before '
                      'the watchdog fencer counts a host whose lease is gone '
                      'as fenced: covers lease expiry lag and clock skew.'),
    cfg.FloatOpt('blocked_retry_initial',
                 default=10.0, min=0.1,
                 help='Seconds before the first retry of a blocked recovery '
                      '(every rung of its fence ladder failed).'),
    cfg.FloatOpt('blocked_retry_factor',
                 default=2.0, min=1.0,
                 help='Each further retry of a blocked recovery waits this '
                      'many times longer than the previous one.'),
    cfg.FloatOpt('blocked_retry_max',
                 default=300.0, min=0.1,
                 help='Upper bound, in seconds, of the wait between retries '
                      'of a blocked recovery.'),
    cfg.IntOpt('handover_after',
               default=1, min=0,
               help='A leader whose fence of a host failed this many times '
                    '(every rung of the ladder) hands leadership to a live '
                    'standby coordinator that has not tried that fence yet, '
                    'and the standby tries it at once: a BMC network that '
                    'reaches one controller and not the other. Each '
                    'coordinator tries once; when all have, the recovery '
                    'stays blocked with the leader it has. 0: never hand '
                    'over.'),
    cfg.ListOpt('fence_agent_path',
                default=['/usr/sbin', '/sbin', '/usr/bin'],
                help='Directories searched, in order, for ClusterLabs fence '
                     'agents (fence_ipmilan, fence_redfish, ...) named by the '
                     'fence_agent fencer. Agents are never looked up on PATH.'),
    cfg.StrOpt('ipmitool_path',
               default='/usr/bin/ipmitool',
               help='ipmitool binary used by ipmitool-based fence agents '
                    '(fence_ipmilan and its aliases). VMR runs them through '
                    'a wrapper that hands ipmitool the password in its '
                    'environment (-E) instead of its argv (-P).'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
