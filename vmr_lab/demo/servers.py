"""Servers, floating IPs and contracts a scenario sets up, through
openstacksdk as an operator would, and whether the servers of a dead host
run elsewhere.

A part of :class:`vmr_lab.demo.Demo`.
"""

import os


class Servers:
    """What a scenario builds in the cloud (a mixin of ``Demo``)."""

    # -- building servers through openstacksdk --------------------------------
    @property
    def conn(self):
        if getattr(self, '_conn', None) is None:
            import openstack
            config = openstack.config.OpenStackConfig(
                config_files=[os.path.join(self.workdir, 'clouds.yaml')])
            self._conn = openstack.connection.Connection(
                config=config.get_one(self.lab.cloud_name,
                                      compute_api_version='2.95'))
        return self._conn

    def boot(self, name, host, metadata):
        """Boot ``name`` on ``host`` with ``metadata``; wait ACTIVE."""
        conn = self.conn
        net = conn.network.find_network('private')
        image = next(conn.image.images(status='active'))
        flavor = sorted(conn.compute.flavors(), key=lambda f: f.ram)[0]
        server = conn.compute.create_server(
            name=name, image_id=image.id, flavor_id=flavor.id,
            networks=[{'uuid': net.id}], metadata=metadata,
            availability_zone='nova:%s' % host)
        return conn.compute.wait_for_server(server, interval=0.05, wait=60)

    def fip(self, server):
        """A new floating IP on ``server``'s port."""
        conn = self.conn
        public = conn.network.find_network('public')
        port = next(conn.network.ports(device_id=server.id))
        return conn.network.create_ip(floating_network_id=public.id,
                                      port_id=port.id)

    def use_contract(self, doc, keep_demo=False):
        """Load ``doc``; it replaces the demo's evacuate contract unless
        ``keep_demo`` (then the demo's contract still heals the rest)."""
        if not keep_demo:
            self.store.delete(self.store.keys.contract(self.contract['name']))
        self.store.put(self.store.keys.contract(doc['name']), doc)
        self.say('contract %s loaded: %s -> %s' % (
            doc['name'], doc['trigger']['type'], doc['action']['type']))

    def left_down(self, ids, victim):
        """Names of the servers ``ids`` not running away from ``victim``."""
        down = []
        for sid in ids:
            server = self.lab.get_server(sid) or {}
            if server.get('host') == victim or not self.lab.server_running(
                    sid):
                down.append(server.get('name') or sid)
        return down

    def _others_healed(self, ids, victim):
        """Every other server of the dead host runs elsewhere: a pair that
        failed over while its neighbours stay down is no success."""
        down = self.left_down(ids, victim)
        if down:
            self.say('NOT HEALED: %s still down on %s' % (
                ', '.join(down), victim))
        else:
            self.say('the %d other servers of %s run elsewhere'
                     % (len(ids), victim))
        return not down
