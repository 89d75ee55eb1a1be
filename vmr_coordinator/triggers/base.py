"""The trigger plugin interface and its loader.

A *trigger event* is a plain dict describing one thing that failed, e.g.
``{'type': 'host_down', 'host': 'compute-3'}``. A trigger plugin knows three
things about its events: whether a contract's ``trigger`` section reacts to an
event (:meth:`Trigger.matches`), which servers an event concerns
(:meth:`Trigger.affects`) and how to say it in one line (:meth:`Trigger.describe`).
Plugins are pure: no I/O, so matching can be unit-tested and replayed.

A trigger also *declares* what the engine must do with its events, so the
engine asks the plugin instead of comparing type names:

* :attr:`Trigger.sources`: where its events come from (:data:`EVENT_SOURCES`);
* :attr:`Trigger.needs_fence`: the event's host is dead and must be verified
  off before anything is planned;
* :attr:`Trigger.drains_host`: the event's host is alive and being emptied;
* :attr:`Trigger.refused_actions` and :meth:`Trigger.incompatibility`: the
  actions that make no sense after it (contract validation);
* :meth:`Trigger.expand`, :meth:`Trigger.incident` and
  :meth:`Trigger.polled_statuses` for the intake of queued events and of the
  Nova poll.

:func:`trigger_class` looks a type up for the engine: an unknown type gets
the base class, which declares nothing.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from vmr_coordinator import plugins

NAMESPACE = plugins.TRIGGERS


#: Actions that act on a server where it is, through its own compute service.
IN_PLACE_ACTIONS = ('rebuild', 'reboot', 'suspend', 'resume')

#: Where trigger events come from; each trigger lists its own in ``sources``.
EVENT_SOURCES = {
    'host-detection': 'the detection declares a host failed (its lease expired '
                      'and no prober reaches it)',
    'agent-report': "an agent reports it in its group membership (libvirt events, "
                    "watched processes)",
    'nova-poll': 'the leader polls Nova every [coordinator] instance_poll_interval',
    'webhook': 'an alarm webhook (Aodh, Alertmanager) queued by the API',
    'api-request': 'an operator asks for it by hand (POST /v1/recoveries, vmr recover): '
                   'the event names the contract, and servers or a host',
    'host-maintenance': "a host's maintenance flag (vmr host maintenance)",
}


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
    #: Where the events come from: keys of :data:`EVENT_SOURCES`.
    sources: ClassVar[tuple[str, ...]] = ()
    #: The event's host is dead: fence it (verified off) before planning, and
    #: mark it recovered when its recovery ends (DESIGN §5).
    needs_fence: ClassVar[bool] = False
    #: The event's host is alive and emptied on purpose: disable its
    #: nova-compute before moving anything, so nothing new lands there.
    drains_host: ClassVar[bool] = False
    #: action type -> why it makes no sense after this trigger, and what to use
    refused_actions: ClassVar[Mapping[str, str]] = {}
    #: One sentence on the actions :meth:`incompatibility` refuses only under
    #: a condition (for the reference's compatibility table), or ''.
    conditional_note: ClassVar[str] = ''

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

    def incompatibility(self, trigger_spec: Mapping, action: str) -> str | None:
        """Why ``action`` makes no sense for a contract with this ``trigger``
        section, or None when it does. The default: :attr:`refused_actions`.
        """
        return self.refused_actions.get(action)

    def expand(self, queued: Mapping) -> list[Mapping]:
        """A queued event (``events/`` in etcd) as the trigger events it holds.

        The default: the event itself. Raises :class:`TriggerEventError` for
        a queued event that holds nothing usable.
        """
        return [queued]

    def incident(self, event: Mapping) -> tuple | None:
        """What identifies the incident behind ``event`` across re-sends, or
        None when every event counts on its own (the default)."""
        return None

    def polled_statuses(self, trigger_spec: Mapping) -> tuple[str, ...]:
        """The Nova statuses the poll must ask for, for a contract with this
        ``trigger`` section (only triggers fed by ``nova-poll``)."""
        return ()


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: 'a string', list: 'a list', dict: 'a mapping', int: 'an integer'}
    return ' or '.join(names.get(k, k.__name__) for k in kinds)


def trigger_class(trigger_type: Any) -> type[Trigger]:
    """The installed class of ``trigger_type``, to read what it declares.

    A type no plugin provides (a record of an uninstalled trigger, garbage)
    gets :class:`Trigger` itself, which declares nothing: no fence, no drain,
    no source.
    """
    try:
        return plugins.plugin_class(NAMESPACE, trigger_type)
    except plugins.PluginError:
        return Trigger


def triggers_fed_by(source: str) -> list[str]:
    """Names of the installed triggers whose events come from ``source``."""
    return sorted(name for name, cls in plugins.plugin_classes(NAMESPACE).items()
                  if source in cls.sources)


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
