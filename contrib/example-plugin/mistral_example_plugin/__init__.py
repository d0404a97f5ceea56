"""An example third-party plugin for mistral-core.

Written the way an outside author would: it imports only mistral-core's public
API (``from mistral_core import ...``) and publishes its actions in the
entry-point group ``mistral.actions`` (see ``pyproject.toml``).

* ``example.greet(name)`` — synchronous: the result is ``"Hello, <name>!"``.
* ``example.approve(approver)`` — asynchronous: it only announces that an approval
  is wanted; a person (or a bot) later pushes the decision through the API.
"""

from __future__ import annotations

import logging

from mistral_core import Action, ActionContext

__version__ = "0.1.0"

__all__ = ["ApproveAction", "GreetAction", "__version__"]

LOG = logging.getLogger(__name__)


class GreetAction(Action):
    """Greet someone by name.

    Args:
        name: who to greet.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, context: ActionContext) -> str:
        """Return ``"Hello, <name>!"``."""
        return f"Hello, {self.name}!"


class ApproveAction(Action):
    """Ask someone to approve; their answer arrives later through the API.

    The action execution stays RUNNING until the approver (or a tool acting for
    them) calls::

        mistral action-execution-update <id> --state SUCCESS --output '{"approved": true}'

    Args:
        approver: who must decide.
    """

    def __init__(self, approver: str) -> None:
        self.approver = approver

    def run(self, context: ActionContext) -> None:
        """Announce the request; a real plugin would send an e-mail or a chat message here."""
        LOG.info(
            "Approval wanted from %s for workflow %s: answer at %s",
            self.approver,
            context.execution.workflow_name,
            context.execution.action_execution_url,
        )

    def is_sync(self) -> bool:
        """``False``: the decision is pushed through the API later."""
        return False
