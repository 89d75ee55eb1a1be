"""VMR's ML2 mechanism driver for the real tier: binds every port, no agent.

The installer copies this file into the real tier's virtualenv as
``neutron/plugins/ml2/drivers/vmrfake.py`` and registers it under the
entry point ``neutron.ml2.mechanism_drivers: vmrfake`` (ML2 loads
mechanism drivers only by entry point name), so ``ml2.conf`` names it
``mechanism_drivers = vmrfake``.

Nova's fake virt driver plugs nothing and no L2 agent runs here, so no
agent could ever report a port up.  This driver stands for an Open
vSwitch deployment whose agent is always there: a port of vnic type
``normal`` bound to any host gets ``binding:vif_type`` ``ovs`` on the
first segment of its network (flat or vlan) and goes ``ACTIVE`` at once.
Neutron then tells Nova ``network-vif-plugged`` like it would after the
agent wired the port.

A live migration does not bind again: Nova activates the binding it made
on the destination and ML2 sets the port ``DOWN``, waiting for the
destination's agent to report it wired.  The driver reports it, as that
agent would: a bound, administratively up port seen ``DOWN`` after an
update is set ``ACTIVE`` on its host.
"""

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins import directory
from neutron_lib.plugins.ml2 import api
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

VIF_DETAILS = {portbindings.CAP_PORT_FILTER: True,
               portbindings.OVS_HYBRID_PLUG: False,
               'bridge_name': 'br-int'}


class VMRFakeMechanismDriver(api.MechanismDriver):
    """Bind every normal port on any host, as if an OVS agent were there."""

    def initialize(self):
        LOG.info('vmrfake mechanism driver: every port binds as ovs')

    def bind_port(self, context):
        vnic_type = context.current.get(portbindings.VNIC_TYPE,
                                        portbindings.VNIC_NORMAL)
        if vnic_type != portbindings.VNIC_NORMAL:
            LOG.debug('vmrfake: not binding port %s of vnic type %s',
                      context.current['id'], vnic_type)
            return
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                dict(VIF_DETAILS),
                                status=constants.PORT_STATUS_ACTIVE)
            LOG.debug('vmrfake: bound port %s on host %s to segment %s',
                      context.current['id'], context.host, segment[api.ID])
            return

    def update_port_postcommit(self, context):
        port = context.current
        if (port.get('status') != constants.PORT_STATUS_DOWN
                or not port.get('admin_state_up')
                or not context.host
                or context.vif_type != portbindings.VIF_TYPE_OVS):
            return
        # Runs after ML2 committed; the status update is its own
        # transaction and calls this method again with ACTIVE, which
        # returns above.
        LOG.debug('vmrfake: port %s wired on host %s', port['id'],
                  context.host)
        directory.get_plugin().update_port_status(
            context.plugin_context, port['id'],
            constants.PORT_STATUS_ACTIVE, context.host)
