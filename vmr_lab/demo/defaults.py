"""What the demo loads and how fast it runs: its contract, its timing
options and the scenarios it knows."""

SCENARIOS = ('power-loss', 'kernel-hang', 'leader-kill', 'agent-death',
             'partition', 'mass-failure', 'maintenance', 'fip-failover',
             'lb-failover')

DEMO_CONTRACT = {
    'name': 'demo-evacuate',
    'description': 'Evacuate every server of a dead host.',
    'priority': 100,
    'trigger': {'type': 'host_down'},
    'selector': {'all': True},
    'action': {'type': 'evacuate', 'params': {'start_if_shutoff': True}},
    'limits': {'concurrency': 10, 'retries': 3, 'backoff': 1.5,
               'timeout': 120},
}

#: the demo's timing options: faster than the shipped defaults, for a demo
#: that finishes in seconds on one machine
DEMO_TIMING = {
    'etcd': {'timeout': 2},
    'heartbeat': {'ttl': 3, 'interval': 1},
    'coordinator': {'period': 0.5, 'grace': 0.0, 'leader_ttl': 3,
                    'leader_margin': 0.5, 'probe_timeout': 1,
                    'watch_interval': 0.25, 'instance_poll_interval': 1},
}
TIMINGS = ('demo', 'shipped')
