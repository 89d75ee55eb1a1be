"""[agent] options of vmr-agent, the per-compute-node agent."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup('agent', title='Compute node agent')

OPTS = [
    cfg.DictOpt('addresses', default={},
                help='Addresses of this node per network, e.g. '
                     '`management:10.0.0.5,tenant:10.1.0.5`. Other agents '
                     'probe these when this node goes silent; any answer '
                     'means partitioned, not dead.'),
    cfg.PortOpt('probe_port', default=4747,
                help='UDP port the agent answers probes on (on every '
                     'address in `addresses`).'),
    cfg.ListOpt('responder_networks', default=['*'],
                help='Networks of `addresses` this agent answers probes on '
                     'itself (`*` = all). Leave out networks whose address '
                     'is answered by something else (e.g. a host-level '
                     'responder), so a dead agent on a live host still '
                     'looks reachable there.'),
    cfg.FloatOpt('probe_timeout', default=0.5, min=0.05,
                 deprecated_for_removal=True,
                 deprecated_reason='Unused: the leader\'s probe requests '
                                   'carry their timeout ([coordinator] '
                                   'probe_timeout / 2).',
                 help='Not used.'),
    cfg.IntOpt('watch_neighbours', default=3, min=0,
               help='How many live agents before this one (in host name '
                    'order, wrapping) this agent probes all the time. The '
                    'leader asks the agents after a suspect to probe it, '
                    'so with this equal to [coordinator] probers they '
                    'answer at once from what they saw instead of waiting '
                    'out a probe timeout. 0 = probe only when asked.'),
    cfg.FloatOpt('watch_interval', default=0.25, min=0.05,
                 help='Seconds between two probes of each watched '
                      'neighbour (one small UDP datagram each way).'),
    cfg.StrOpt('boot_id_file', default='/proc/sys/kernel/random/boot_id',
               help='File holding the boot id; a new boot id tells the '
                    'coordinator the host rebooted (a fence took effect).'),
    cfg.StrOpt('zone', default='nova',
               help='Availability zone of this node, used by the '
                    'disruption brake.'),
    cfg.StrOpt('fence_profile',
               help='Name of the fence profile the coordinators should use '
                    'for this host (informational; the profiles file on '
                    'the coordinators decides).'),
    cfg.FloatOpt('isolation_timeout', default=30.0, min=1.0,
                 help='Seconds without reaching etcd after which this node '
                      'considers itself isolated and applies '
                      'isolation_action.'),
    cfg.StrOpt('isolation_action', default='none',
               choices=[('none', 'only log the isolation'),
                        ('stop-instances', 'run isolation_command to stop '
                                           'local instances'),
                        ('watchdog-reboot', 'stop feeding the watchdog so '
                                            'the node resets itself')],
               help='What an isolated node does, so that it never runs VMs '
                    'that are being restarted elsewhere. vmr-agent refuses '
                    'to start with stop-instances but no isolation_command, '
                    'or watchdog-reboot without watchdog_enabled.'),
    cfg.StrOpt('isolation_command',
               help='Command run (without a shell) for '
                    'isolation_action=stop-instances; required with it.'),
    cfg.BoolOpt('watchdog_enabled', default=False,
                help='Arm a watchdog that resets the node when the agent '
                     'loses its etcd lease; lets coordinators use the '
                     '`watchdog` fencer.'),
    cfg.StrOpt('watchdog_device', default='/dev/watchdog',
               help='Watchdog device; when absent the agent uses a software '
                    'fallback that runs watchdog_command.'),
    cfg.FloatOpt('watchdog_timeout', default=30.0, min=2.0,
                 help='Seconds without a feed before the watchdog fires.'),
    cfg.StrOpt('watchdog_command',
               help='Command run by the software watchdog fallback when it '
                    'fires (e.g. `systemctl reboot --force --force`).'),
    cfg.StrOpt('libvirt_uri',
               help='libvirt URI (e.g. qemu:///system) to watch for '
                    'instances that crash or stop unexpectedly; reported as '
                    'instance_down. Needs the libvirt Python binding '
                    '(optional). Unset: Nova polling only.'),
    cfg.ListOpt('watched_processes', default=[],
                help='Process names (as in /proc/PID/comm) whose absence the '
                     'agent reports as process_down, e.g. nova-compute.'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
