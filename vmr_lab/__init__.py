"""The VMR lab: an OpenStack cloud on one machine to heal.

* :mod:`vmr_lab.cloud` -- :class:`~vmr_lab.cloud.LabCloud`, every simulated
  API (Keystone, Nova, Neutron, Octavia, Glance, Cinder, Mistral) on its own
  127.0.0.1 port, openstacksdk-compatible;
* :mod:`vmr_lab.hosts` -- simulated compute hosts (power, hypervisor,
  nova-compute reports, boot ids, agents, faults);
* :mod:`vmr_lab.bmc` -- virtual IPMI BMCs wired to the hosts' power;
* :mod:`vmr_lab.monitor` -- the invariant monitor (double runs, unsafe
  moves, lost servers);
* :mod:`vmr_lab.control` / :mod:`vmr_lab.client` -- the control API for
  tests and demos in another process;
* :mod:`vmr_lab.netproxy` -- per-host TCP proxies a partition can cut;
* :mod:`vmr_lab.cmd` -- the ``vmr-lab`` command.
"""
