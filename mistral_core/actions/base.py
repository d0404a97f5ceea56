"""The action contract for plugin authors.

An action is a class whose constructor keyword arguments are its input, with a
``run(context)`` method and an ``is_sync()`` method (default ``True``). The
contract is duck-typed and mirrors ``mistral_lib.actions``: a package written for
Mistral's ``Action`` loads and runs unchanged.

* ``run()`` returns the result, or a :class:`Result` (``error=`` marks a failure
  that still carries data), or raises (the action fails with the message).
* For an async action (``is_sync()`` is ``False``) the return value of ``run()``
  is ignored (unless it is an error Result); the action execution stays RUNNING
  until its result is pushed through ``PUT /v2/action_executions/<id>``.
* An async action may have ``cancel(context)``: when its wait ends without its result (the
  execution cancelled or ended, a timeout, the result pushed as CANCELLED by someone other than
  the third party), the engine calls it to tell the third party, ``context.cancel_reason`` saying
  why. Raising means "not told": the engine tries again with backoff (setting
  ``notice_retry_for``); returning ``False`` means there was nobody to tell. Each try is in the
  action execution's history.
"""

from __future__ import annotations

import dataclasses
from typing import Any


class Action:
    """Optional base class of actions.

    Attributes:
        safe_rerun: set it to ``True`` on a class whose ``run()`` has no side effect
            (running it twice is harmless): after a crash such an action is simply
            run again, and no "started" mark is written before it runs.
    """

    safe_rerun: bool = False

    def run(self, context: ActionContext) -> Any:
        """Do the work (sync) or hand it to a third party (async).

        Args:
            context: who is calling (workflow, task, action execution ids, callback URL).

        Returns:
            The result, or a :class:`Result`.
        """
        raise NotImplementedError

    def is_sync(self) -> bool:
        """Whether ``run()`` produces the result itself (``True``) or a third party will."""
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """An explicit action result: ``data`` on success, ``error`` on failure, or ``cancel``."""

    data: Any = None
    error: Any = None
    cancel: bool = False

    def is_error(self) -> bool:
        """Whether the action failed."""
        return self.error is not None and not self.cancel

    def is_cancel(self) -> bool:
        """Whether the action was cancelled."""
        return self.cancel

    def is_success(self) -> bool:
        """Whether the action succeeded."""
        return not self.is_error() and not self.cancel


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Where an action runs, with mistral-lib's attribute names.

    ``callback_url`` is the public base URL of the API (the seed's
    ``<Mistral-Callback-URL>/v2/action-executions/<id>`` works with it);
    ``action_execution_url`` is the absolute URL to push this action's result to;
    ``callback_token`` (asynchronous actions only; ``None`` in ``cancel()``) is the credential
    that lets whoever holds it read this action execution and push its result, and nothing
    else: send it to the third party with the URL (``std.mistral_http`` sends it as the header
    ``Mistral-Callback-Token``). It is a secret: never log it.
    """

    workflow_name: str | None = None
    workflow_execution_id: str | None = None
    task_execution_id: str | None = None
    action_execution_id: str | None = None
    callback_url: str | None = None
    action_execution_url: str | None = None
    with_items_index: int | None = None
    task_rerun_no: int = 0
    workflow_propagated_headers: dict[str, str] | None = None
    callback_token: str | None = dataclasses.field(default=None, repr=False)

    @property
    def task_id(self) -> str | None:
        """Deprecated alias of ``task_execution_id`` (mistral-lib has it)."""
        return self.task_execution_id


@dataclasses.dataclass(frozen=True, slots=True)
class SecurityContext:
    """Caller credentials, as mistral-lib names them; empty without authentication."""

    auth_token: str | None = None
    auth_uri: str | None = None
    auth_cacert: str | None = None
    insecure: bool = False
    project_id: str | None = None
    project_name: str | None = None
    user_name: str | None = None
    region_name: str | None = None
    service_catalog: Any = None
    trust_id: str | None = None
    is_trust_scoped: bool = False
    is_target: bool = False
    expires_at: str | None = None
    redelivered: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ActionContext:
    """What ``run(context)`` receives."""

    execution: ExecutionContext = dataclasses.field(default_factory=ExecutionContext)
    security: SecurityContext = dataclasses.field(default_factory=SecurityContext)
    #: In ``cancel(context)``: why the work is no longer wanted (``cancelled``, ``workflow-ended``,
    #: ``timeout``, ``heartbeat-timeout``); None in ``run(context)``.
    cancel_reason: str | None = None
