"""keepalived configurations for VRRP failover: guest pairs and the controller VIP.

The public API, used by the ``vmr keepalived`` commands, the Ansible role
(``python -m vmr_keepalived.cli``) and the tests:

* validated inputs and their error: :class:`KeepalivedConfigError`
  (:mod:`.model` has ``VrrpInstance``, ``TrackScript``, ...);
* rendering: :class:`KeepalivedTemplater`, :func:`render_guest_pair`,
  :func:`render_controller_vip` (:mod:`.templater`);
* files: :func:`read_secret`, :func:`check_rendered` (``keepalived -t``),
  :func:`write_rendered` (:mod:`.files`);
* the Neutron operations a pair needs: :func:`plan_vrrp_pair`,
  :class:`PlanError` (:mod:`.neutron_plan`, pure);
* the command line: :func:`build_parser` and :func:`main` behind
  ``vmr keepalived render`` (:mod:`.cli`).

:mod:`vmr_keepalived.pair` (``setup_vrrp_pair``: the pair's ports, security
group and floating IP in a real cloud) needs openstacksdk and is imported
on demand, not from here.

See ``doc/keepalived.rst``.
"""

from vmr_keepalived.model import KeepalivedConfigError
from vmr_keepalived.templater import (
    CONF_FILE, KeepalivedTemplater, render_controller_vip, render_guest_pair)
from vmr_keepalived.files import check_rendered, read_secret, write_rendered
from vmr_keepalived.neutron_plan import PlanError, plan_vrrp_pair
from vmr_keepalived.cli import build_parser, main

__all__ = [
    'CONF_FILE', 'KeepalivedConfigError', 'KeepalivedTemplater', 'PlanError',
    'build_parser', 'check_rendered', 'main', 'plan_vrrp_pair', 'read_secret',
    'render_controller_vip', 'render_guest_pair', 'write_rendered',
]
