"""Fence profiles: file mode, lookup order, per-host overrides, redaction."""

import os
import textwrap

import pytest

from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import profiles as fp

SECRET = 'Sup3r-Secret-BMC'

PROFILES = textwrap.dedent('''
    profiles:
      rack1:
        hosts:
          compute-1: {address: 10.0.0.11}
          compute-2: {address: 10.0.0.12, port: 6232, ipmi: {port: 7000}}
          "rack1-*": {address: "{host}-bmc.mgmt"}
        ladder:
          - {driver: ipmi, username: admin, password: %(secret)s, port: 623,
             timeout: 7}
          - driver: fence_agent
            agent: fence_ipmilan
            username: admin
            password: %(secret)s
            options: {lanplus: 1}
        post:
          - {driver: nova_force_down, disable: true}
      wildcard:
        hosts: ["compute-*", "rack1-9"]
        ladder: [{driver: watchdog}]
      default:
        ladder: [{driver: watchdog, margin: 2}]
''') % {'secret': SECRET}


def write(tmp_path, text, mode=0o600, name='fence-profiles.yaml'):
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


@pytest.fixture
def profiles(tmp_path):
    return fp.FenceProfiles.load(write(tmp_path, PROFILES))


@pytest.mark.parametrize('mode', [0o644, 0o640, 0o604, 0o660, 0o602])
def test_group_or_other_access_is_refused_with_the_fix(tmp_path, mode):
    path = write(tmp_path, PROFILES, mode)
    with pytest.raises(base.FenceConfigError) as err:
        fp.FenceProfiles.load(path)
    text = str(err.value)
    assert path in text
    assert '%04o' % mode in text
    assert 'chmod 0600 %s' % path in text
    assert SECRET not in text


def test_mode_0600_and_0400_are_accepted(tmp_path):
    fp.FenceProfiles.load(write(tmp_path, PROFILES, 0o600))
    fp.FenceProfiles.load(write(tmp_path, PROFILES, 0o400, 'other.yaml'))


def test_missing_file_names_the_option(tmp_path):
    with pytest.raises(base.FenceConfigError, match='profiles_file'):
        fp.FenceProfiles.load(str(tmp_path / 'nope.yaml'))


def test_invalid_yaml_never_echoes_the_line(tmp_path):
    text = 'profiles:\n  a:\n    ladder: [{driver: ipmi, password: "%s}\n' % SECRET
    with pytest.raises(base.FenceConfigError) as err:
        fp.FenceProfiles.load(write(tmp_path, text))
    assert 'invalid YAML at line' in str(err.value)
    assert SECRET not in str(err.value)


def test_exact_name_wins_over_patterns(profiles):
    assert profiles.profile_for('compute-1').name == 'rack1'
    # compute-7 is not listed exactly: first matching pattern in file order
    assert profiles.profile_for('compute-7').name == 'wildcard'
    # rack1-9 is named exactly by 'wildcard': beats rack1's pattern
    assert profiles.profile_for('rack1-9').name == 'wildcard'
    assert profiles.profile_for('rack1-3').name == 'rack1'
    assert profiles.profile_for('elsewhere').name == 'default'


def test_no_profile_and_no_default_is_a_clear_error():
    profiles = fp.FenceProfiles.from_dict(
        {'profiles': {'a': {'hosts': ['x'], 'ladder': [{'driver': 'ipmi'}]}}})
    with pytest.raises(base.FenceConfigError, match="no fence profile for "
                                                    "host 'y'"):
        profiles.profile_for('y')


def test_per_host_bmc_address_and_driver_section(profiles):
    one = profiles.profile_for('compute-1')
    assert one.host == 'compute-1'
    ipmi, agent = one.ladder
    assert ipmi.options['address'] == '10.0.0.11'
    assert agent.options['address'] == '10.0.0.11'
    assert ipmi.timeout == 7.0 and agent.timeout is None
    two = profiles.profile_for('compute-2')
    # the 'ipmi:' section wins for ipmi rungs only
    assert two.ladder[0].options['port'] == 7000
    assert two.ladder[1].options['port'] == 6232
    # overrides never leak into a rung that does not take the option
    assert 'address' not in two.post[0].options


def test_host_placeholder_substitution(profiles):
    prof = profiles.profile_for('rack1-3')
    assert prof.ladder[0].options['address'] == 'rack1-3-bmc.mgmt'


def test_same_host_in_two_profiles_is_refused():
    data = {'profiles': {
        'a': {'hosts': ['x'], 'ladder': [{'driver': 'watchdog'}]},
        'b': {'hosts': ['x'], 'ladder': [{'driver': 'watchdog'}]}}}
    with pytest.raises(base.FenceConfigError, match="host 'x' is listed"):
        fp.FenceProfiles.from_dict(data)


@pytest.mark.parametrize('data, match', [
    ({}, "top-level 'profiles:'"),
    ({'profiles': {'a': {'ladder': []}}}, "non-empty 'ladder'"),
    ({'profiles': {'a': {'ladder': [{'nodriver': 1}]}}}, "'driver' name"),
    ({'profiles': {'a': {'ladder': [{'driver': 'ipmi', 'timeout': -1}]}}},
     'timeout must be a positive'),
    ({'profiles': {'a': {'ladder': [{'driver': 'x'}], 'oops': 1}}},
     r'unknown key\(s\) oops'),
])
def test_structure_errors_name_the_place(data, match):
    with pytest.raises(base.FenceConfigError, match=match):
        fp.FenceProfiles.from_dict(data, path='/etc/vmr/f.yaml')


def test_secrets_never_in_repr_str_or_describe(profiles):
    prof = profiles.profile_for('compute-1')
    texts = [repr(prof), str(prof), repr(prof.ladder), str(prof.ladder[1]),
             repr(profiles), str(prof.describe())]
    for text in texts:
        assert SECRET not in text
    assert prof.describe()['ladder'][0]['options']['password'] == '***'


def test_validate_names_profile_rung_and_missing_option(tmp_path):
    data = {'profiles': {'rack1': {
        'hosts': ['compute-1'],
        'ladder': [{'driver': 'ipmi', 'username': 'u', 'password': SECRET},
                   {'driver': 'nova_force_down'},
                   {'driver': 'nosuch'}]}}}
    errors = fp.FenceProfiles.from_dict(data).validate()
    text = '\n'.join(errors)
    assert ("fence profile 'rack1', rung 1 (ipmi): missing option "
            "'address'") in text
    assert "rung 2 (nova_force_down): nova_force_down does not power" in text
    assert "no entry point 'nosuch' in namespace 'vmr.fencers'" in text
    assert SECRET not in text


def test_validate_flags_override_typos():
    data = {'profiles': {'rack1': {
        'hosts': {'compute-1': {'adress': '10.0.0.1', 'ipmi': {'port': 1}}},
        'ladder': [{'driver': 'watchdog'}]}}}
    errors = fp.FenceProfiles.from_dict(data).validate()
    assert errors == ["fence profile 'rack1', host 'compute-1': override "
                      "'adress' is not an option of any of its fencers "
                      '(watchdog)',
                      "fence profile 'rack1', host 'compute-1': override "
                      "'ipmi' is not an option of any of its fencers "
                      '(watchdog)']


def test_validate_of_the_example_file_is_clean(tmp_path):
    here = os.path.dirname(__file__)
    example = os.path.join(here, '..', '..', '..', 'etc', 'vmr',
                           'fence-profiles.yaml.example')
    if not os.path.exists(example):
        pytest.skip('example file not present')
    with open(example) as handle:
        path = write(tmp_path, handle.read())
    errors = fp.FenceProfiles.load(path).validate()
    # The example relies on the fence-agents package for fence_agent rungs.
    errors = [e for e in errors if 'not found in' not in e]
    assert errors == []
