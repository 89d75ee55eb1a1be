"""The real tier (Nova, Keystone, Placement, Glance from their releases).

Slow (about 2.5 minutes, plus about 2 minutes of pip the first time on a
machine), so it runs only with VMR_REAL_TESTS=1.
"""

import os

import pytest

from vmr_lab.real import infra, smoke

pytestmark = pytest.mark.skipif(
    os.environ.get('VMR_REAL_TESTS') != '1',
    reason='set VMR_REAL_TESTS=1 to run the real OpenStack tier')


def test_binaries_are_there():
    infra.check_binaries()


def test_smoke_boot_evacuate_migrate_rebuild_snapshot(tmp_path):
    assert smoke.main(['--workdir', str(tmp_path / 'real')]) == 0
