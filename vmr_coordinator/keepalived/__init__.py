"""keepalived configurations for VRRP failover: guest pairs and the controller VIP.

* :mod:`.model` — validated inputs (``VrrpInstance``, ``TrackScript``, ...);
* :mod:`.templater` — ``KeepalivedTemplater`` and the ``render_guest_pair`` /
  ``render_controller_vip`` builders;
* :mod:`.neutron_plan` — ``plan_vrrp_pair``: the Neutron operations a pair needs;
* :mod:`.cli` — ``main(argv)`` behind ``vmr keepalived render``.

See ``doc/keepalived.rst``.
"""
