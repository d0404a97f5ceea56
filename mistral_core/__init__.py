"""mistral-core: a workflow service speaking Mistral's language v2 and REST API v2.

This module is the public API for plugin authors, and only that.
"""

from mistral_core.actions.base import Action, ActionContext, ExecutionContext, Result, SecurityContext
from mistral_core.errors import ActionError, MistralError
from mistral_core.hooks.specs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionContext",
    "ActionError",
    "ExecutionContext",
    "MistralError",
    "Result",
    "SecurityContext",
    "__version__",
    "hookimpl",
]
