"""The optional extras are installed for the tests, so their tests run
instead of skipping (issue 18 item 12: the Redfish fencer's tests skipped
in CI because sushy was in neither requirements file)."""

import configparser
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]
#: extras whose tests need a system library pip cannot bring
NOT_PIP_INSTALLABLE = {'libvirt': 'libvirt-python builds against libvirt-dev'}
#: extras tested with another virtualenv's copy: oslo.messaging pulls in
#: eventlet, whose import warnings would reach every VMR process's stderr
#: in the test virtualenv; tests/real/test_notifications.py runs it with
#: the real tier's
TESTED_ELSEWHERE = {'notifications': 'tests/real/test_notifications.py'}


def _name(requirement):
    for sep in '<>=!~;[ ':
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower()


def test_every_optional_extra_is_a_test_requirement():
    setup = configparser.ConfigParser()
    setup.read(ROOT / 'setup.cfg')
    wanted = {}
    for extra, value in setup['options.extras_require'].items():
        if extra in NOT_PIP_INSTALLABLE or extra in TESTED_ELSEWHERE:
            continue
        for line in value.splitlines():
            if line.strip():
                wanted[_name(line)] = extra
    have = {_name(line) for line in
            (ROOT / 'test-requirements.txt').read_text().splitlines()
            if line.strip() and not line.startswith('#')}
    missing = {name: extra for name, extra in wanted.items()
               if name not in have}
    assert missing == {}, ('add these to test-requirements.txt so the tests '
                           'of their extras run: %s' % missing)
