"""Fence profiles: which fencers, in which order, with which credentials.

The profiles file lives on the coordinators only (never in etcd) and holds
BMC passwords, so :meth:`FenceProfiles.load` refuses it when group or
others have any access to it.  Layout (see
``etc/vmr/fence-profiles.yaml.example``)::

    profiles:
      rack1:
        hosts:                      # a list, or a mapping host -> overrides
          compute-1: {address: 10.0.0.11}
          compute-2: {address: 10.0.0.12, port: 6232}
          "rack1-*": {address: "{host}-bmc.mgmt"}
        ladder:                     # tried in order until one proves "off"
          - {driver: ipmi, username: admin, password: secret, timeout: 10}
          - {driver: fence_agent, agent: fence_ipmilan, username: admin,
             password: secret, options: {lanplus: 1}}
        post:                       # after a verified fence only
          - {driver: nova_force_down, disable: true}
      default:                      # hosts no other profile names
        ladder: [{driver: watchdog}]

Per-host overrides: a plain key (``address: ...``) goes to every rung whose
fencer accepts that option; a key named after a driver
(``ipmi: {port: 6231}``) goes to that driver's rungs only.  The string
``{host}`` in a non-secret option is replaced by the host name.

Host lookup order: exact names (any profile), then patterns (``fnmatch``)
in file order, then the profile called ``default``.
"""

import dataclasses
import fnmatch
import os
import stat

import yaml

from vmr_coordinator.fencing import base

DEFAULT_PROFILE = 'default'
_RUNG_KEYS = ('driver', 'timeout')
_PATTERN_CHARS = set('*?[')


def _is_pattern(name):
    return bool(_PATTERN_CHARS & set(name))


@dataclasses.dataclass(frozen=True, repr=False)
class FenceRung:
    """One step of a profile: a fencer name, its options and its timeout.

    ``options`` holds secrets; ``repr``/``str``/:meth:`describe` never
    show them.
    """

    driver: str
    options: dict
    timeout: float | None
    index: int
    kind: str = 'ladder'

    @property
    def label(self):
        """``"rung 2 (ipmi)"`` or ``"post step 1 (nova_force_down)"``."""
        what = 'rung' if self.kind == 'ladder' else 'post step'
        return '%s %d (%s)' % (what, self.index, self.driver)

    def describe(self):
        """A dict safe to log or journal (secrets redacted)."""
        return {'driver': self.driver, 'timeout': self.timeout,
                'options': base.redact_options(self.options)}

    def __repr__(self):
        return '<FenceRung %s timeout=%s %s>' % (
            self.label, self.timeout, base.redact_options(self.options))

    __str__ = __repr__


@dataclasses.dataclass(frozen=True, repr=False)
class FenceProfile:
    """A named ladder of fencers plus the post-fence steps.

    When returned by :meth:`FenceProfiles.profile_for`, ``host`` is set and
    the rungs already carry that host's overrides.
    """

    name: str
    hosts: tuple
    ladder: tuple
    post: tuple = ()
    host: str | None = None
    path: str | None = None

    def context(self, rung):
        """Prefix for errors about ``rung``: names the profile to fix."""
        return "fence profile '%s', %s %d" % (
            self.name, 'rung' if rung.kind == 'ladder' else 'post step',
            rung.index)

    def describe(self):
        """A dict safe to log or journal (secrets redacted)."""
        return {'name': self.name, 'host': self.host,
                'ladder': [r.describe() for r in self.ladder],
                'post': [r.describe() for r in self.post]}

    def __repr__(self):
        return '<FenceProfile %s%s ladder=%s post=%s>' % (
            self.name, ' for %s' % self.host if self.host else '',
            [r.driver for r in self.ladder], [r.driver for r in self.post])

    __str__ = __repr__


class FenceProfiles:
    """Every fence profile of one profiles file, and host lookup."""

    def __init__(self, profiles, path=None):
        self.path = path
        # name -> FenceProfile (host-independent)
        self.profiles = dict(profiles)
        self._exact = {}      # host -> (profile name, overrides)
        self._patterns = []   # (pattern, profile name, overrides), file order
        for profile in self.profiles.values():
            for host, overrides in profile.hosts:
                if _is_pattern(host):
                    self._patterns.append((host, profile.name, overrides))
                    continue
                if host in self._exact:
                    raise base.FenceConfigError(
                        "%s: host '%s' is listed in fence profiles '%s' and "
                        "'%s'; list it in one only"
                        % (self._where(), host, self._exact[host][0],
                           profile.name))
                self._exact[host] = (profile.name, overrides)

    def _where(self):
        return 'fence profiles file %s' % self.path if self.path \
            else 'fence profiles'

    # -- loading ----------------------------------------------------------
    @classmethod
    def load(cls, path):
        """Read and check ``path``; refuse it when group/others can access it."""
        path = os.fspath(path)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise base.FenceConfigError(
                'fence profiles file %s cannot be read: %s (set [fencing] '
                'profiles_file)' % (path, exc.strerror or exc))
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise base.FenceConfigError(
                'fence profiles file %s has mode %04o: it holds BMC '
                'credentials and must not be accessible to group or others; '
                'fix: chmod 0600 %s' % (path, mode, path))
        try:
            with open(path, encoding='utf-8') as handle:
                data = yaml.safe_load(handle)
        except yaml.MarkedYAMLError as exc:
            # Never echo the offending snippet: it may be a password line.
            mark = exc.problem_mark
            raise base.FenceConfigError(
                'fence profiles file %s: invalid YAML at line %s, column %s: '
                '%s' % (path, mark.line + 1 if mark else '?',
                        mark.column + 1 if mark else '?',
                        exc.problem or 'syntax error'))
        except (OSError, yaml.YAMLError) as exc:
            raise base.FenceConfigError(
                'fence profiles file %s cannot be read: %s'
                % (path, type(exc).__name__))
        return cls.from_dict(data, path=path)

    @classmethod
    def from_dict(cls, data, path=None):
        """Build profiles from the parsed file contents (checks structure)."""
        where = 'fence profiles file %s' % path if path else 'fence profiles'
        if not isinstance(data, dict) or not isinstance(
                data.get('profiles'), dict) or not data['profiles']:
            raise base.FenceConfigError(
                "%s: expected a top-level 'profiles:' mapping of profile "
                "name -> {hosts, ladder, post}" % where)
        unknown = sorted(set(data) - {'profiles'})
        if unknown:
            raise base.FenceConfigError('%s: unknown top-level key(s): %s'
                                        % (where, ', '.join(unknown)))
        profiles = {}
        for name, body in data['profiles'].items():
            profiles[str(name)] = _parse_profile(str(name), body, where, path)
        return cls(profiles, path=path)

    # -- lookup -----------------------------------------------------------
    def match(self, host):
        """``(profile name, overrides)`` for ``host``, or ``None``."""
        if host in self._exact:
            return self._exact[host]
        for pattern, name, overrides in self._patterns:
            if fnmatch.fnmatchcase(host, pattern):
                return name, overrides
        if DEFAULT_PROFILE in self.profiles:
            return DEFAULT_PROFILE, {}
        return None

    def profile_for(self, host):
        """The profile for ``host`` with its per-host overrides applied."""
        found = self.match(host)
        if found is None:
            raise base.FenceConfigError(
                "%s: no fence profile for host '%s' (list it under a "
                "profile's 'hosts' or add a '%s' profile)"
                % (self._where(), host, DEFAULT_PROFILE))
        name, overrides = found
        profile = self.profiles[name]
        return dataclasses.replace(
            profile, host=host,
            ladder=tuple(_apply(r, host, overrides) for r in profile.ladder),
            post=tuple(_apply(r, host, overrides) for r in profile.post))

    def validate(self, conf=None):
        """Load every fencer of every exactly named host; list the errors.

        Run at start-up so a typo shows before an outage.  Hosts matched by
        patterns are checked when fenced (their options may differ).
        """
        errors = self._unused_overrides()
        hosts = sorted(self._exact)
        if DEFAULT_PROFILE in self.profiles:
            hosts.append(None)
        for host in hosts:
            profile = (self.profile_for(host) if host is not None
                       else self.profiles[DEFAULT_PROFILE])
            for rung in profile.ladder + profile.post:
                try:
                    fencer = base.load_fencer(rung.driver, rung.options, conf,
                                              context=profile.context(rung))
                except base.FenceConfigError as exc:
                    errors.append(str(exc))
                    continue
                if rung.kind == 'ladder' and not fencer.is_fence:
                    errors.append(
                        '%s (%s): %s does not power hosts off, it cannot be '
                        "a ladder rung; move it under 'post'"
                        % (profile.context(rung), rung.driver, rung.driver))
        return sorted(set(errors))

    def _unused_overrides(self):
        """Per-host override keys no rung of their profile takes (typos)."""
        errors = []
        for profile in self.profiles.values():
            rungs = profile.ladder + profile.post
            drivers = {r.driver for r in rungs}
            classes = [base.fencer_class(d) for d in drivers]
            for host, overrides in profile.hosts:
                for key, value in overrides.items():
                    if key in drivers and isinstance(value, dict):
                        continue
                    if any(key in r.options for r in rungs) or any(
                            c is not None and c.accepts_option(key)
                            for c in classes):
                        continue
                    errors.append(
                        "fence profile '%s', host '%s': override '%s' is "
                        'not an option of any of its fencers (%s)'
                        % (profile.name, host, key,
                           ', '.join(sorted(drivers))))
        return errors

    def __repr__(self):
        return '<FenceProfiles %s: %s>' % (self.path or '-',
                                           ', '.join(sorted(self.profiles)))


def _parse_profile(name, body, where, path):
    if not isinstance(body, dict):
        raise base.FenceConfigError("%s: fence profile '%s' must be a mapping"
                                    % (where, name))
    unknown = sorted(set(body) - {'hosts', 'ladder', 'post'})
    if unknown:
        raise base.FenceConfigError(
            "%s: fence profile '%s': unknown key(s) %s (known: hosts, "
            "ladder, post)" % (where, name, ', '.join(unknown)))
    hosts = _parse_hosts(name, body.get('hosts') or [], where)
    ladder = body.get('ladder')
    if not isinstance(ladder, list) or not ladder:
        raise base.FenceConfigError(
            "%s: fence profile '%s' needs a non-empty 'ladder' list"
            % (where, name))
    post = body.get('post') or []
    if not isinstance(post, list):
        raise base.FenceConfigError("%s: fence profile '%s': 'post' must be "
                                    "a list" % (where, name))
    return FenceProfile(
        name=name, hosts=hosts,
        ladder=tuple(_parse_rung(name, i, r, 'ladder', where)
                     for i, r in enumerate(ladder, 1)),
        post=tuple(_parse_rung(name, i, r, 'post', where)
                   for i, r in enumerate(post, 1)),
        path=path)


def _parse_hosts(name, hosts, where):
    if isinstance(hosts, list):
        entries = [(h, None) for h in hosts]
    elif isinstance(hosts, dict):
        entries = list(hosts.items())
    else:
        raise base.FenceConfigError(
            "%s: fence profile '%s': 'hosts' must be a list of names/patterns "
            "or a mapping name -> overrides" % (where, name))
    parsed = []
    for host, overrides in entries:
        if not isinstance(host, str) or not host:
            raise base.FenceConfigError(
                "%s: fence profile '%s': host names must be strings"
                % (where, name))
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, dict):
            raise base.FenceConfigError(
                "%s: fence profile '%s', host '%s': overrides must be a "
                "mapping of option -> value" % (where, name, host))
        parsed.append((host, dict(overrides)))
    return tuple(parsed)


def _parse_rung(name, index, rung, kind, where):
    label = "%s: fence profile '%s', %s %d" % (
        where, name, 'rung' if kind == 'ladder' else 'post step', index)
    if not isinstance(rung, dict) or not isinstance(rung.get('driver'), str):
        raise base.FenceConfigError("%s: expected a mapping with a 'driver' "
                                    "name" % label)
    timeout = rung.get('timeout')
    if timeout is not None:
        if (isinstance(timeout, bool)
                or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise base.FenceConfigError(
                '%s (%s): timeout must be a positive number of seconds'
                % (label, rung['driver']))
        timeout = float(timeout)
    options = {k: v for k, v in rung.items() if k not in _RUNG_KEYS}
    return FenceRung(driver=rung['driver'], options=options, timeout=timeout,
                     index=index, kind=kind)


def _apply(rung, host, overrides):
    """``rung`` with ``host``'s overrides and ``{host}`` substitution."""
    options = dict(rung.options)
    if overrides:
        cls = base.fencer_class(rung.driver)
        for key, value in overrides.items():
            if key == rung.driver and isinstance(value, dict):
                options.update(value)
            elif isinstance(value, dict) and base.fencer_class(key):
                continue  # another driver's section
            elif key in options or (cls is not None
                                    and cls.accepts_option(key)):
                options[key] = value
    options = {k: _substitute(k, v, host) for k, v in options.items()}
    return dataclasses.replace(rung, options=options)


def _substitute(key, value, host):
    if isinstance(value, str) and not base.is_secret_option(key):
        return value.replace('{host}', host)
    if isinstance(value, dict):
        return {k: _substitute(k, v, host) for k, v in value.items()}
    return value
