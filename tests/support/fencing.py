"""Fencing test settings: the fence agent and ipmitool binaries (and skip
markers for when they are missing) and a parsed ``[fencing]`` configuration.

The fixtures of ``tests/functional/fencing/conftest.py`` are built on these;
the real tier uses :func:`make_conf` too.
"""

import os
import shutil

import pytest
from oslo_config import cfg

from vmr_common.conf import fencing as fencing_conf

FENCE_IPMILAN = '/usr/sbin/fence_ipmilan'
IPMITOOL = shutil.which('ipmitool') or '/usr/bin/ipmitool'

needs_fence_ipmilan = pytest.mark.skipif(
    not os.access(FENCE_IPMILAN, os.X_OK),
    reason='%s is not installed (Debian package fence-agents)'
    % FENCE_IPMILAN)
needs_ipmitool = pytest.mark.skipif(
    not os.access(IPMITOOL, os.X_OK),
    reason='ipmitool is not installed (Debian package ipmitool)')


def make_conf(poll_interval):
    """Parsed ``[fencing]`` options (no files, no argv)."""
    c = cfg.ConfigOpts()
    fencing_conf.register_opts(c)
    c([])
    c.set_override('poll_interval', poll_interval, 'fencing')
    return c
