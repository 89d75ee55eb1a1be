"""Every example contract's actions load with the params it gives them,
and each action's need for a fence matches doc/contracts.rst."""

import glob
import os

import pytest

from vmr_coordinator import contracts
from vmr_coordinator.actions import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, 'etc', 'vmr', 'contracts',
                                         '*.yaml')))
NEEDS_FENCE = {'evacuate': True, 'boot_from_snapshot': True,
               'fip_failover': True, 'lb_failover': True,
               'live_migrate': False, 'rebuild': False, 'reboot': False,
               'suspend': False, 'resume': False, 'noop': False,
               'mistral': True, 'webhook': True}


@pytest.mark.parametrize('path', EXAMPLES, ids=os.path.basename)
def test_example_actions_load(path):
    with open(path) as fh:
        contract = contracts.parse_contract(fh.read())
    for spec in (contract.action,) + tuple(contract.on_failure):
        action = base.load_action(spec.type, spec.params)
        assert action.name == spec.type
        assert action.needs_fence is NEEDS_FENCE[spec.type]


def test_every_action_type_has_a_plugin():
    for name in contracts.action_types():
        assert base.load_action(name, {}).name == name
