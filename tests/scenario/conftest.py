"""Shared fixture of the whole-lab scenarios: ``demo``, a started
:class:`vmr_lab.demo.Demo` (3 hosts, 6 servers), always stopped
(:func:`tests.support.scenario.running_lab`).
"""

import pytest

from tests.support.scenario import running_lab


@pytest.fixture
def demo():
    from vmr_lab.demo import Demo
    with running_lab(Demo, hosts=3, servers=6) as harness:
        yield harness
