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
from vmr_common.conf import validation
from vmr_common import exceptions


def fail(prog, message):
    """Print ``prog: error: message`` on stderr and exit 1."""
    sys.stderr.write('%s: error: %s\n' % (prog, message))
    sys.exit(1)


CHECK_OPT = cfg.BoolOpt(
    'check', default=False,
    help='Check the configuration and what it points at (etcd; for a '
         'coordinator also fence profiles, the cloud and contracts), print '
         'one line per problem and exit: 0 when everything is usable, 1 '
         'otherwise. Nothing is changed.')


def _register_check(conf):
    try:
        conf.register_cli_opt(CHECK_OPT)
    except cfg.ArgsAlreadyParsedError:
        conf.clear()
        conf.register_cli_opt(CHECK_OPT)


def prepare(prog, role, argv=None, description=None):
    """Parse ``argv`` into the process ConfigOpts, set up logging, validate.

    Returns the ConfigOpts.  Exits 1 with one line on any configuration
    problem (unknown file, bad value, broken timing invariant).  Unknown
    options are warned about; with ``--check`` they are problems, and
    every problem is listed on a line of its own (see :func:`run_check`).
    """
    # The process-wide CONF: plugins (fencers, actions) loaded by stevedore
    # read their options from it.
    conf = cfg.CONF
    vmr_conf.register_all(conf)
    oslo_log.register_options(conf)
    _register_check(conf)
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
    problems = config_problems(conf, role)
    if conf.check:
        return conf
    if problems:
        fail(prog, problems[0] if len(problems) == 1 else
             'invalid configuration: ' + '; '.join(problems))
    oslo_log.setup(conf, 'vmr')
    logging.getLogger('urllib3').setLevel(logging.WARNING)
    logging.getLogger('tooz').setLevel(logging.WARNING)
    log = logging.getLogger(prog)
    for warning in config_warnings(conf, role):
        log.warning('configuration: %s', warning)
    return conf


def config_problems(conf, role):
    """Every problem of the parsed configuration that stops a service.

    One sentence each: bad values (naming file, option and what is
    expected), broken timing invariants, settings that would silently do
    nothing, inconsistent etcd settings.  No I/O besides reading the
    config files again.
    """
    parsed = validation.parse_files(conf)
    problems = validation.value_problems(conf, _all_opts(), parsed)
    if problems:
        return problems  # the checks below would trip over the same values
    problems.extend(checks.timing_problems(conf, role))
    if role == 'agent':
        problems.extend(checks.agent_problems(conf))
    if conf.etcd.cert_file and not conf.etcd.key_file:
        problems.append('[etcd] cert_file is set but key_file is not: set '
                        'both for TLS client authentication')
    if conf.etcd.username and not conf.etcd.password:
        problems.append('[etcd] username is set but password is not')
    try:
        from vmr_common.store import Store
        Store.from_conf(conf)  # validates the endpoint URLs, no I/O
    except (exceptions.ConfigError, ValueError) as exc:
        problems.append(str(exc).splitlines()[0])
    return problems


def config_warnings(conf, role):
    """Sentences about settings that work but may not be what was meant:
    unknown options (typos) and timing that weakens a guarantee."""
    return (validation.unknown_option_problems(conf)
            + checks.timing_warnings(conf, role))


def run_check(prog, conf, role, checks_of_role=()):
    """``--check``: print every problem on its own line and exit.

    ``checks_of_role`` are callables ``(conf) -> [sentence]`` run after the
    configuration checks (etcd, fence profiles, cloud...).  Exit status 0
    when nothing is wrong, 1 otherwise; warnings do not count.
    """
    # Libraries the checks use may log; only their errors are worth seeing
    # next to the problem lines.
    logging.basicConfig(level=logging.ERROR, format='%(name)s: %(message)s')
    problems = config_problems(conf, role)
    values_ok = not problems
    problems.extend(validation.unknown_option_problems(conf))
    warnings = checks.timing_warnings(conf, role)
    if values_ok:
        for check in checks_of_role:
            problems.extend(check(conf))
    for warning in warnings:
        sys.stdout.write('warning: %s\n' % warning)
    for problem in problems:
        sys.stdout.write('problem: %s\n' % problem)
    if problems:
        sys.stdout.write('%s --check: %d problem%s\n' % (
            prog, len(problems), '' if len(problems) == 1 else 's'))
        sys.stdout.flush()
        sys.exit(1)
    sys.stdout.write('%s --check: OK\n' % prog)
    sys.stdout.flush()
    sys.exit(0)


def _all_opts():
    from vmr_common.conf import opts
    return opts.list_opts()
