"""What oslo.config lets through or words badly: unknown options, bad values.

oslo.config ignores an option it does not know (``ttll`` for ``ttl``) and
reports a bad value with a Python repr of where it came from.  These
functions read the same files and say, one line each, which option of which
file is wrong and what it should be.
"""

import difflib
import glob
import os

from oslo_config import cfg
from oslo_config import types

#: sections of other libraries VMR services read (their options depend on
#: plugins, e.g. keystonemiddleware's auth_type): not checked option by option
FOREIGN_SECTIONS = frozenset({
    'keystone_authtoken', 'oslo_policy', 'oslo_middleware', 'cors',
    'oslo_concurrency', 'oslo_reports'})


def config_files(conf):
    """The files ``conf`` was parsed from, in order (config dir included)."""
    files = list(conf.config_file or [])
    config_dir = getattr(conf, 'config_dir', None)
    if config_dir:
        files.extend(sorted(glob.glob(os.path.join(config_dir, '*.conf'))))
    return files


def parse_files(conf):
    """``[(path, {section: {name: [values]}})]`` of every config file.

    A file that cannot be parsed is skipped: oslo.config has reported it
    already when it read the same file.
    """
    parsed = []
    for path in config_files(conf):
        sections = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except (OSError, cfg.ParseError):
            continue
        parsed.append((path, sections))
    return parsed


def known_options(conf):
    """``{section: set of option names}`` registered on ``conf``."""
    known = {'DEFAULT': set()}
    for name in conf:
        value = conf[name] if name in conf else None
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            known[name] = set(value)
        else:
            known['DEFAULT'].add(name)
    return known


def _suggest(word, candidates):
    close = difflib.get_close_matches(word, sorted(candidates), n=1,
                                      cutoff=0.6)
    return close[0] if close else None


def unknown_option_problems(conf, parsed=None):
    """One sentence per option or section in a file that ``conf`` does not
    know, with the nearest known name when there is one."""
    known = known_options(conf)
    problems = []
    for path, sections in parsed if parsed is not None else parse_files(
            conf):
        for section, options in sections.items():
            if section in FOREIGN_SECTIONS:
                continue
            if section not in known:
                guess = _suggest(section, set(known) - {'DEFAULT'})
                problems.append(
                    'unknown section [%s] in %s%s; rename or remove it'
                    % (section, path,
                       ' (did you mean [%s]?)' % guess if guess else ''))
                continue
            for name in options:
                if name in known[section]:
                    continue
                guess = _suggest(name, known[section])
                problems.append(
                    'unknown option [%s] %s in %s%s; rename or remove it'
                    % (section, name, path,
                       ' (did you mean %s?)' % guess if guess else ''))
    return problems


def expected(opt):
    """What a valid value of ``opt`` looks like, in words."""
    kind = opt.type
    if isinstance(kind, types.Boolean):
        text = 'true or false'
    elif getattr(kind, 'choices', None):
        text = 'one of: %s' % ', '.join(str(c) for c in kind.choices)
    elif isinstance(kind, types.Integer):
        text = 'a whole number'
    elif isinstance(kind, types.Float):
        text = 'a number'
    elif isinstance(kind, types.List):
        text = 'a comma-separated list'
    else:
        text = 'a string'
    low, high = getattr(kind, 'min', None), getattr(kind, 'max', None)
    if low is not None and high is not None:
        text += ' from %s to %s' % (low, high)
    elif low is not None:
        text += ' >= %s' % low
    elif high is not None:
        text += ' <= %s' % high
    if opt.default is not None and not opt.secret:
        text += ' (default %s)' % (','.join(map(str, opt.default))
                                   if isinstance(opt.default, list)
                                   else opt.default)
    return text


def _raw_value(parsed, section, name):
    """``(value, path)`` of the last setting of ``[section] name``."""
    found = (None, None)
    for path, sections in parsed:
        values = sections.get(section, {}).get(name)
        if values:
            found = (values[-1], path)
    return found


def value_problems(conf, opts, parsed=None):
    """One sentence per option whose value does not parse.

    ``opts`` is ``[(group or None, [Opt])]`` (``list_opts()`` format).
    """
    parsed = parse_files(conf) if parsed is None else parsed
    problems = []
    for group, group_opts in opts:
        section = 'DEFAULT' if group is None else group.name
        for opt in group_opts:
            try:
                (getattr(conf, opt.dest) if group is None
                 else getattr(getattr(conf, group.name), opt.dest))
            except (cfg.Error, ValueError):
                raw, path = _raw_value(parsed, section, opt.dest)
                shown = '***' if opt.secret else raw
                problems.append(
                    '[%s] %s = %s%s is not valid: expected %s'
                    % (section, opt.dest, shown,
                       ' in %s' % path if path else '', expected(opt)))
    return problems
