"""Approvals as a service: the waits people answer, their answers kept, the decision applied.

An answer is kept in one transaction that locks the wait's workflow execution (as a pushed result
does), so answers to one wait are kept one at a time and in a definite order; when the answers
make a decision, it is pushed through :meth:`~mistral_core.services.results.Results.complete`
like any result — idempotent (two answers deciding at once push the same result: the same
answers, in the same order), checked against an ``output-schema``, and moving the workflow on.
If the server stops between the two, the next answer (or an operator's push) finds the decision
already made by the kept answers and applies it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Protocol

from mistral_core.approvals.ports import ApprovalStore
from mistral_core.approvals.request import ApprovalRequest, Decision, decide, form_errors, may_answer, parse
from mistral_core.engine.ports import Clock, ExecutionStore
from mistral_core.errors import ConflictError, Forbidden, InputError, NotFoundError, StateConflictError
from mistral_core.model import ActionExecution, ApprovalResponse, Filter, PushOrigin, Query, State

#: The most waits the inbox reads (the running action executions it looks through).
MAX_PENDING = 1000
#: The longest name a responder may type (authentication off).
MAX_NAME = 64


class Store(ExecutionStore, ApprovalStore, Protocol):
    """The store approvals work over: executions and answers."""


class ResultSink(Protocol):
    """Where a decision goes: the normal result path."""

    def complete(self, action_ex_id: str, state: State, output: Any, origin: PushOrigin) -> ActionExecution:
        """Push a result (see :meth:`~mistral_core.services.results.Results.complete`)."""
        ...


class FormInvalid(InputError):
    """Values that do not fit the approval's form (400): ``errors`` maps each field to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        first = next(iter(self.errors.items()))
        super().__init__(f"The form is not valid: {first[0] or 'form'}: {first[1]}")


@dataclasses.dataclass(frozen=True, slots=True)
class Responder:
    """Who answers: a signed-in identity, or a name typed on the page (authentication off).

    Attributes:
        name: the identity's name (key name, OIDC subject) or the typed name.
        via: ``key``, ``oidc`` or ``name``.
        role: the identity's role (``admin``, ``operator``, ``reader``).
        groups: its OIDC groups.
        checked: whether assignees apply (an identity); a typed name cannot be checked.
        remote_addr: where the answer came from (for the action execution's history).
    """

    name: str
    via: str = "name"
    role: str = "admin"
    groups: tuple[str, ...] = ()
    checked: bool = False
    remote_addr: str | None = None

    def origin(self) -> PushOrigin:
        """Who pushes the decision, as the action execution's history names it: the identity, or
        the typed name marked as such (nobody checked it)."""
        by = self.name if self.checked else f"{self.name} (typed, authentication off)"
        return PushOrigin(f"{by} via the approval page", self.remote_addr)

    def may_answer(self, request: ApprovalRequest) -> bool:
        """Whether this responder may answer ``request``."""
        if not self.checked:
            return True
        return may_answer(request, self.name, self.role, self.groups, self.role in ("operator", "admin"))


@dataclasses.dataclass(frozen=True, slots=True)
class Wait:
    """A human wait as it stands: the action execution, what it asks, the answers kept."""

    action_ex: ActionExecution
    request: ApprovalRequest
    responses: tuple[ApprovalResponse, ...]

    @property
    def open(self) -> bool:
        """Whether it still takes answers."""
        return self.action_ex.state is State.RUNNING

    @property
    def result(self) -> Mapping[str, Any] | None:
        """The decision it ended with (None: open, or ended otherwise: timed out, cancelled...)."""
        output = self.action_ex.output
        result = output.get("result") if isinstance(output, dict) else None
        if self.action_ex.state is State.SUCCESS and isinstance(result, dict) and "decision" in result:
            return result
        return None

    @property
    def approvals(self) -> int:
        """How many answers chose the approving option."""
        return sum(1 for r in self.responses if r.decision == self.request.approving)


class Approvals:
    """The waits people answer.

    Args:
        store: executions and answers.
        results: the normal result path (``engine.results``).
        human_waits: the names of the Python actions that are human waits (``human_wait = True``).
        clock: the time.
        new_id: ids of new answers.
    """

    def __init__(
        self,
        store: Store,
        results: ResultSink,
        human_waits: Collection[str],
        clock: Clock,
        new_id: Callable[[], str],
    ) -> None:
        self._store = store
        self._results = results
        self._human_waits = frozenset(human_waits)
        self._clock = clock
        self._new_id = new_id

    def is_human_wait(self, action_ex: ActionExecution) -> bool:
        """Whether ``action_ex`` runs a human wait (an ad-hoc action over one counts too)."""
        return not action_ex.is_sync and action_ex.params.get("run_as", action_ex.name) in self._human_waits

    def wait(self, action_ex_id: str) -> Wait:
        """The wait ``action_ex_id``.

        Raises:
            NotFoundError: no such action execution, or it is not a human wait.
        """
        return self._wait_of(self._store.get_action_execution(action_ex_id))

    def _wait_of(self, action_ex: ActionExecution) -> Wait:
        if not self.is_human_wait(action_ex):
            raise NotFoundError(f"Action execution {action_ex.id} is not a human wait")
        request = parse(action_ex.params.get("run_input", action_ex.input))
        return Wait(action_ex, request, tuple(self._store.approval_responses_of(action_ex.id)))

    def pending(self) -> list[Wait]:
        """The open human waits (of the first :data:`MAX_PENDING` running action executions)."""
        running = self._store.list_action_executions(
            Query(filters=(Filter("state", "eq", State.RUNNING.value),), limit=MAX_PENDING)
        )
        waits = []
        for action_ex in running:
            if self.is_human_wait(action_ex):
                try:
                    waits.append(self._wait_of(action_ex))
                except InputError:  # its input was refused when it started: it failed, or will
                    continue
        return waits

    def respond(
        self, action_ex_id: str, responder: Responder, decision: str, values: Mapping[str, Any]
    ) -> Wait:
        """Keep ``responder``'s answer; when the answers decide the wait, push the decision.

        Raises:
            NotFoundError: no such wait.
            InputError: not one of the options; a name that is not valid.
            FormInvalid: values that do not fit the form.
            Forbidden: the responder is not among the assignees.
            ConflictError: the wait is over, or this responder answered it already.
        """
        wait = self.wait(action_ex_id)
        request = wait.request
        if decision not in request.options:
            raise InputError(
                f"{decision[:40]!r} is not an option of this approval: {', '.join(request.options)}"
            )
        _check_name(responder.name)
        if not responder.may_answer(request):
            raise Forbidden(f"{responder.name} is not among those who may answer this approval")
        errors = form_errors(request, values)
        if errors:
            raise FormInvalid(errors)
        answer = ApprovalResponse(
            id=self._new_id(),
            action_execution_id=action_ex_id,
            responder=responder.name,
            decision=decision,
            values=dict(values),
            via=responder.via,
            created_at=self._clock.now(),
        )
        decided = self._keep(wait, answer)
        if decided is not None:
            self._results.complete(action_ex_id, State.SUCCESS, decided.result(), responder.origin())
        return self.wait(action_ex_id)

    def _keep(self, wait: Wait, answer: ApprovalResponse) -> Decision | None:
        """Keep ``answer`` under the lock of the wait's workflow execution; the decision, if any."""
        store = self._store
        with store.atomic():
            if wait.action_ex.workflow_execution_id is not None:
                store.lock_workflow_execution(wait.action_ex.workflow_execution_id)
            current = store.get_action_execution(answer.action_execution_id)
            if current.state is not State.RUNNING:
                raise StateConflictError(
                    f"This approval is over: action execution {current.id} is {current.state.value}",
                    current.state.value,
                )
            responses = store.approval_responses_of(answer.action_execution_id)
            decided = decide(wait.request, responses)
            if decided is not None:  # decided by kept answers, not yet applied (a stop in between)
                return decided
            if any(r.responder == answer.responder for r in responses):
                raise ConflictError(f"{answer.responder} answered this approval already")
            store.add_approval_response(answer)
        return decide(wait.request, [*responses, answer])


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME or not name.isprintable():
        raise InputError(f"A name is 1 to {MAX_NAME} printable characters")


def human_waits(actions: Iterable[Any]) -> frozenset[str]:
    """The names of the actions (registry descriptors: ``name``, ``cls``) that are human waits."""
    return frozenset(a.name for a in actions if getattr(a.cls, "human_wait", False) is True)
