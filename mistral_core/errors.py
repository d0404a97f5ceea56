"""The one exception root of mistral-core.

Every error that crosses a boundary (engine -> API, store -> engine, plugin ->
executor) is a :class:`MistralError`. Library exceptions (peewee, yaml, yaql,
stevedore, urllib3) are translated where they are raised and never escape.

The tree::

    MistralError
    ├── LanguageError            a workflow document is invalid (path, line)
    │   └── ExpressionError      an expression cannot be parsed or evaluated
    ├── InputError               bad input from a client (wrong type, missing field)
    │   ├── WorkflowInputError   workflow input missing / unexpected
    │   └── UnacceptableResult   a pushed result does not match its output-schema (422)
    ├── NotFoundError            an id or name that does not exist
    ├── ConflictError            the request conflicts with the current state
    │   ├── DuplicateError       a name that already exists
    │   ├── StateConflictError   an invalid state transition (current state named)
    │   └── MaintenanceError     refused while the service is in maintenance (423)
    ├── ActionError              an action cannot be found, built or run
    ├── Unauthenticated          no valid credential (401)
    ├── Forbidden                the credential may not do this (403)
    ├── ServiceUnavailable       a service we depend on (the OIDC provider) cannot be reached now
    └── StoreError               the database failed (not the client's fault)
        └── TransientStoreError  the database refused the transaction for now (deadlock): retry
            └── StoreUnavailable the database cannot be reached or written now (connection lost,
                │                disk full, read-only, I/O error): retry on a fresh connection
                └── CommitInDoubt the connection was lost during COMMIT: kept or not, unknown

Outside the tree, on purpose: :class:`NeedsData`, the pure engine's request for data it was not
given (never seen outside the engine's unit of work).
"""

from __future__ import annotations


class MistralError(Exception):
    """Root of every mistral-core error.

    Args:
        message: one line a person understands; becomes the HTTP faultstring.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class LanguageError(MistralError):
    """A workflow (or workbook/action) document is invalid.

    Args:
        message: what is wrong.
        path: the dotted path in the document (``wf.tasks.t1.on-success``).
        line: the 1-based line in the document, when known.
    """

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        self.detail = message
        self.path = path
        self.line = line
        where = ""
        if line is not None:
            where += f"line {line}: "
        if path:
            where += f"{path}: "
        super().__init__(f"{where}{message}")


class ExpressionError(LanguageError):
    """An expression could not be parsed or evaluated."""


class InputError(MistralError):
    """Bad input from a client: malformed body, wrong type, missing field."""


class WorkflowInputError(InputError):
    """The input of a workflow execution does not match the workflow's declared input."""


class NotFoundError(MistralError):
    """An object that does not exist was asked for."""


class ConflictError(MistralError):
    """The request conflicts with the current state of an object."""


class DuplicateError(ConflictError):
    """An object with that name already exists."""


class StateConflictError(ConflictError):
    """A state change that the object's current state does not allow.

    Args:
        message: what was refused.
        current_state: the object's state now.
    """

    def __init__(self, message: str, current_state: str | None = None) -> None:
        super().__init__(message)
        self.current_state = current_state


class MaintenanceError(ConflictError):
    """The service is in maintenance (``PAUSING`` or ``PAUSED``): the request would start or
    resume work, and is refused until maintenance ends (423, as Mistral answers).

    Args:
        message: what was refused, and why.
        mode: the maintenance mode now.
    """

    def __init__(self, message: str, mode: str) -> None:
        super().__init__(message)
        self.mode = mode


class ActionError(MistralError):
    """An action cannot be found, built (bad input) or run."""


class UnacceptableResult(InputError):
    """A pushed result does not match what its task (or action) says results look like (422)."""


class Unauthenticated(MistralError):
    """The request carries no credential, or one that is not valid (unknown, expired, revoked)."""


class Forbidden(MistralError):
    """The request's identity may not do what it asks (its role, its project, its action)."""


class ServiceUnavailable(MistralError):
    """A service this one depends on (the OpenID Connect provider's keys) cannot be reached now;
    the same request can succeed later. Not the client's fault, and not a bad credential."""


class StoreError(MistralError):
    """The database failed; not the client's fault."""


class TransientStoreError(StoreError):
    """The database refused the transaction for now (a deadlock, a serialization failure, a busy
    file); running the same transaction again can succeed."""


class StoreUnavailable(TransientStoreError):
    """The database cannot be reached or written right now: the connection was lost, the disk is
    full or read-only, an I/O error. Nothing of the transaction was kept; the connection is
    dropped, so the next attempt opens a fresh one, and the work succeeds once the fault clears."""


class CommitInDoubt(StoreUnavailable):
    """The connection was lost while the transaction committed: the database may or may not have
    kept it. Whoever runs it again must find out which (its work may be done already)."""


class NeedsData(Exception):
    """Not an error and not a :class:`MistralError`: the pure engine asks for data it was not given.

    The conductor works only on what it was handed. When an event leads it to data that was not
    loaded (the action executions of a task, the tasks of another execution for ``tasks()``, the
    ad-hoc actions), it raises this; the unit of work rolls the transaction back, loads what is
    named here as well, and runs the transaction again. Expression evaluation lets it through.

    Args:
        actions_of: task execution ids whose action executions are needed.
        executions: workflow execution ids whose tasks and sub-workflows (recursively) are needed.
        catalog: the ad-hoc actions must be checked against the store.
    """

    def __init__(
        self,
        actions_of: frozenset[str] = frozenset(),
        executions: frozenset[str] = frozenset(),
        catalog: bool = False,
    ) -> None:
        super().__init__(f"needs data: actions_of={sorted(actions_of)} executions={sorted(executions)}")
        self.actions_of = actions_of
        self.executions = executions
        self.catalog = catalog
