"""The registry of actions: which class is ``std.http``, and is this call of it valid?

The only module of mistral-core that imports stevedore. Actions are classes
published in the entry-point group ``mistral.actions`` (the group Mistral uses),
named as users write them (``std.echo = mistral_std_actions:EchoAction``).

Policies decided here:

* **Discovery** — each :meth:`ActionRegistry.from_entry_points` call lists the
  installed distributions anew (stevedore's process-wide and on-disk entry-point
  caches are bypassed), so a registry built after ``pip install`` sees the plugin.
* **Load failures** — an entry point whose module fails to import (or that is
  not a class, or whose signature cannot be read) is logged with its name and a
  one-line reason and skipped; it never stops the server.
* **Duplicate names** — when two entry points share a name, the first one that
  loads (in ``importlib.metadata`` order) wins and a warning names both targets.
* **Name resolution** — the exact name first; if there is none, ``std.<name>``
  (so the seed's ``action: mistral_http`` finds ``std.mistral_http``: Mistral 23
  fails that, we resolve it on purpose).
* **Parameters** — the keyword parameters of the class's ``__init__``; those
  without a default are required. ``self``, ``*args`` and positional-only
  parameters are ignored, and so is ``action_context`` (Mistral's legacy
  injected argument, not an input). A ``**kwargs`` catch-all makes the action
  accept parameters it does not name.
* **is_sync** — asked of an instance made without running ``__init__``
  (``cls.__new__(cls)``), which is how Mistral's remote executors rebuild
  actions. If that raises (an ``is_sync`` that reads inputs set in
  ``__init__``), the descriptor says ``True``; :meth:`ActionRegistry.build`
  returns the real instance, whose ``is_sync()`` is the definitive answer.
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from stevedore import ExtensionManager

from mistral_core.actions.base import ActionContext
from mistral_core.engine.ports import PreparedAction
from mistral_core.errors import ActionError

LOG = logging.getLogger(__name__)

DEFAULT_GROUP = "mistral.actions"
CONTEXT_PARAM = "action_context"
STD_PREFIX = "std."

_IGNORED_KINDS = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.VAR_POSITIONAL,
    inspect.Parameter.VAR_KEYWORD,
)


@dataclasses.dataclass(frozen=True, slots=True)
class ParamSpec:
    """One input parameter of an action.

    Attributes:
        name: the keyword the workflow writes (``output``).
        required: ``True`` when ``__init__`` gives it no default.
        default: the default value (``None`` when required).
    """

    name: str
    required: bool
    default: Any = None


@dataclasses.dataclass(frozen=True, slots=True)
class ActionDescriptor:
    """What the registry knows about one action, without building it.

    Attributes:
        name: the registered name (``std.echo``).
        cls: the action class.
        params: its input parameters, in signature order.
        description: the first line of the class docstring ("" if none).
        is_sync: whether it is synchronous (see the module docstring for how
            this is found out).
        accepts_extra: whether ``__init__`` takes ``**kwargs`` (any extra
            parameter is then accepted).
    """

    name: str
    cls: type[Any]
    params: tuple[ParamSpec, ...]
    description: str
    is_sync: bool
    accepts_extra: bool = False

    @property
    def input_spec(self) -> str:
        """The parameters as Mistral lists them: ``output, delay=0``."""
        return ", ".join(_format_param(p) for p in self.params)


class ActionRegistry:
    """The actions this process can run, by name; immutable once built.

    Implements the engine's :class:`~mistral_core.engine.ports.ActionCatalog`.

    Args:
        classes: registered name -> action class. Use :meth:`from_entry_points`
            in a server and :meth:`from_classes` in tests.

    Raises:
        ActionError: a class whose signature cannot be read.
    """

    def __init__(self, classes: Mapping[str, type[Any]]) -> None:
        self._descriptors: dict[str, ActionDescriptor] = {
            name: describe(name, cls) for name, cls in classes.items()
        }

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def from_classes(cls, classes: Mapping[str, type[Any]]) -> ActionRegistry:
        """A registry of exactly these classes (the test constructor).

        Args:
            classes: name -> action class, e.g. ``{"std.noop": NoopAction}``.
        """
        return cls(classes)

    @classmethod
    def from_entry_points(cls, group: str = DEFAULT_GROUP) -> ActionRegistry:
        """A registry of every action installed in the entry-point ``group``.

        Failures to load and duplicate names are logged, never raised (see the
        module docstring for the policies).

        Args:
            group: the entry-point group, ``mistral.actions`` by default.
        """
        registry = cls({})
        for name, plugin in _load_entry_points(group):
            registry._add_loaded(name, plugin)
        return registry

    def _add_loaded(self, name: str, plugin: Any) -> None:
        """Register one loaded entry point, applying the load and duplicate policies."""
        known = self._descriptors.get(name)
        if known is not None:
            LOG.warning(
                "Action %s is provided twice: keeping %s, ignoring %s",
                name,
                _qualname(known.cls),
                _qualname(plugin),
            )
            return
        if not inspect.isclass(plugin):
            LOG.error("Could not load action %s: %s is not a class", name, _qualname(plugin))
            return
        try:
            self._descriptors[name] = describe(name, plugin)
        except ActionError as exc:
            LOG.error("Could not load action %s: %s", name, exc)

    # -- queries ------------------------------------------------------------------
    def descriptor(self, name: str) -> ActionDescriptor:
        """The action called ``name``: the exact name, else ``std.<name>``.

        Raises:
            ActionError: no action has that name.
        """
        found = self._descriptors.get(name)
        if found is None and not name.startswith(STD_PREFIX):
            found = self._descriptors.get(STD_PREFIX + name)
        if found is None:
            raise ActionError(f"Failed to find action '{name}'")
        return found

    def list(self) -> builtins.list[ActionDescriptor]:
        """Every action, sorted by name."""
        return [self._descriptors[name] for name in sorted(self._descriptors)]

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` resolves to an action (exact or ``std.<name>``)."""
        if not isinstance(name, str):
            return False
        try:
            self.descriptor(name)
        except ActionError:
            return False
        return True

    # -- validation and construction ---------------------------------------------
    def check_input(self, name: str, action_input: Mapping[str, Any]) -> ActionDescriptor:
        """Check ``action_input`` against the signature of the action ``name``.

        Returns:
            The resolved descriptor.

        Raises:
            ActionError: unknown action, or missing / unexpected parameters, e.g.
                ``Invalid input for action std.echo: missing required parameter 'output'``.
        """
        desc = self.descriptor(name)
        problems = _input_problems(desc, action_input)
        if problems:
            raise ActionError(f"Invalid input for action {desc.name}: {'; '.join(problems)}")
        return desc

    def prepare(self, name: str, action_input: Mapping[str, Any]) -> PreparedAction:
        """Resolve ``name`` and check ``action_input`` (the ``ActionCatalog`` port).

        Returns:
            The resolved name and whether the action is synchronous.

        Raises:
            ActionError: unknown action, missing or unexpected input.
        """
        desc = self.check_input(name, action_input)
        return PreparedAction(
            name=desc.name, is_sync=desc.is_sync, safe_rerun=bool(getattr(desc.cls, "safe_rerun", False))
        )

    def output_schema(self, name: str) -> Mapping[str, Any] | None:
        """The JSON Schema the action's class declares its results match (``output_schema``), or None.

        Unknown actions have none (the result of an action that no longer exists is not checked).
        """
        try:
            schema = getattr(self.descriptor(name).cls, "output_schema", None)
        except ActionError:
            return None
        return schema if isinstance(schema, Mapping) else None

    def build(
        self,
        name: str,
        action_input: Mapping[str, Any],
        context: ActionContext | None = None,
    ) -> Any:
        """Resolve, check and instantiate the action with ``**action_input``.

        Args:
            name: the action name as the workflow wrote it.
            action_input: its keyword arguments.
            context: given as ``action_context`` to classes whose ``__init__``
                declares that parameter (Mistral's legacy injection).

        Returns:
            The action instance, ready for ``run(context)``.

        Raises:
            ActionError: unknown action, bad input, or ``__init__`` raised.
        """
        desc = self.check_input(name, action_input)
        kwargs = dict(action_input)
        if _declares_context(desc.cls):
            kwargs[CONTEXT_PARAM] = context
        try:
            return desc.cls(**kwargs)
        except Exception as exc:
            raise ActionError(f"Failed to create action {desc.name}: {_one_line(exc)}") from exc


# -- describing a class ------------------------------------------------------------
def describe(name: str, cls: type[Any]) -> ActionDescriptor:
    """Read an action class into an :class:`ActionDescriptor`.

    Raises:
        ActionError: the signature of ``cls.__init__`` cannot be read.
    """
    params, accepts_extra = _params_of(name, cls)
    return ActionDescriptor(
        name=name,
        cls=cls,
        params=params,
        description=_first_line(cls.__doc__),
        is_sync=_probe_is_sync(cls),
        accepts_extra=accepts_extra,
    )


def _params_of(name: str, cls: type[Any]) -> tuple[tuple[ParamSpec, ...], bool]:
    """The input parameters of ``cls`` and whether it takes ``**kwargs``."""
    init = cls.__init__
    if init is object.__init__:
        return (), False
    try:
        signature = inspect.signature(init)
    except (TypeError, ValueError) as exc:
        raise ActionError(f"cannot read the parameters of {name}: {_one_line(exc)}") from exc
    params = builtins.list(signature.parameters.values())[1:]  # drop ``self``
    specs = tuple(_spec(p) for p in params if p.kind not in _IGNORED_KINDS and p.name != CONTEXT_PARAM)
    accepts_extra = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    return specs, accepts_extra


def _spec(param: inspect.Parameter) -> ParamSpec:
    """One signature parameter as a :class:`ParamSpec`."""
    if param.default is inspect.Parameter.empty:
        return ParamSpec(name=param.name, required=True)
    return ParamSpec(name=param.name, required=False, default=param.default)


def _probe_is_sync(cls: type[Any]) -> bool:
    """``is_sync()`` of an instance made without ``__init__``; ``True`` if that fails."""
    try:
        new: Any = cls.__new__  # typeshed types type.__new__ as the metaclass's, not the class's
        return bool(new(cls).is_sync())
    except Exception:
        LOG.debug("is_sync() of %s needs its inputs; assuming synchronous", _qualname(cls))
        return True


def _declares_context(cls: type[Any]) -> bool:
    """Whether ``cls.__init__`` takes the legacy ``action_context`` argument."""
    if cls.__init__ is object.__init__:
        return False
    try:
        return CONTEXT_PARAM in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def _input_problems(desc: ActionDescriptor, action_input: Mapping[str, Any]) -> builtins.list[str]:
    """What is wrong with ``action_input`` for ``desc``: missing, then unexpected names."""
    problems = []
    missing = [p.name for p in desc.params if p.required and p.name not in action_input]
    if missing:
        problems.append(_named("missing required parameter", missing))
    if not desc.accepts_extra:
        known = {p.name for p in desc.params}
        unexpected = [key for key in action_input if key not in known]
        if unexpected:
            problems.append(_named("unexpected parameter", unexpected))
    return problems


# -- stevedore ---------------------------------------------------------------------
class _FreshExtensionManager(ExtensionManager[Any]):
    """stevedore's manager, listing the group's entry points anew at each scan.

    stevedore caches the entry points of a group for the life of the process (and on
    disk); a registry built after a package was installed must see that package.
    """

    def list_entry_points(self) -> builtins.list[EntryPoint]:
        """The entry points of the group, each (name, target) once, in discovery order."""
        seen: set[tuple[str, str]] = set()
        found = []
        for entry_point in entry_points(group=self.namespace):
            key = (entry_point.name, entry_point.value)
            if key not in seen:  # one distribution seen twice on sys.path
                seen.add(key)
                found.append(entry_point)
        return found


def _load_entry_points(group: str) -> Iterable[tuple[str, Any]]:
    """(name, loaded object) of every entry point of ``group`` that imports."""
    return load_entry_points(group, _log_load_failure)


def load_entry_points(
    group: str, on_failure: Callable[[Any, Any, BaseException], None]
) -> list[tuple[str, Any]]:
    """(name, loaded object) of every entry point of ``group`` that imports, the group listed anew
    (a package installed since the last look is seen); ``on_failure(manager, entry_point, exc)``
    is told of each that does not (stevedore's load-failure callback)."""
    manager = _FreshExtensionManager(
        namespace=group, invoke_on_load=False, on_load_failure_callback=on_failure
    )
    return [(ext.name, ext.plugin) for ext in manager.extensions]


def _log_load_failure(manager: Any, entry_point: Any, exc: BaseException) -> None:
    """stevedore's load-failure callback: one log line, never a crash."""
    LOG.error(
        "Could not load action %s (%s): %s: %s",
        entry_point.name,
        entry_point.value,
        type(exc).__name__,
        _one_line(exc),
    )


# -- small helpers -----------------------------------------------------------------
def _format_param(param: ParamSpec) -> str:
    """``name`` or ``name=<default as JSON>``."""
    if param.required:
        return param.name
    return f"{param.name}={json.dumps(param.default, default=repr)}"


def _named(what: str, names: builtins.list[str]) -> str:
    """``missing required parameter 'a'`` / ``missing required parameters 'a', 'b'``."""
    plural = "s" if len(names) > 1 else ""
    return f"{what}{plural} " + ", ".join(f"'{n}'" for n in names)


def _first_line(doc: str | None) -> str:
    """The first non-empty line of a docstring."""
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _one_line(exc: BaseException) -> str:
    """An exception as one line: its message, else its type name."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    return text.splitlines()[0]


def _qualname(obj: Any) -> str:
    """``module:Qualified.name`` of a class or function, for log lines."""
    module = getattr(obj, "__module__", "?")
    return f"{module}:{getattr(obj, '__qualname__', repr(obj))}"
