"""The fencer interface: power a failed host off and prove it.

A *fencer* is a plugin in the ``vmr.fencers`` namespace, loaded by
:mod:`vmr_coordinator.plugins` (through :func:`load_fencer`).  The
healer never calls one directly: :func:`vmr_coordinator.fencing.ladder.run_ladder`
tries the rungs of a host's fence profile in order until one returns a
:class:`FenceResult` with ``verified=True``.

Rules every fencer follows:

* ``fence`` returns a result, it does not raise for a failure the operator
  can fix (unreachable BMC, wrong password, agent failed): the result's
  ``error`` says what happened and which thing to look at.
* Nothing a fencer returns or raises contains a secret from its options.
* ``verified`` means *proven off*: a power-off that was accepted but not
  confirmed is not verified.
"""

import abc
import dataclasses
import enum
import re
import threading
import types

from vmr_coordinator import plugins

NAMESPACE = plugins.FENCERS

#: Option names (or suffixes) whose values are secrets.
SECRET_OPTION_NAMES = ('password', 'passwd', 'secret', 'token', 'kg',
                       'community', 'api_key')
REDACTED = '***'


class FenceError(Exception):
    """A fencing problem described for an operator (never holds a secret)."""


class FenceConfigError(FenceError):
    """A fence profile or fencer option is wrong: names the thing to fix."""


class PowerState(str, enum.Enum):
    """Power state of a host as its BMC (or other evidence) reports it."""

    ON = 'on'
    OFF = 'off'
    UNKNOWN = 'unknown'

    def __str__(self):
        return self.value


@dataclasses.dataclass
class FenceTarget:
    """The host to fence and everything a fencer may need to know about it.

    ``now`` is injected (wall clock, seconds) so decisions that depend on
    time, like the watchdog fencer's, are testable.
    """

    host: str
    record: dict = dataclasses.field(default_factory=dict)
    absent_since: float | None = None
    now: float | None = None
    cloud: object = None


@dataclasses.dataclass
class FenceResult:
    """What one fencer did to one host, and the proof.

    ``evidence`` is a short sentence an operator can read in the journal,
    e.g. ``"ipmi 127.0.0.1:6231: chassis power off, then 2 polls: off
    after 0.31 s"``.
    """

    verified: bool
    method: str
    evidence: str = ''
    duration: float = 0.0
    error: str | None = None
    power_state: PowerState = PowerState.UNKNOWN
    #: x-openstack-request-id of each changing OpenStack call (DESIGN §7b)
    request_ids: list = dataclasses.field(default_factory=list)

    def to_dict(self):
        """A JSON-serialisable dict for the recovery journal."""
        doc = {
            'verified': bool(self.verified),
            'method': self.method,
            'evidence': self.evidence,
            'duration': round(float(self.duration), 3),
            'error': self.error,
            'power_state': PowerState(self.power_state).value,
        }
        if self.request_ids:
            doc['request_ids'] = list(self.request_ids)
        return doc

    def summary(self):
        """One line: evidence when verified, the error otherwise."""
        if self.verified:
            return '%s: %s' % (self.method, self.evidence)
        return '%s: %s' % (self.method, self.error or self.evidence
                           or 'not verified')


def is_secret_option(name):
    """True when an option called ``name`` holds a secret."""
    lowered = str(name).lower()
    return any(lowered == s or lowered.endswith('_' + s)
               for s in SECRET_OPTION_NAMES)


def redact_options(options):
    """A copy of ``options`` (nested dicts too) with secret values masked."""
    redacted = {}
    for key, value in (options or {}).items():
        if is_secret_option(key):
            redacted[key] = REDACTED
        elif isinstance(value, dict):
            redacted[key] = redact_options(value)
        else:
            redacted[key] = value
    return redacted


def secret_values(options):
    """Every secret value in ``options`` (nested), to scrub texts with."""
    found = []
    for key, value in (options or {}).items():
        if isinstance(value, dict):
            found.extend(secret_values(value))
        elif is_secret_option(key) and value not in (None, ''):
            found.append(str(value))
    return found


def scrub(text, secrets):
    """``text`` with every occurrence of each secret replaced by ``***``.

    Defence in depth: fencers never put secrets in texts on purpose, but a
    library error message might echo one back.
    """
    if text is None:
        return None
    text = str(text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def fencing_settings(conf):
    """The ``[fencing]`` options of ``conf``, or their defaults.

    Lets fencers and the ladder run with ``conf=None`` in unit tests and
    tools that have not registered the options.
    """
    from vmr_common.conf import fencing as fencing_conf

    group = getattr(conf, 'fencing', None) if conf is not None else None
    values = {}
    for opt in fencing_conf.OPTS:
        name = opt.dest
        values[name] = getattr(group, name, opt.default) if group is not None \
            else opt.default
    return types.SimpleNamespace(**values)


class Fencer(abc.ABC):
    """Base of every fencer.

    Subclasses declare their options: ``required_options`` (names) and
    ``optional_options`` (name -> default).  Unknown or missing options are
    refused at construction with :class:`FenceConfigError`, so a typo in a
    fence profile shows at start-up, not during an outage.
    """

    #: entry point name; :func:`load_fencer` sets it on the instance too
    name = None
    #: False for steps that do not power anything off (nova_force_down)
    is_fence = True
    #: True when what ``fence`` changed must be undone (:meth:`unfence`) once
    #: the host returns with a new boot id (nova_force_down's forced_down)
    undone_on_return = False
    required_options = ()
    optional_options = {}

    def __init__(self, options, conf):
        self.conf = conf
        self.settings = fencing_settings(conf)
        self.options = self._check_options(dict(options or {}))
        self._secrets = secret_values(self.options)

    @classmethod
    def accepts_option(cls, key):
        """True when ``key`` is an option this fencer understands."""
        return key in cls.required_options or key in cls.optional_options

    def _check_options(self, options):
        for key in self.required_options:
            if options.get(key) in (None, ''):
                raise FenceConfigError("missing option '%s'" % key)
        unknown = sorted(k for k in options if not self.accepts_option(k))
        if unknown:
            known = sorted(set(self.required_options)
                           | set(self.optional_options))
            raise FenceConfigError(
                'unknown option%s %s (known: %s)' % (
                    's' if len(unknown) > 1 else '',
                    ', '.join("'%s'" % k for k in unknown),
                    ', '.join(known) or 'none'))
        merged = dict(self.optional_options)
        merged.update(options)
        return merged

    def scrub(self, text):
        """``text`` with this fencer's secrets masked."""
        return scrub(text, self._secrets)

    def result(self, verified, evidence='', duration=0.0, error=None,
               power_state=PowerState.UNKNOWN):
        """Build a :class:`FenceResult` for this fencer, secrets scrubbed."""
        return FenceResult(verified=bool(verified), method=self.name,
                           evidence=self.scrub(evidence) or '',
                           duration=float(duration),
                           error=self.scrub(error),
                           power_state=PowerState(power_state))

    @abc.abstractmethod
    def status(self, target):
        """Current :class:`PowerState` of ``target`` (UNKNOWN if unsure)."""

    @abc.abstractmethod
    def fence(self, target, timeout):
        """Power ``target`` off and prove it within ``timeout`` seconds."""

    def unfence(self, target):
        """Power ``target`` back on (operator request); not all fencers can."""
        return self.result(False, error='%s cannot power hosts on' % self.name)

    def describe(self):
        """This fencer and its options, secrets redacted (safe to log)."""
        return {'driver': self.name, 'is_fence': self.is_fence,
                'options': redact_options(self.options)}

    def __repr__(self):
        return '<%s %s>' % (type(self).__name__, redact_options(self.options))


_DRIVER_NAME = re.compile(r'^[a-z][a-z0-9_]*$')


def load_fencer(name, options, conf, context=None):
    """Instantiate the ``vmr.fencers`` plugin ``name`` with ``options``.

    ``context`` (e.g. ``"fence profile 'rack1', rung 1"``) prefixes every
    error so the operator knows which profile entry to fix.  The ``noop``
    fencer is refused unless ``[fencing] allow_unsafe_fencing`` is true.
    """
    where = '%s (%s)' % (context, name) if context else 'fencer %r' % name
    if not isinstance(name, str) or not _DRIVER_NAME.match(name):
        raise FenceConfigError('%s: invalid driver name' % where)
    if name == 'noop' and not fencing_settings(conf).allow_unsafe_fencing:
        raise FenceConfigError(
            '%s: the noop fencer proves nothing and is refused unless '
            '[fencing] allow_unsafe_fencing = true (tests only)' % where)
    try:
        cls = plugins.plugin_class(NAMESPACE, name)
    except plugins.PluginNotFound as exc:
        raise FenceConfigError('%s: %s' % (where, exc))
    except plugins.PluginLoadError as exc:  # import error inside the module
        raise FenceConfigError('%s: cannot load the fencer: %s'
                               % (where, scrub(exc, secret_values(options))))
    try:
        fencer = cls(options, conf)
    except FenceConfigError as exc:
        raise FenceConfigError('%s: %s' % (where, exc))
    fencer.name = name
    return fencer


def fencer_class(name):
    """The class behind the ``vmr.fencers`` entry point ``name`` (or None)."""
    try:
        return plugins.plugin_class(NAMESPACE, name)
    except plugins.PluginError:
        return None


class _Outcome:
    __slots__ = ('value', 'error')

    def __init__(self):
        self.value = None
        self.error = None


def report_reserve(timeout):
    """Seconds kept at the end of a ``timeout`` to report, not to wait."""
    return min(0.2, 0.2 * float(timeout))


def call_with_deadline(func, timeout, name='vmr-fence'):
    """Run ``func()`` in a daemon thread; wait at most ``timeout`` seconds.

    Returns ``(finished, value, exception)``.  An unfinished call keeps
    running in its daemon thread; its result is discarded.
    """
    outcome = _Outcome()
    done = threading.Event()

    def work():
        try:
            outcome.value = func()
        except BaseException as exc:  # reported to the caller, not lost
            outcome.error = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    finished = done.wait(max(0.0, timeout))
    return finished, outcome.value, outcome.error
