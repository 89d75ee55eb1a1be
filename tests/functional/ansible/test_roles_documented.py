"""Every role variable is documented where operators look: README and defaults.

No Ansible needed: reads ansible/roles/*/defaults/main.yml.
"""

import os
import re

import pytest
import yaml

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))), 'ansible', 'roles')
ROLES = sorted(os.listdir(ROLES_DIR))


@pytest.mark.parametrize('role', ROLES)
def test_every_default_is_in_the_readme_and_commented(role):
    with open(os.path.join(ROLES_DIR, role, 'defaults', 'main.yml')) as f:
        text = f.read()
    names = list(yaml.safe_load(text))
    with open(os.path.join(ROLES_DIR, role, 'README.md')) as f:
        readme = f.read()
    missing = [n for n in names if '`%s`' % n not in readme]
    assert not missing, '%s/README.md does not document %s' % (role, missing)
    # a comment line right above each variable, or above its group
    lines = text.splitlines()
    undocumented = []
    for name in names:
        index = next(i for i, line in enumerate(lines) if line.startswith(name + ':'))
        above = index - 1
        while above >= 0 and re.match(r'^[a-z_0-9]+:|^\s', lines[above]):
            above -= 1  # another variable of the same group, or a value line
        if above < 0 or not lines[above].startswith('#'):
            undocumented.append(name)
    assert not undocumented, '%s/defaults/main.yml: no comment for %s' % (
        role, undocumented)


@pytest.mark.parametrize('role', ROLES)
def test_role_variables_carry_the_role_prefix(role):
    with open(os.path.join(ROLES_DIR, role, 'defaults', 'main.yml')) as f:
        names = list(yaml.safe_load(f))
    assert all(n.startswith(role + '_') for n in names), names
