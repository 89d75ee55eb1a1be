"""The trigger plugin interface and its loader.

A *trigger event* is a plain dict describing one thing that failed, e.g.
``{'type': 'host_down', 'host': 'compute-3'}``. A trigger plugin knows three
things about its events: whether a contract's ``trigger`` section reacts to an
event (:meth:`Trigger.matches`), which servers an event concerns
(:meth:`Trigger.affects`) and how to say it in one line (:meth:`Trigger.describe`).
Plugins are pure: no I/O, so matching can be unit-tested and replayed.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from vmr_coordinator import plugins

NAMESPACE = plugins.TRIGGERS


class TriggerEventError(ValueError):
    """A trigger event is malformed (missing or mistyped field)."""


class TriggerNotFound(LookupError):
    """No trigger plugin is installed under the requested name."""


class Trigger:
    """Base class of trigger plugins.

    Subclasses set :attr:`type` and :attr:`event_fields` and override
    :meth:`matches`, :meth:`affects` and :meth:`describe` where the defaults
    do not fit.
    """

    #: The trigger type, equal to its entry point name.
    type: ClassVar[str] = ''
    #: Required event fields and their Python types, checked by validate_event().
    event_fields: ClassVar[dict[str, Any]] = {}

    def validate_event(self, event: Any) -> None:
        """Raise :class:`TriggerEventError` unless ``event`` is well-formed."""
        if not isinstance(event, Mapping):
            raise TriggerEventError(
                f'{self.type} event must be a mapping, got {type(event).__name__}')
        if event.get('type') != self.type:
            raise TriggerEventError(
                f'{self.type} event has type {event.get("type")!r}')
        for name, kind in self.event_fields.items():
            value = event.get(name)
            if not isinstance(value, kind) or value in ('', [], ()):
                raise TriggerEventError(
                    f'{self.type} event needs field {name!r} '
                    f'({_kind_name(kind)}), got {value!r}')

    def matches(self, trigger_spec: Mapping, event: Mapping) -> bool:
        """Whether a contract's ``trigger`` section reacts to ``event``.

        The default compares types only; plugins add their own filters.
        """
        return (isinstance(trigger_spec, Mapping) and isinstance(event, Mapping)
                and trigger_spec.get('type') == self.type
                and event.get('type') == self.type)

    def affects(self, event: Mapping, server: Any) -> bool:
        """Whether ``server`` (a ServerFacts) is concerned by ``event``.

        The default: servers on the event's host.
        """
        host = event.get('host')
        return bool(host) and getattr(server, 'host', None) == host

    def describe(self, event: Mapping) -> str:
        """One line saying what happened, for logs and the journal."""
        return f'{self.type} event'


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: 'a string', list: 'a list', dict: 'a mapping', int: 'an integer'}
    return ' or '.join(names.get(k, k.__name__) for k in kinds)


def installed_triggers() -> list[str]:
    """Names of the trigger plugins that load, sorted."""
    return sorted(plugins.plugin_classes(NAMESPACE))


def load_trigger(trigger_type: str) -> Trigger:
    """Return the trigger plugin registered as ``trigger_type`` in ``vmr.triggers``.

    Raises :class:`TriggerNotFound` naming the installed plugins when there is
    none (or it fails to import).
    """
    if not isinstance(trigger_type, str):
        raise TriggerNotFound(f'trigger type must be a string, got {trigger_type!r}')
    try:
        cls = plugins.plugin_class(NAMESPACE, trigger_type)
    except plugins.PluginError as exc:
        raise TriggerNotFound(str(exc)) from exc
    return cls()   # plugins are stateless: an instance costs nothing
