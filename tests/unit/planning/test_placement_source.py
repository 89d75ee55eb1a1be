"""Usage from Placement: (total - reserved) * allocation_ratio and usages,
mapped from the resource provider (node) name to the compute host.

Stand-in objects for openstacksdk's Placement proxy: the lab has no
Placement service, so this is the one boundary that cannot run here.
"""

from types import SimpleNamespace as NS

from vmr_coordinator import cloud


class FakePlacement:
    def __init__(self, providers):
        self.providers = providers

    def resource_providers(self):
        return [NS(name=name, id=name) for name in self.providers]

    def resource_provider_inventories(self, provider):
        return [NS(resource_class=rc, total=total, reserved=reserved,
                   allocation_ratio=ratio)
                for rc, (total, reserved, ratio, _used)
                in self.providers[provider.name].items()]

    def fetch_resource_provider_usages(self, provider):
        return NS(usages={rc: used for rc, (_t, _r, _a, used)
                          in self.providers[provider.name].items()})


def test_placement_capacity_applies_ratios_and_maps_node_names():
    conn = NS(placement=FakePlacement({
        'node-1.example.org': {'VCPU': (32, 2, 4.0, 40),
                               'MEMORY_MB': (131072, 4096, 1.0, 65536),
                               'DISK_GB': (1000, 0, 1.0, 200)},
        'shared-storage': {'DISK_GB': (50000, 0, 1.0, 0)},
    }))
    hypervisors = [NS(name='node-1.example.org',
                      service_details={'host': 'compute-1'})]
    (host,) = cloud._placement_capacity(conn, hypervisors)
    assert host.name == 'compute-1' and host.source == 'placement'
    assert (host.vcpus, host.vcpus_used) == (120, 40)
    assert (host.ram_mb, host.ram_mb_used) == (126976, 65536)
    assert (host.disk_gb, host.disk_gb_used) == (1000, 200)
