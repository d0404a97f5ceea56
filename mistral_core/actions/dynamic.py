"""Dynamic actions in the executor: the module's text, sent with the command, made into an action.

This is the one place where uploaded Python runs (``exec`` of the module, then the class's
``__init__``, ``is_sync`` and ``run``). Whatever it raises — at import, when built, when run,
``SystemExit`` included — fails that action with a one-line message; the executor goes on. Modules
are kept per (name, text) in a small LRU, so a module is executed once per version, not once per
call; a module whose import failed is not kept (the next call tries again and fails the same way).

It does not contain the code: an uploaded module may do what any Python may (open files, sockets,
``os._exit``). That is why the feature is off by default and admin-only (docs/operations.md).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
import types
from collections.abc import Mapping
from typing import Any

from mistral_core.actions.registry import ActionRegistry
from mistral_core.errors import ActionError

LOG = logging.getLogger(__name__)

#: How many module versions an executor keeps loaded.
CACHE_SIZE = 64


class DynamicLoader:
    """Builds dynamic actions from the code their commands carry.

    Args:
        max_bytes: the largest module text run (the upload limit; a larger one is refused).
        cache_size: how many module versions are kept loaded.
    """

    def __init__(self, max_bytes: int, cache_size: int = CACHE_SIZE) -> None:
        self._max_bytes = max_bytes
        self._cache_size = cache_size
        self._modules: collections.OrderedDict[tuple[str, str], types.ModuleType] = collections.OrderedDict()
        self._lock = threading.Lock()

    def build(self, name: str, code: Mapping[str, Any], action_input: Mapping[str, Any]) -> Any:
        """The action ``name`` (its class from ``code``) built with ``action_input``.

        Raises:
            ActionError: the module is too large or fails to import, the class is missing, the input
                does not fit its ``__init__``, or ``__init__`` raised.
        """
        module = self._module(name, code)
        class_name = str(code.get("class_name"))
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise ActionError(f"Dynamic action {name}: class {class_name} is not in module {module.__name__}")
        try:
            action = ActionRegistry.from_classes({name: cls}).build(name, action_input)
        except ActionError:
            raise
        except BaseException as exc:  # uploaded code: anything it raises fails the action only
            raise ActionError(f"Failed to create action {name}: {_one_line(exc)}") from None
        return Guarded(action)

    def _module(self, name: str, code: Mapping[str, Any]) -> types.ModuleType:
        module_name, content = str(code.get("module")), code.get("content")
        if not isinstance(content, str):
            raise ActionError(f"Dynamic action {name}: the command carries no code")
        if len(content.encode("utf-8", "surrogatepass")) > self._max_bytes:
            raise ActionError(f"Dynamic action {name}: module {module_name} is over {self._max_bytes} bytes")
        key = (module_name, hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest())
        with self._lock:
            found = self._modules.get(key)
            if found is not None:
                self._modules.move_to_end(key)
                return found
        module = _load(name, module_name, content)
        with self._lock:
            self._modules[key] = module
            while len(self._modules) > self._cache_size:
                self._modules.popitem(last=False)
        return module


class Guarded:
    """A dynamic action whose ``run`` cannot stop its executor: ``SystemExit`` and the like become
    an ordinary failure (an ``Exception``), as anything else it raises already is."""

    def __init__(self, action: Any) -> None:
        self._action = action

    def run(self, context: Any) -> Any:
        """The action's ``run(context)``."""
        try:
            return self._action.run(context)
        except Exception:
            raise
        except BaseException as exc:  # uploaded code: SystemExit, KeyboardInterrupt, GeneratorExit
            raise RuntimeError(f"{type(exc).__name__}: {_one_line(exc)}") from None

    def is_sync(self) -> bool:
        """Dynamic actions are synchronous: ``run()`` returns the result."""
        return True


def _load(name: str, module_name: str, content: str) -> types.ModuleType:
    """Execute a module's text in a fresh module object (never put in ``sys.modules``)."""
    module = types.ModuleType(module_name)
    try:
        exec(compile(content, f"<code source {module_name}>", "exec", dont_inherit=True), module.__dict__)
    except BaseException as exc:  # uploaded code: an import that raises (even SystemExit) fails the action
        LOG.warning("module %s of dynamic action %s failed to import", module_name, name, exc_info=True)
        reason = f"{type(exc).__name__}: {_one_line(exc)}"
        raise ActionError(f"Dynamic action {name}: module {module_name} failed to import: {reason}") from None
    return module


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
