"""The plugin manager for lifecycle hooks."""

from __future__ import annotations

import importlib.metadata
import logging
from typing import Any

import pluggy

from mistral_core.hooks import specs

LOG = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mistral_core.hooks"


class HookManager:
    """Relays lifecycle events to pluggy implementations; failures are logged, never raised.

    Args:
        load_entry_points: also register the implementations published under
            the ``mistral_core.hooks`` entry-point group.
    """

    def __init__(self, load_entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(specs.PROJECT)
        self._pm.add_hookspecs(specs)
        if load_entry_points:
            self._load_entry_points()

    def _load_entry_points(self) -> None:
        """Register each package of the entry-point group on its own: one that fails to load is
        logged and skipped, and does not keep the others out."""
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                self._pm.register(entry_point.load(), name=entry_point.name)
            except Exception as exc:  # a broken third-party package must not stop the server
                LOG.error("hooks %s (%s) not loaded: %s", entry_point.name, entry_point.value, exc)

    def register(self, plugin: object) -> None:
        """Register an object (or module) with ``@hookimpl`` functions."""
        self._pm.register(plugin)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of ``hook_name``, one by one; log their failures."""
        caller = getattr(self._pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames if name in kwargs})
            except Exception:  # observers never break the engine
                LOG.exception("hook %s of %s failed", hook_name, impl.plugin_name)
