"""The one plugin loader: fencers, actions and triggers.

Every plugin is a stevedore entry point in one of three namespaces, declared
in ``setup.cfg``:

* ``vmr.fencers``: fencers, wrapped by ``fencing.base.load_fencer``;
* ``vmr.actions``: actions, wrapped by ``actions.base.load_action``;
* ``vmr.triggers``: triggers, wrapped by ``triggers.base.load_trigger``.

Two calls, the same for every namespace:

* :func:`names` lists the installed entry point names (nothing is imported);
* :func:`plugin_class` imports and returns one plugin's class, once per
  process (profiles resolve fencers per host, the engine loads an action per
  step, matching loads a trigger per event).

An unknown name raises :class:`PluginNotFound`, whose message names the
namespace, lists the installed names and suggests the closest one; a plugin
whose module does not import raises :class:`PluginLoadError` with the cause.
The wrappers above add what they know (the fence profile rung, ...) and
re-raise as their own error type.
"""

import difflib
import threading

from stevedore import named

from vmr_common import exceptions

FENCERS = 'vmr.fencers'
ACTIONS = 'vmr.actions'
TRIGGERS = 'vmr.triggers'

#: What one plugin of each namespace is called in messages.
KINDS = {FENCERS: 'fencer', ACTIONS: 'action', TRIGGERS: 'trigger'}


class PluginError(exceptions.VmrError):
    """A plugin could not be loaded; the message says which and why."""


class PluginNotFound(PluginError, LookupError):
    """No entry point of that name in the namespace."""


class PluginLoadError(PluginError):
    """The entry point exists but its class does not import."""


_lock = threading.Lock()
_entry_points_cache = {}
_classes = {}


def _entry_points(namespace):
    """``{name: EntryPoint}`` of ``namespace``, read once per process."""
    with _lock:
        found = _entry_points_cache.get(namespace)
    if found is None:
        # A manager that loads no plugin (names=[]) only lists them.
        manager = named.NamedExtensionManager(namespace, names=[])
        found = {}
        for ep in manager.list_entry_points():
            found.setdefault(ep.name, ep)   # the first one wins, as in stevedore
        with _lock:
            _entry_points_cache[namespace] = found
    return found


def names(namespace):
    """The installed plugin names of ``namespace``, sorted."""
    return sorted(_entry_points(namespace))


def not_found_message(namespace, name, known=None):
    """``no <kind> named '<name>' (...)``: the namespace, the installed
    names and, when one is close, "did you mean ...?"."""
    kind = KINDS.get(namespace, 'plugin')
    known = names(namespace) if known is None else known
    text = ("no %s named '%s' (no entry point '%s' in namespace '%s'; "
            'installed: %s)' % (kind, name, name, namespace,
                                ', '.join(known) or 'none'))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5) \
        if isinstance(name, str) else []
    if close:
        return '%s; did you mean %s?' % (text, close[0])
    return '%s; is the package providing it installed?' % text


def plugin_class(namespace, name):
    """The class registered as ``name`` in ``namespace``.

    Raises :class:`PluginNotFound` for an unknown name and
    :class:`PluginLoadError` when the plugin's module fails to import.
    """
    if not isinstance(name, str):   # garbage from a record: not even hashable
        raise PluginNotFound(not_found_message(namespace, name))
    with _lock:
        cls = _classes.get((namespace, name))
    if cls is not None:
        return cls
    entry_points = _entry_points(namespace)
    if name not in entry_points:
        raise PluginNotFound(not_found_message(namespace, name,
                                               sorted(entry_points)))
    try:
        cls = entry_points[name].load()
    except Exception as exc:  # ImportError, or anything the module raises
        raise PluginLoadError(
            "%s '%s' (entry point %s in namespace '%s') failed to load: %s: %s"
            % (KINDS.get(namespace, 'plugin'), name, entry_points[name].value,
               namespace, type(exc).__name__, exc)) from exc
    with _lock:
        _classes[(namespace, name)] = cls
    return cls


def plugin_classes(namespace):
    """``{name: class}`` of every plugin of ``namespace`` that loads."""
    out = {}
    for name in names(namespace):
        try:
            out[name] = plugin_class(namespace, name)
        except PluginLoadError:
            continue
    return out


def forget():
    """Drop what was read and imported: the next call reads the entry
    points again (tests that install a plugin distribution)."""
    with _lock:
        _entry_points_cache.clear()
        _classes.clear()
        # stevedore keeps its own per-namespace list on the class
        for namespace in KINDS:
            named.NamedExtensionManager.ENTRY_POINT_CACHE.pop(namespace, None)
