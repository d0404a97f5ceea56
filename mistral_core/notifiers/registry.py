"""The registry of notifiers: which class is ``webhook``, and is this ``notify`` list usable?

Notifiers are classes published in the entry-point group ``mistral_core.notifiers``, named by the
``type`` users write. As with actions (whose registry lists the entry points for both, through
stevedore), an entry point that fails to load is logged with a one-line reason and skipped, and
of two with one name the first that loads wins.

:meth:`NotifierRegistry.check` is the one check of a ``notify`` list (an execution's
``params.notify``, the server's ``notify`` setting): what a stranger sends in a
``POST /v2/executions`` costs a bounded amount to check and to keep (at most
:data:`MAX_PUBLISHERS` publishers, known event names, each kind's own options checked by its
class), and every refusal is one line naming the place (``params.notify[1].url: ...``).
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Mapping
from typing import Any, cast

from mistral_core.actions.registry import load_entry_points
from mistral_core.errors import InputError
from mistral_core.model.notifications import EVENTS
from mistral_core.notifiers.base import Notifier

LOG = logging.getLogger(__name__)

DEFAULT_GROUP = "mistral_core.notifiers"
#: The most publishers one ``notify`` list may have.
MAX_PUBLISHERS = 10
#: The keys every publisher may have.
COMMON_KEYS = frozenset({"type", "event_types"})
PLACE = "params.notify"


class NotifierRegistry:
    """The notifiers this process can use, by ``type``; immutable once built.

    Implements the engine's :class:`~mistral_core.engine.ports.NotifierCatalog`.

    Args:
        classes: ``type`` -> notifier class.
    """

    def __init__(self, classes: Mapping[str, type[Notifier]]) -> None:
        self._classes = dict(classes)
        self._instances: dict[str, Notifier] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_entry_points(cls, group: str = DEFAULT_GROUP) -> NotifierRegistry:
        """Every notifier installed in the entry-point ``group`` (load failures logged, skipped)."""
        classes: dict[str, type[Notifier]] = {}
        for name, plugin in load_entry_points(group, _log_load_failure):
            if name in classes:
                LOG.warning("Notifier %s is provided twice: keeping the first", name)
            elif not (inspect.isclass(plugin) and callable(getattr(plugin, "publish", None))):
                LOG.error("Could not load notifier %s: %r is not a notifier class", name, plugin)
            else:
                classes[name] = cast(type[Notifier], plugin)
        return cls(classes)

    def names(self) -> list[str]:
        """The publisher types this registry has, sorted."""
        return sorted(self._classes)

    # -- checking -----------------------------------------------------------------
    def check(self, publishers: Any, place: str = PLACE) -> list[dict[str, Any]]:
        """``publishers`` if it is a usable ``notify`` list (``None``: an empty one).

        Raises:
            InputError: one line naming the first problem and where it is.
        """
        if publishers is None:
            return []
        if not isinstance(publishers, list):
            raise InputError(
                f'{place} must be a list of publishers ([{{"type": "webhook", "url": ...}}]), '
                f"not {_kind(publishers)}"
            )
        if len(publishers) > MAX_PUBLISHERS:
            raise InputError(
                f"{place} has {len(publishers)} publishers: at most {MAX_PUBLISHERS} are allowed"
            )
        for position, publisher in enumerate(publishers):
            self._check_one(publisher, f"{place}[{position}]")
        return publishers

    def _check_one(self, publisher: Any, place: str) -> None:
        if not isinstance(publisher, dict):
            raise InputError(f"{place} must be an object with a type, not {_kind(publisher)}")
        kind = publisher.get("type")
        known = ", ".join(self.names()) or "none"
        if not isinstance(kind, str) or not kind:
            raise InputError(f"{place}.type is required: the kind of publisher ({known})")
        cls = self._classes.get(kind)
        if cls is None:
            raise InputError(f"{place}.type: unknown publisher type {kind[:64]!r} (this server has: {known})")
        unknown = sorted(str(key)[:64] for key in publisher if key not in COMMON_KEYS | cls.options)
        if unknown:
            takes = ", ".join(sorted(COMMON_KEYS | cls.options))
            raise InputError(
                f"{place}: unknown key {', '.join(map(repr, unknown))} (a {kind} publisher takes {takes})"
            )
        _check_event_types(publisher.get("event_types"), f"{place}.event_types")
        try:
            cls.check(publisher)
        except ValueError as exc:
            raise InputError(f"{place}: {_one_line(exc)}") from None

    # -- using --------------------------------------------------------------------
    def build(self, kind: str) -> Notifier:
        """The notifier of ``kind`` (one instance per kind, made on first use).

        Raises:
            KeyError: no notifier has that type (it was uninstalled since the check).
        """
        with self._lock:
            notifier = self._instances.get(kind)
            if notifier is None:
                notifier = self._instances[kind] = self._classes[kind]()
            return notifier

    def target(self, publisher: Mapping[str, Any]) -> str:
        """Where ``publisher`` sends, as it may be shown ("" if its type is unknown here)."""
        cls = self._classes.get(str(publisher.get("type")))
        if cls is None:
            return ""
        try:
            return cls.target(publisher)
        except Exception:  # plugin code: a failing description shows nothing rather than failing
            LOG.warning("notifier %s could not describe a publisher", publisher.get("type"), exc_info=True)
            return ""


def _check_event_types(value: Any, place: str) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise InputError(f"{place} must be a list of event names, not {_kind(value)}")
    if len(value) > len(EVENTS):
        raise InputError(f"{place} has {len(value)} names: there are only {len(EVENTS)} events")
    unknown = [name[:64] for name in value if name not in EVENTS]
    if unknown:
        raise InputError(f"{place}: unknown event {unknown[0]!r} (the events are {', '.join(EVENTS)})")


def _kind(value: Any) -> str:
    """What a JSON value is, for messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _log_load_failure(manager: Any, entry_point: Any, exc: BaseException) -> None:
    """stevedore's load-failure callback: one log line, never a crash."""
    LOG.error("Could not load notifier %s (%s): %s", entry_point.name, entry_point.value, _one_line(exc))
