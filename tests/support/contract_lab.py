"""The demo harness with contracts of three kinds and a victim host full of
servers for them (issue 6): :class:`ContractLab`, used by the contract and
trigger scenarios.
"""

from vmr_lab.demo import Demo

VICTIM = 'compute-2'

CONTRACTS = [
    {'name': 'db-pair', 'priority': 300, 'trigger': {'type': 'host_down'},
     'selector': {'metadata': {'tier': 'db'}},
     'action': {'type': 'fip_failover'}},
    {'name': 'batch-snapshot', 'priority': 200,
     'trigger': {'type': 'host_down'},
     'selector': {'metadata': {'recovery': 'snapshot'}},
     'action': {'type': 'boot_from_snapshot',
                'params': {'reattach_volumes': True,
                           'move_floating_ips': True}}},
    {'name': 'web-evacuate', 'priority': 100,
     'trigger': {'type': 'host_down'},
     'selector': {'metadata': {'ha': 'true'}},
     'action': {'type': 'evacuate'},
     'on_failure': {'type': 'boot_from_snapshot'},
     'limits': {'retries': 2, 'backoff': 1.2, 'timeout': 60}},
]


class ContractLab(Demo):
    """The demo harness with servers built through openstacksdk."""

    def start(self):
        super().start()
        self.store.delete(self.store.keys.contract('demo-evacuate'))
        for contract in CONTRACTS:
            self.store.put(self.store.keys.contract(contract['name']),
                           contract)

    def populate(self, web=14):
        """20 servers on the victim: 3 db actives, 3 batch, 14 web."""
        made = {'db': [], 'standby': [], 'batch': [], 'web': []}
        for i in range(3):
            made['db'].append(self.boot('db-%d-a' % i, VICTIM, {
                'tier': 'db', 'vmr_pair': 'db-%d' % i,
                'vmr_role': 'active'}))
            made['standby'].append(self.boot('db-%d-b' % i, 'compute-3', {
                'tier': 'db', 'vmr_pair': 'db-%d' % i,
                'vmr_role': 'standby'}))
        conn = self.conn
        for i in range(3):
            server = self.boot('batch-%d' % i, VICTIM,
                               {'recovery': 'snapshot'})
            volume = conn.block_storage.create_volume(size=1,
                                                      name='data-%d' % i)
            conn.block_storage.wait_for_status(volume, 'available',
                                               interval=0.05, wait=30)
            conn.compute.create_volume_attachment(server, volume_id=volume.id)
            conn.block_storage.wait_for_status(volume, 'in-use',
                                               interval=0.05, wait=30)
            self.fip(server)
            conn.compute.create_server_image(server, 'batch-%d-snap' % i,
                                             wait=True)
            conn.compute.wait_for_server(server, interval=0.05)
            made['batch'].append(server)
        # each active db server carries its pair's floating IP
        for server in made['db']:
            self.fip(server)
        for i in range(web):
            made['web'].append(self.boot('web-%02d' % i, VICTIM,
                                         {'ha': 'true'}))
        return made
