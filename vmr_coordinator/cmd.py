"""``vmr-coordinator``: the VMR coordinator of one controller."""

import cotyledon

from vmr_common import cli
from vmr_coordinator import service

DESCRIPTION = """\
Runs on every controller. Coordinators elect one leader through etcd; the
leader watches the agents group, detects failed compute hosts on its own
(absent from the group, unreachable on every network, brake not engaged),
fences them and carries out the operators' contracts. Standbys take over
within the leader TTL. Configuration: see etc/vmr/vmr.conf.sample (sections
[DEFAULT] host, [etcd], [heartbeat], [coordinator], [fencing], [cloud],
[api]).
"""


def main(argv=None):
    conf = cli.prepare('vmr-coordinator', 'coordinator', argv, DESCRIPTION)
    if conf.check:
        from vmr_coordinator import preflight
        cli.run_check('vmr-coordinator', conf, 'coordinator',
                      [preflight.problems])
    manager = cotyledon.ServiceManager()
    manager.add(service.CoordinatorService, workers=1, args=(conf,))
    manager.register_hooks(on_reload=lambda: conf.reload_config_files())
    manager.run()
