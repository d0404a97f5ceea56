"""Lifecycle hooks: pluggy specs and the manager."""

from mistral_core.hooks.manager import HookManager
from mistral_core.hooks.specs import hookimpl

__all__ = ["HookManager", "hookimpl"]
