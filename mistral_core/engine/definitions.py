"""Workflow definitions: upload (validated), update, delete, and the spec snapshots executions run."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from mistral_core.engine.ports import Clock, ExecutionStore
from mistral_core.errors import NotFoundError
from mistral_core.lang.expressions import Evaluator
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.lang.validation import ParsedWorkflow, parse_workflows
from mistral_core.model import WorkflowDefinition


class Definitions:
    """Stores what users upload, and gives the engine the specs to run.

    Args:
        store: where definitions and spec snapshots live.
        evaluator: checks expressions at upload.
        clock: the time.
        new_id: makes ids.
    """

    def __init__(self, store: ExecutionStore, evaluator: Evaluator, clock: Clock, new_id: Callable[[], str]) -> None:
        self._store = store
        self._evaluator = evaluator
        self._clock = clock
        self._new_id = new_id
        self.spec = functools.lru_cache(maxsize=512)(self._load_spec)

    def validate_workflows(self, text: str) -> list[ParsedWorkflow]:
        """Parse and validate a workflow document; raises LanguageError."""
        return parse_workflows(text, self._evaluator)

    def create_workflows(self, text: str, namespace: str = "", scope: str = "private") -> list[WorkflowDefinition]:
        """Store every workflow of a document. DuplicateError if a name exists (nothing stored)."""
        parsed = self.validate_workflows(text)
        with self._store.atomic():
            defs = [self._definition(p, text, namespace, scope, None) for p in parsed]
            for wf_def in defs:
                self._store.create_workflow_definition(wf_def)
        return defs

    def update_workflows(self, text: str, namespace: str = "", scope: str = "private") -> list[WorkflowDefinition]:
        """Replace (or create) every workflow of a document; running executions keep their old spec."""
        parsed = self.validate_workflows(text)
        result = []
        with self._store.atomic():
            for p in parsed:
                try:
                    old: WorkflowDefinition | None = self._store.get_workflow_definition(p.name, namespace)
                except NotFoundError:
                    old = None
                wf_def = self._definition(p, text, namespace, scope, old)
                if old is None:
                    self._store.create_workflow_definition(wf_def)
                else:
                    self._store.update_workflow_definition(wf_def)
                result.append(wf_def)
        return result

    def delete_workflow(self, identifier: str, namespace: str = "") -> None:
        """Delete a workflow definition (its executions keep running on their snapshot)."""
        with self._store.atomic():
            self._store.delete_workflow_definition(identifier, namespace)

    def resolve_workflow(self, identifier: str, namespace: str = "") -> tuple[WorkflowDefinition, WorkflowSpec]:
        """A workflow by id or name: in ``namespace`` first, then in the default namespace.

        Raises:
            NotFoundError: ``Workflow not found [workflow_identifier=..., namespace=...]``.
        """
        try:
            wf_def = self._store.get_workflow_definition(identifier, namespace)
        except NotFoundError:
            if not namespace:
                raise
            wf_def = self._store.get_workflow_definition(identifier, "")
        return wf_def, self.spec(wf_def.spec["checksum"])

    def _definition(self, parsed: ParsedWorkflow, text: str, namespace: str, scope: str,
                    old: WorkflowDefinition | None) -> WorkflowDefinition:
        self._store.save_spec(parsed.checksum, {"name": parsed.name, "body": parsed.body})
        now = self._clock.now()
        return WorkflowDefinition(
            id=old.id if old else self._new_id(), name=parsed.name, definition=text,
            spec={"checksum": parsed.checksum, "interface": parsed.spec.interface(),
                  "input": parsed.spec.input_text()},
            checksum=hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
            namespace=namespace, tags=parsed.spec.tags, scope=scope,
            created_at=old.created_at if old else now, updated_at=now if old else None,
        )

    def _load_spec(self, checksum: str) -> WorkflowSpec:
        stored = self._store.get_spec(checksum)
        return WorkflowSpec.build(stored["name"], stored["body"])
