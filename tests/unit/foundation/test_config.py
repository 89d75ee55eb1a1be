"""Configuration: timing invariants (the sample generator: functional)."""

import os

from oslo_config import cfg

from vmr_common import conf as vmr_conf
from vmr_common.conf import checks

def make_conf(overrides=None):
    # A config file rather than set_override: oslo.config shares option
    # groups between ConfigOpts objects, so overrides would leak.
    import tempfile
    lines = []
    for (group, name), value in (overrides or {}).items():
        lines.append('[%s]\n%s = %s\n' % (group, name, value))
    with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                     delete=False) as f:
        f.write(''.join(lines))
    conf = cfg.ConfigOpts()
    vmr_conf.register_all(conf)
    conf(['--config-file', f.name], project='vmr', default_config_files=[])
    os.unlink(f.name)
    return conf


def test_defaults_are_valid_for_both_roles():
    conf = make_conf()
    assert checks.timing_problems(conf, 'agent') == []
    assert checks.timing_problems(conf, 'coordinator') == []


def test_each_invariant_is_named():
    conf = make_conf({('heartbeat', 'interval'): 2.0})
    assert '[heartbeat] interval' in checks.timing_problems(conf, 'agent')[0]
    conf = make_conf({('coordinator', 'period'): 2.0})
    problems = checks.timing_problems(conf, 'coordinator')
    assert any('[coordinator] period' in p for p in problems)
    conf = make_conf({('etcd', 'election_timeout'): 5.0})
    assert 'election_timeout' in checks.timing_problems(conf, 'agent')[0]
    conf = make_conf({('coordinator', 'leader_margin'): 3.0})
    assert any('leader_margin' in p
               for p in checks.timing_problems(conf, 'coordinator'))


def test_sparse_leader_watch_is_a_warning_not_an_error():
    conf = make_conf({('coordinator', 'probe_timeout'): 1.0,
                      ('coordinator', 'watch_interval'): 0.5})
    assert checks.timing_problems(conf, 'coordinator') == []
    [warning] = checks.timing_warnings(conf, 'coordinator')
    assert 'watch_interval (0.5)' in warning and 'lost reply' in warning
    assert checks.timing_warnings(make_conf(), 'coordinator') == []
    assert checks.timing_warnings(conf, 'agent') == []


def test_etcd_versions_with_the_read_only_txn_panic():
    from vmr_coordinator.service import etcd_version_at_risk
    assert etcd_version_at_risk('3.5.1') and etcd_version_at_risk('3.5.4')
    assert not etcd_version_at_risk('3.5.5')
    assert not etcd_version_at_risk('3.4.23')
    assert not etcd_version_at_risk('3.6.0') and not etcd_version_at_risk('')


def test_isolation_actions_that_would_do_nothing_are_problems():
    assert checks.agent_problems(make_conf()) == []
    [problem] = checks.agent_problems(make_conf(
        {('agent', 'isolation_action'): 'stop-instances'}))
    assert problem.startswith('[agent] isolation_action = stop-instances '
                              'needs [agent] isolation_command')
    assert checks.agent_problems(make_conf(
        {('agent', 'isolation_action'): 'stop-instances',
         ('agent', 'isolation_command'): 'virsh destroy --all'})) == []
    [problem] = checks.agent_problems(make_conf(
        {('agent', 'isolation_action'): 'watchdog-reboot'}))
    assert 'watchdog_enabled = true' in problem
