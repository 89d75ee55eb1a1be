"""[coordinator] options of vmr-coordinator: election and the healer loop."""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup('coordinator', title='Coordinator')

OPTS = [
    cfg.FloatOpt('period', default=1.0, min=0.05,
                 help='Seconds between two healer cycles (P). Each cycle '
                      'takes one snapshot of etcd and decides. Must be at '
                      'most heartbeat ttl/2.'),
    cfg.FloatOpt('grace', default=2.0, min=0.0,
                 help='Seconds a host must stay absent from the agent group '
                      'before it is declared failed. An agent stalled for up '
                      'to about heartbeat ttl + grace (5 s at the defaults) '
                      'rejoins before it could be fenced; the default is '
                      'measured in doc/benchmarks.rst (false positives). 0 is '
                      'fine in the lab.'),
    cfg.FloatOpt('leader_ttl', default=6.0, min=2.0,
                 help='Lease TTL L of the leader key. Failover takes at most '
                      'about L + period.'),
    cfg.FloatOpt('leader_margin', default=0.5, min=0.0,
                 help='The leader steps down by its own clock at '
                      'last_refresh + leader_ttl - leader_margin, before '
                      'etcd could hand leadership to another coordinator.'),
    cfg.StrOpt('on_partition', default='wait',
               choices=[('wait', 'a host reachable on another network is '
                                 'recorded as partitioned and left alone'),
                        ('fence', 'fence it anyway')],
               help='What to do with a host that left the group but still '
                    'answers probes on another network.'),
    cfg.IntOpt('probers', default=3, min=0,
               help='How many live agents are asked to probe a suspect.'),
    cfg.FloatOpt('probe_timeout', default=2.0, min=0.1,
                 help='Seconds to wait for the probers\' answers. A '
                      'prober concludes *unreachable* after probing a host '
                      'for half of it without an answer; probers that '
                      'watched the host already answer at once.'),
    cfg.FloatOpt('watch_interval', default=0.5, min=0.0,
                 help='The leader probes every monitored host this often '
                      '(one small UDP datagram each way), so its own '
                      'answer about a suspect is ready the moment the '
                      'host\'s lease expires. 0 = probe only on demand '
                      '(its CPU cost is measured in doc/benchmarks.rst).'),
    cfg.IntOpt('max_failed_percent', default=40, min=1, max=100,
               help='Disruption brake: if more than this percentage of a '
                    'zone\'s hosts turn suspect within brake_window, VMR '
                    'assumes the fault is on its own side, stops automatic '
                    'fencing and raises an alarm.'),
    cfg.IntOpt('max_failed_hosts', default=5, min=1,
               help='Disruption brake: absolute number of hosts turning '
                    'suspect within brake_window that engages the brake.'),
    cfg.FloatOpt('brake_window', default=60.0, min=1.0,
                 help='Window in seconds of the disruption brake.'),
    cfg.IntOpt('brake_min_hosts', default=3, min=1,
               help='Zones with fewer hosts than this are judged by '
                    'max_failed_hosts only.'),
    cfg.FloatOpt('flap_holddown', default=120.0, min=0.0,
                 help='Seconds a host that came back after being suspect is '
                      'watched: if it drops again within this time it is '
                      'flapping and its grace is doubled each time '
                      '(hold-down).'),
    cfg.IntOpt('engine_workers', default=8, min=1,
               help='Threads of each of the recovery engine\'s two pools: '
                    'steps (so it caps how many servers are healed at once; '
                    'each contract\'s limits.concurrency applies on top) '
                    'and everything else (fences, plans, returns), which '
                    'never waits behind steps.'),
    cfg.FloatOpt('instance_poll_interval', default=30.0, min=0.0,
                 help='Seconds between two Nova polls for servers on live '
                      'hosts in a status an instance_down contract accepts '
                      '(its trigger.statuses: ERROR, SHUTOFF, SUSPENDED, '
                      'PAUSED); 0 disables the poll. Runs only when an '
                      'instance_down contract exists.'),
    cfg.FloatOpt('instance_down_hold_down', default=600.0, min=0.0,
                 help='Seconds after an instance_down recovery of a server '
                      'failed during which the Nova poll opens no new one '
                      'for that server (it is still down: healing it again '
                      'at once would fail the same way, forever). 0 retries '
                      'at the next poll.'),
    cfg.FloatOpt('preflight_interval', default=300.0, min=0.0,
                 help='Seconds between two preflight checks of this '
                      'coordinator (the checks of vmr-coordinator --check: '
                      'fence profiles of every known host, cloud token and '
                      'Nova microversion, contracts\' references). They '
                      'also run at start; problems are logged at ERROR and '
                      'shown by vmr status. 0 = at start only.'),
    cfg.FloatOpt('fence_check_interval', default=300.0, min=0.0,
                 help='Seconds between two checks of every host\'s fence '
                      'path by the leader: a status-only call through each '
                      'rung of the host\'s fence profile (what vmr fence '
                      'test does), spread over the interval, never on a '
                      'host being fenced or absent from the agents group. '
                      'Results are exported as '
                      'vmr_fence_path_ok{host,driver}; hosts whose path '
                      'failed are named by vmr status and logged at ERROR. '
                      '0 disables the checks.'),
    cfg.IntOpt('fence_check_concurrency', default=2, min=1,
               help='At most this many fence path checks run at once (a '
                    'BMC answers one status call in about a second; a '
                    'dead one holds a slot until its rung\'s timeout).'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
