"""Unknown options and bad values: one sentence naming file, option, fix."""

from oslo_config import cfg

from vmr_common import conf as vmr_conf
from vmr_common.conf import opts, validation


def parsed(tmp_path, text):
    path = tmp_path / 'vmr.conf'
    path.write_text(text)
    conf = cfg.ConfigOpts()
    vmr_conf.register_all(conf)
    conf(['--config-file', str(path)], project='vmr',
         default_config_files=[])
    return conf, str(path)


def test_unknown_option_and_section_with_suggestions(tmp_path):
    conf, path = parsed(tmp_path, '[heartbeat]\nttll = 3\nttl = 4\n'
                                  '[heartbeet]\nttl = 3\n'
                                  '[keystone_authtoken]\nanything = 1\n')
    assert validation.unknown_option_problems(conf) == [
        'unknown option [heartbeat] ttll in %s (did you mean ttl?); rename '
        'or remove it' % path,
        'unknown section [heartbeet] in %s (did you mean [heartbeat]?); '
        'rename or remove it' % path]


def test_known_options_only_is_clean(tmp_path):
    conf, _path = parsed(tmp_path, '[DEFAULT]\nhost = a\n[etcd]\n'
                                   'cluster = x\n')
    assert validation.unknown_option_problems(conf) == []
    assert validation.value_problems(conf, opts.list_opts()) == []


def test_bad_values_say_what_is_expected(tmp_path):
    conf, path = parsed(tmp_path, '[heartbeat]\nttl = fast\n'
                                  'transport = pigeon\n'
                                  '[coordinator]\nprobers = many\n'
                                  '[etcd]\npassword = 1\n')
    assert validation.value_problems(conf, opts.list_opts()) == [
        '[heartbeat] ttl = fast in %s is not valid: expected a number >= '
        '2.0 (default 3.0)' % path,
        '[heartbeat] transport = pigeon in %s is not valid: expected one '
        'of: auto, grpc, gateway (default auto)' % path,
        '[coordinator] probers = many in %s is not valid: expected a whole '
        'number >= 0 (default 3)' % path]
