"""Start-up shared by vmr-agent and vmr-coordinator: config, logging, checks.

A user who gets the configuration wrong sees one line naming the option and
the fix, and exit status 1 — never a traceback.
"""

import logging
import sys

from oslo_config import cfg
from oslo_log import log as oslo_log

import vmr_common
from vmr_common import conf as vmr_conf
from vmr_common.conf import checks
from vmr_common import exceptions


def fail(prog, message):
    """Print ``prog: error: message`` on stderr and exit 1."""
    sys.stderr.write('%s: error: %s\n' % (prog, message))
    sys.exit(1)


def prepare(prog, role, argv=None, description=None):
    """Parse ``argv`` into a fresh ConfigOpts, set up logging, validate.

    Returns the ConfigOpts.  Exits 1 with one line on any configuration
    problem (unknown file, bad value, broken timing invariant).
    """
    # The process-wide CONF: plugins (fencers, actions) loaded by stevedore
    # read their options from it.
    conf = cfg.CONF
    vmr_conf.register_all(conf)
    oslo_log.register_options(conf)
    try:
        conf(argv if argv is not None else sys.argv[1:], project='vmr',
             prog=prog, version=vmr_common.__version__,
             description=description,
             default_config_files=[])
    except cfg.ConfigFilesNotFoundError as exc:
        fail(prog, 'config file not found: %s; pass an existing file with '
                   '--config-file' % ', '.join(exc.config_files))
    except cfg.Error as exc:
        fail(prog, str(exc).splitlines()[0])
    try:
        # Touch every option once so type errors in the files surface now.
        for group, opts in _all_opts():
            for opt in opts:
                (getattr(conf, opt.dest) if group is None
                 else getattr(getattr(conf, group.name), opt.dest))
        checks.check_timing(conf, role)
        problems = checks.agent_problems(conf) if role == 'agent' else []
        if problems:
            raise exceptions.ConfigError('; '.join(problems))
        if conf.etcd.cert_file and not conf.etcd.key_file:
            raise exceptions.ConfigError(
                '[etcd] cert_file is set but key_file is not: set both for '
                'TLS client authentication')
        from vmr_common.store import Store
        Store.from_conf(conf)  # validates the endpoint URLs, no I/O
        if conf.etcd.username and not conf.etcd.password:
            raise exceptions.ConfigError(
                '[etcd] username is set but password is not')
    except (cfg.Error, ValueError) as exc:
        fail(prog, 'invalid configuration: %s' % str(exc).splitlines()[0])
    except (checks.TimingError, exceptions.ConfigError) as exc:
        fail(prog, str(exc))
    oslo_log.setup(conf, 'vmr')
    logging.getLogger('urllib3').setLevel(logging.WARNING)
    logging.getLogger('tooz').setLevel(logging.WARNING)
    for warning in checks.timing_warnings(conf, role):
        logging.getLogger(prog).warning('configuration: %s', warning)
    return conf


def _all_opts():
    from vmr_common.conf import opts
    return opts.list_opts()
