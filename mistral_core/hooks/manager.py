"""The plugin manager for lifecycle hooks."""

from __future__ import annotations

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
            try:
                self._pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            except Exception:  # a broken third-party package must not stop the server
                LOG.exception("could not load the hooks of group %s", ENTRY_POINT_GROUP)

    def register(self, plugin: object) -> None:
        """Register an object (or module) with ``@hookimpl`` functions."""
        self._pm.register(plugin)

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of ``hook_name``, one by one; log their failures."""
        caller = getattr(self._pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            try:
                impl.function(**kwargs)
            except Exception:  # observers never break the engine
                LOG.exception("hook %s of %s failed", hook_name, impl.plugin_name)
