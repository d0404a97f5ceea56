"""Workflow definitions: upload (validated), update, delete, and the spec snapshots executions run."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from mistral_core.engine.ports import Clock, ExecutionStore
from mistral_core.errors import ConflictError, InputError, NotFoundError
from mistral_core.lang.documents import ParsedAction, ParsedWorkbook, parse_actions, parse_workbook
from mistral_core.lang.expressions import Evaluator
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.lang.validation import ParsedWorkflow, parse_workflows
from mistral_core.model import ActionDefinition, Environment, Filter, Query, Workbook, WorkflowDefinition


class Definitions:
    """Stores what users upload, and gives the engine the specs to run.

    Args:
        store: where definitions and spec snapshots live.
        evaluator: checks expressions at upload.
        clock: the time.
        new_id: makes ids.
    """

    def __init__(
        self,
        store: ExecutionStore,
        evaluator: Evaluator,
        clock: Clock,
        new_id: Callable[[], str],
        python_action_names: Callable[[], frozenset[str]] = frozenset,
    ) -> None:
        self._store = store
        self._evaluator = evaluator
        self._clock = clock
        self._new_id = new_id
        self._python_action_names = python_action_names
        self.spec = functools.lru_cache(maxsize=512)(self._load_spec)

    def validate_workflows(self, text: str) -> list[ParsedWorkflow]:
        """Parse and validate a workflow document; raises LanguageError."""
        return parse_workflows(text, self._evaluator)

    def create_workflows(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[WorkflowDefinition]:
        """Store every workflow of a document. DuplicateError if a name exists (nothing stored)."""
        parsed = self.validate_workflows(text)
        with self._store.atomic():
            defs = [self._definition(p, text, namespace, scope, None) for p in parsed]
            for wf_def in defs:
                self._store.create_workflow_definition(wf_def)
        return defs

    def update_workflows(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[WorkflowDefinition]:
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
        """Delete a workflow definition (its executions keep running on their snapshot).

        Raises:
            ConflictError: a cron trigger still starts it (delete the trigger first, as in Mistral).
        """
        with self._store.atomic():
            wf_def = self._store.get_workflow_definition(identifier, namespace)
            used = self._store.list_cron_triggers(Query(filters=(Filter("workflow_id", "eq", wf_def.id),)))
            if used:
                names = ", ".join(sorted(t.name for t in used))
                raise ConflictError(
                    f"Workflow '{wf_def.name}' is used by cron trigger(s) {names}: delete them first"
                )
            self._store.delete_workflow_definition(wf_def.id, namespace)

    def resolve_workflow(
        self, identifier: str, namespace: str = "", caller: str | None = None
    ) -> tuple[WorkflowDefinition, WorkflowSpec]:
        """A workflow by id or name: in ``namespace`` first, then in the default namespace.

        Inside a workbook (``caller`` is ``wb.x``), ``wb.<identifier>`` is tried first.

        Raises:
            NotFoundError: ``Workflow not found [workflow_identifier=..., namespace=...]``.
        """
        if caller and "." in caller and "." not in identifier:
            try:
                return self.resolve_workflow(f"{caller.rsplit('.', 1)[0]}.{identifier}", namespace)
            except NotFoundError:
                pass
        try:
            wf_def = self._store.get_workflow_definition(identifier, namespace)
        except NotFoundError:
            if not namespace:
                raise
            wf_def = self._store.get_workflow_definition(identifier, "")
        return wf_def, self.spec(wf_def.spec["checksum"])

    def _definition(
        self, parsed: ParsedWorkflow, text: str, namespace: str, scope: str, old: WorkflowDefinition | None
    ) -> WorkflowDefinition:
        self._store.save_spec(parsed.checksum, {"name": parsed.name, "body": parsed.body})
        now = self._clock.now()
        return WorkflowDefinition(
            id=old.id if old else self._new_id(),
            name=parsed.name,
            definition=text,
            spec={
                "checksum": parsed.checksum,
                "interface": parsed.spec.interface(),
                "input": parsed.spec.input_text(),
            },
            checksum=hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
            namespace=namespace,
            tags=parsed.spec.tags,
            scope=scope,
            created_at=old.created_at if old else now,
            updated_at=now if old else None,
        )

    def _load_spec(self, checksum: str) -> WorkflowSpec:
        stored = self._store.get_spec(checksum)
        return WorkflowSpec.build(stored["name"], stored["body"])

    # -- ad-hoc actions -------------------------------------------------------------------
    def validate_actions(self, text: str) -> list[ParsedAction]:
        """Parse and validate an ad-hoc actions document; raises LanguageError."""
        return parse_actions(text, self._evaluator)

    def create_actions(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[ActionDefinition]:
        """Store every ad-hoc action of a document (all or nothing); DuplicateError if a name exists."""
        parsed = self.validate_actions(text)
        with self._store.atomic():
            defs = [self._action_definition(p, text, namespace, scope, None, None) for p in parsed]
            for action_def in defs:
                self._check_not_python(action_def.name)
                self._store.create_action_definition(action_def)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return defs

    def update_actions(
        self, text: str, namespace: str = "", scope: str = "private"
    ) -> list[ActionDefinition]:
        """Replace (or create) every ad-hoc action of a document."""
        parsed = self.validate_actions(text)
        with self._store.atomic():
            result = [self._put_action(p, text, namespace, scope, None) for p in parsed]
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return result

    def delete_action(self, identifier: str, namespace: str = "") -> None:
        """Delete an ad-hoc action (Python actions cannot be deleted)."""
        with self._store.atomic():
            try:
                self._store.delete_action_definition(identifier, namespace)
            except NotFoundError:
                self._check_not_python(identifier)
                raise
            self._store.bump_catalog_version()  # the catalogs of every engine see it

    def _put_action(
        self, parsed: ParsedAction, text: str, namespace: str, scope: str, workbook: str | None
    ) -> ActionDefinition:
        try:
            old: ActionDefinition | None = self._store.get_action_definition(parsed.name, namespace)
        except NotFoundError:
            old = None
        action_def = self._action_definition(parsed, text, namespace, scope, old, workbook)
        if old is None:
            self._check_not_python(action_def.name)
            self._store.create_action_definition(action_def)
        else:
            self._store.update_action_definition(action_def)
        return action_def

    def _check_not_python(self, name: str) -> None:
        python_names = self._python_action_names()
        if name in python_names:
            raise InputError(
                f"Action '{name}' is a system (Python) action: it cannot be defined, changed or "
                "deleted through the API"
            )

    def _action_definition(
        self,
        parsed: ParsedAction,
        text: str,
        namespace: str,
        scope: str,
        old: ActionDefinition | None,
        workbook: str | None,
    ) -> ActionDefinition:
        now = self._clock.now()
        return ActionDefinition(
            id=old.id if old else self._new_id(),
            name=parsed.name,
            definition=text,
            spec=parsed.body,
            namespace=namespace,
            input=parsed.spec.input_text(),
            description=parsed.spec.description,
            tags=parsed.spec.tags,
            workbook_name=workbook,
            scope=scope,
            created_at=old.created_at if old else now,
            updated_at=now if old else None,
        )

    # -- workbooks ----------------------------------------------------------------------
    def validate_workbook(self, text: str) -> ParsedWorkbook:
        """Parse and validate a workbook; raises LanguageError."""
        return parse_workbook(text, self._evaluator)

    def create_workbook(self, text: str, namespace: str = "", scope: str = "private") -> Workbook:
        """Store a workbook with its workflows (``wb.name``) and actions; all or nothing."""
        parsed = self.validate_workbook(text)
        with self._store.atomic():
            workbook = self._workbook(parsed, text, namespace, scope, None)
            self._store.create_workbook(workbook)
            self._put_workbook_items(parsed, text, namespace, scope)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return workbook

    def update_workbook(self, text: str, namespace: str = "", scope: str = "private") -> Workbook:
        """Replace a workbook; its workflows and actions that are gone from it are deleted."""
        parsed = self.validate_workbook(text)
        with self._store.atomic():
            old = self._store.get_workbook(parsed.name, namespace)
            workbook = self._workbook(parsed, text, namespace, scope, old)
            self._store.update_workbook(workbook)
            self._delete_workbook_items(parsed.name, namespace, keep=parsed)
            self._put_workbook_items(parsed, text, namespace, scope)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return workbook

    def delete_workbook(self, name: str, namespace: str = "") -> None:
        """Delete a workbook with its workflows and actions."""
        with self._store.atomic():
            self._store.get_workbook(name, namespace)
            self._delete_workbook_items(name, namespace, keep=None)
            self._store.delete_workbook(name, namespace)
            self._store.bump_catalog_version()  # the catalogs of every engine see it

    def _put_workbook_items(self, parsed: ParsedWorkbook, text: str, namespace: str, scope: str) -> None:
        for wf in parsed.workflows:
            try:
                old: WorkflowDefinition | None = self._store.get_workflow_definition(wf.name, namespace)
            except NotFoundError:
                old = None
            wf_def = self._definition(wf, text, namespace, scope, old)
            if old is None:
                self._store.create_workflow_definition(wf_def)
            else:
                self._store.update_workflow_definition(wf_def)
        for action in parsed.actions:
            self._put_action(action, text, namespace, scope, parsed.name)

    def _delete_workbook_items(self, name: str, namespace: str, keep: ParsedWorkbook | None) -> None:
        kept_workflows = {w.name for w in keep.workflows} if keep else set()
        kept_actions = {a.name for a in keep.actions} if keep else set()
        prefix = Query(filters=(Filter("name", "has", f"{name}."), Filter("namespace", "eq", namespace)))
        for wf_def in self._store.list_workflow_definitions(prefix):
            if wf_def.name.startswith(f"{name}.") and wf_def.name not in kept_workflows:
                self._store.delete_workflow_definition(wf_def.id, namespace)
        for action_def in self._store.list_action_definitions(prefix):
            if action_def.workbook_name == name and action_def.name not in kept_actions:
                self._store.delete_action_definition(action_def.id, namespace)

    def _workbook(
        self, parsed: ParsedWorkbook, text: str, namespace: str, scope: str, old: Workbook | None
    ) -> Workbook:
        now = self._clock.now()
        return Workbook(
            id=old.id if old else self._new_id(),
            name=parsed.name,
            definition=text,
            namespace=namespace,
            tags=parsed.tags,
            scope=scope,
            created_at=old.created_at if old else now,
            updated_at=now if old else None,
        )

    # -- environments -------------------------------------------------------------------
    def create_environment(
        self, name: str, variables: dict[str, Any], description: str = "", scope: str = "private"
    ) -> Environment:
        """Store a named environment; DuplicateError if the name exists."""
        _check_environment(name, variables)
        env = Environment(
            id=self._new_id(),
            name=name,
            variables=variables,
            description=description or "",
            scope=scope,
            created_at=self._clock.now(),
        )
        with self._store.atomic():
            self._store.create_environment(env)
        return env

    def update_environment(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        description: str | None = None,
        scope: str | None = None,
    ) -> Environment:
        """Change an environment's variables, description or scope."""
        with self._store.atomic():
            old = self._store.get_environment(name)
            new = Environment(
                id=old.id,
                name=old.name,
                variables=old.variables if variables is None else variables,
                description=old.description if description is None else description,
                scope=old.scope if scope is None else scope,
                project_id=old.project_id,
                created_at=old.created_at,
                updated_at=self._clock.now(),
            )
            _check_environment(new.name, new.variables)
            self._store.update_environment(new)
        return new

    def delete_environment(self, name: str) -> None:
        """Delete an environment (executions started with it keep their copy)."""
        with self._store.atomic():
            self._store.delete_environment(name)


def _check_environment(name: str, variables: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InputError("An environment needs a non-empty 'name'")
    if not isinstance(variables, dict):
        raise InputError(f"An environment's 'variables' must be an object, not {type(variables).__name__}")
