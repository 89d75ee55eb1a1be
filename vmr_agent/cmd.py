"""``vmr-agent``: the VMR agent of one compute node."""

import cotyledon

from vmr_agent import service
from vmr_common import cli

DESCRIPTION = """\
Joins the VMR agents group in etcd for this compute node and heartbeats, so
the VMR coordinators see within seconds when this node dies; answers their
probes and, when configured, arms a watchdog and applies an isolation action
when it loses etcd. Configuration: see etc/vmr/vmr.conf.sample (sections
[DEFAULT] host, [etcd], [heartbeat], [agent]).
"""


def main(argv=None):
    conf = cli.prepare('vmr-agent', 'agent', argv, DESCRIPTION)
    if conf.check:
        from vmr_agent import preflight
        cli.run_check('vmr-agent', conf, 'agent', [preflight.etcd_problems])
    manager = cotyledon.ServiceManager()
    manager.add(service.AgentService, workers=1, args=(conf,))
    manager.register_hooks(on_reload=lambda: conf.reload_config_files())
    manager.run()
