"""VMR configuration: one module per option group (oslo.config).

``register_all(conf)`` registers every group; services call it once before
parsing the command line.
"""

import importlib

from oslo_config import cfg

CONF = cfg.CONF

#: option modules, in the order they appear in the sample config
MODULES = ('default', 'etcd', 'heartbeat', 'agent', 'coordinator',
           'journal', 'fencing', 'actions', 'cloud', 'api', 'notifications')


def option_modules():
    """Yield every option module, in :data:`MODULES` order.

    A module that does not import is an error, never skipped: a group that
    silently goes missing turns its options (and what they enable) off.
    """
    for name in MODULES:
        yield importlib.import_module('vmr_common.conf.' + name)


def register_all(conf=CONF):
    """Register every VMR option group on ``conf`` (idempotent)."""
    for module in option_modules():
        try:
            module.register_opts(conf)
        except cfg.DuplicateOptError:
            pass
    return conf
