"""`python -m vmr_lab.real.smoke`: the real tier alone, no VMR on top.

Boots, kills a host, forces it down, evacuates, live-migrates, rebuilds,
reboots, stops/starts, suspends/resumes and snapshots with openstacksdk, and
checks the guest journals agree with Nova.  About 2.5 minutes: slow.
"""

import pytest

from vmr_lab.real import smoke


@pytest.mark.slow
def test_smoke(real_prerequisites, tmp_path):
    assert smoke.main(['--workdir', str(tmp_path / 'real')]) == 0
