"""A real ``keepalived -t`` accepts every configuration the templater renders.

The hand-picked cases the unit tests pin with golden files, and many valid
ones from a Hypothesis strategy (IPv4/IPv6, VRRPv2/v3, preempt settings,
auth, several peers): a validation hole in the model or a template branch
keepalived rejects shows up as a failing example.  As root the checks run
in a network namespace of their own that has the interfaces the configs
name (``tests/support/keepalived_check.py``).
"""

import io
import os

from hypothesis import HealthCheck, given, settings
import pytest

from tests.support.keepalived_cases import (
    CONTROLLER_VIPS,
    GUEST_PAIRS,
    configs,
    generic_config,
)
from tests.support.keepalived_check import KEEPALIVED, KeepalivedCheck
from vmr_keepalived import cli
from vmr_keepalived import templater


@pytest.fixture(scope='module')
def keepalived_check(tmp_path_factory):
    """Callable ``check(name, text)`` asserting that keepalived -t accepts
    ``text``."""
    check = KeepalivedCheck(str(tmp_path_factory.mktemp('keepalived-t')))
    yield check
    check.close()


@pytest.mark.parametrize('case', sorted(GUEST_PAIRS))
def test_guest_pairs(case, keepalived_check):
    for member, files in templater.render_guest_pair(GUEST_PAIRS[case]()).items():
        keepalived_check(f'{case}-{member}.conf', files[templater.CONF_FILE])


@pytest.mark.parametrize('case', sorted(CONTROLLER_VIPS))
def test_controller_vips(case, keepalived_check):
    rendered = templater.render_controller_vip(CONTROLLER_VIPS[case]())
    for member, files in rendered.items():
        keepalived_check(f'{case}-{member}.conf', files[templater.CONF_FILE])


def test_generic_config(keepalived_check):
    keepalived_check('generic.conf', templater.KeepalivedTemplater()
                     .render_config(generic_config()))


def test_keepalived_check_really_checks(keepalived_check):
    """Guard against a checker that passes everything: a broken config must fail."""
    good = templater.KeepalivedTemplater().render_config(generic_config())
    with pytest.raises(AssertionError, match='outside range'):
        keepalived_check('broken.conf', good.replace('priority 200', 'priority 300'))
    with pytest.raises(AssertionError, match="doesn't exist"):
        keepalived_check('no-such-if.conf', good.replace('eth0', 'nosuch0'))


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs())
def test_every_valid_config_passes_keepalived_t(config, keepalived_check):
    keepalived_check('property.conf',
                     templater.KeepalivedTemplater().render_config(config))


def test_cli_check_reports_keepalived_rejection():
    if not os.path.exists(KEEPALIVED):
        pytest.skip('keepalived is not installed')
    # No machine has this interface, so keepalived -t must refuse the config.
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(['controller-vip', '--controller', 'c1=192.0.2.1',
                   '--controller', 'c2=192.0.2.2', '--vip', '192.0.2.100/24',
                   '--virtual-router-id', '3', '--interface', 'nosuch0',
                   '--check'], stdout=out, stderr=err)
    assert rc == 3 and out.getvalue() == ''
    assert err.getvalue().startswith('error: c1: keepalived -t rc 5:') and \
        'nosuch0' in err.getvalue()
