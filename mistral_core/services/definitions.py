"""Workflow definitions: upload (validated), update, delete, and the spec snapshots executions run.

Every definition belongs to the project of whoever uploaded it (``viewer.project``); names are
unique per project. A document uploaded again (``PUT``) replaces the uploader's own definitions
of those names. Deleting or changing another project's public definition is refused (403, as
Mistral refuses it for workflows); one the caller does not see at all is not found (404).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

from mistral_core.engine.ports import Clock, ExecutionStore
from mistral_core.errors import ConflictError, DuplicateError, Forbidden, InputError, NotFoundError
from mistral_core.lang.documents import ParsedAction, ParsedWorkbook, parse_actions, parse_workbook
from mistral_core.lang.expressions import Evaluator
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.lang.validation import ParsedWorkflow, parse_workflows
from mistral_core.model import (
    EVERY_PROJECT,
    ActionDefinition,
    CodeSource,
    CronTrigger,
    DynamicActionDefinition,
    Environment,
    Filter,
    Query,
    Viewer,
    Workbook,
    WorkflowDefinition,
)
from mistral_core.model.event_triggers import EventTrigger
from mistral_core.model.members import WORKFLOW
from mistral_core.model.projects import PUBLIC

OwnedRecord = (
    WorkflowDefinition
    | ActionDefinition
    | Workbook
    | Environment
    | CronTrigger
    | CodeSource
    | DynamicActionDefinition
    | EventTrigger
)
R = TypeVar("R", bound=OwnedRecord)


def _refuse_if_used(
    wf_def: WorkflowDefinition, kind: str, used: Sequence[CronTrigger | EventTrigger], viewer: Viewer
) -> None:
    """Refuse to delete a workflow that triggers of ``kind`` start, naming those ``viewer`` sees."""
    if not used:
        return
    names = ", ".join(sorted(t.name or t.id for t in used if viewer.sees(t.project_id, t.scope)))
    others = sum(1 for t in used if not viewer.sees(t.project_id, t.scope))
    names += f"{', ' if names else ''}{others} of other projects" if others else ""
    raise ConflictError(f"Workflow '{wf_def.name}' is used by {kind} trigger(s) {names}: delete them first")


def check_owner(viewer: Viewer, record: OwnedRecord) -> None:
    """Let ``viewer`` change or delete ``record``, or refuse (Mistral's message).

    Raises:
        Forbidden: the record is another project's (public, or it would not have been found).
    """
    if not viewer.owns(record.project_id):
        raise Forbidden(f"Can not access {_LABELS[type(record)]} resource of other projects, ID: {record.id}")


_LABELS: dict[type, str] = {
    WorkflowDefinition: "WorkflowDefinition",
    ActionDefinition: "ActionDefinition",
    Workbook: "Workbook",
    Environment: "Environment",
    CronTrigger: "CronTrigger",
    CodeSource: "CodeSource",
    DynamicActionDefinition: "DynamicActionDefinition",
}


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
        self, text: str, namespace: str = "", scope: str = "private", viewer: Viewer = EVERY_PROJECT
    ) -> list[WorkflowDefinition]:
        """Store every workflow of a document in ``viewer``'s project. DuplicateError if a name
        exists there (nothing stored)."""
        parsed = self.validate_workflows(text)
        with self._store.atomic():
            defs = [self._definition(p, text, namespace, scope, None, viewer.project) for p in parsed]
            for wf_def in defs:
                self._store.create_workflow_definition(wf_def)
        return defs

    def update_workflows(
        self, text: str, namespace: str = "", scope: str = "private", viewer: Viewer = EVERY_PROJECT
    ) -> list[WorkflowDefinition]:
        """Replace (or create) every workflow of a document in ``viewer``'s project; running
        executions keep their old spec.

        Raises:
            Forbidden: a public workflow made private while other projects' cron triggers start it.
        """
        parsed = self.validate_workflows(text)
        result = []
        with self._store.atomic():
            for p in parsed:
                old = _own(self._store.get_workflow_definition, p.name, namespace, viewer.project)
                wf_def = self._definition(p, text, namespace, scope, old, viewer.project)
                if old is None:
                    self._store.create_workflow_definition(wf_def)
                else:
                    _check_unshared(self._store, old, scope)
                    self._store.update_workflow_definition(wf_def)
                result.append(wf_def)
        return result

    def update_workflow(
        self,
        identifier: str,
        text: str,
        namespace: str = "",
        scope: str = "private",
        viewer: Viewer = EVERY_PROJECT,
    ) -> WorkflowDefinition:
        """Replace one workflow, found by id (or name), with the one workflow of ``text``; a
        document naming another workflow renames it (``PUT /v2/workflows/<id>``, as Mistral).

        Raises:
            LanguageError: the document is not valid.
            InputError: the document defines more (or fewer) than one workflow.
            NotFoundError: no such workflow that ``viewer`` sees.
            Forbidden: another project's (public) workflow; made private while other projects'
                cron triggers start it.
            DuplicateError: renamed to a name the project already has in that namespace.
        """
        parsed = self.validate_workflows(text)
        if len(parsed) != 1:
            raise InputError(
                "More than one workflows are not supported for update with identifier. "
                f"[identifier: {identifier}]"
            )
        with self._store.atomic():
            old = self._store.get_workflow_definition(identifier, namespace, viewer)
            check_owner(viewer, old)
            _check_unshared(self._store, old, scope)
            wf_def = self._definition(parsed[0], text, old.namespace, scope, old, old.project_id)
            if wf_def.name == old.name:
                self._store.update_workflow_definition(wf_def)
                return wf_def
            taken = _own(self._store.get_workflow_definition, wf_def.name, old.namespace, old.project_id)
            if taken is not None:
                raise DuplicateError(
                    f"Workflow '{wf_def.name}' already exists in namespace '{old.namespace}'"
                )
            members = self._store.list_resource_members(WORKFLOW, old.id)  # deleted with the row
            self._store.delete_workflow_definition(old.id, old.namespace)
            self._store.create_workflow_definition(wf_def)  # the same id: cron triggers still start it
            for member in members:  # and it is still shared: a rename is no unsharing
                self._store.create_resource_member(member)
        return wf_def

    def delete_workflow(self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete a workflow definition (its executions keep running on their snapshot).

        Raises:
            NotFoundError: no such workflow that ``viewer`` sees.
            Forbidden: another project's (public) workflow.
            ConflictError: a cron or event trigger still starts it (delete the trigger first, as in
                Mistral).
        """
        with self._store.atomic():
            wf_def = self._store.get_workflow_definition(identifier, namespace, viewer)
            check_owner(viewer, wf_def)
            of_workflow = Query(filters=(Filter("workflow_id", "eq", wf_def.id),))
            _refuse_if_used(wf_def, "cron", self._store.list_cron_triggers(of_workflow), viewer)
            _refuse_if_used(wf_def, "event", self._store.list_event_triggers(of_workflow), viewer)
            self._store.delete_workflow_definition(wf_def.id, namespace)

    def resolve_workflow(
        self,
        identifier: str,
        namespace: str = "",
        caller: str | None = None,
        viewer: Viewer = EVERY_PROJECT,
    ) -> tuple[WorkflowDefinition, WorkflowSpec]:
        """A workflow by id or name, as ``viewer`` sees it: in ``namespace`` first, then in the
        default namespace; a name means the viewer's own workflow, else a public one.

        Inside a workbook (``caller`` is ``wb.x``), ``wb.<identifier>`` is tried first.

        Raises:
            NotFoundError: ``Workflow not found [workflow_identifier=..., namespace=...]``.
        """
        if caller and "." in caller and "." not in identifier:
            try:
                local = f"{caller.rsplit('.', 1)[0]}.{identifier}"
                return self.resolve_workflow(local, namespace, viewer=viewer)
            except NotFoundError:
                pass
        try:
            wf_def = self._store.get_workflow_definition(identifier, namespace, viewer)
        except NotFoundError:
            if not namespace:
                raise
            wf_def = self._store.get_workflow_definition(identifier, "", viewer)
        return wf_def, self.spec(wf_def.spec["checksum"])

    def _definition(
        self,
        parsed: ParsedWorkflow,
        text: str,
        namespace: str,
        scope: str,
        old: WorkflowDefinition | None,
        project: str,
    ) -> WorkflowDefinition:
        self._store.save_spec(parsed.checksum, {"name": parsed.name, "body": parsed.body})
        text = parsed.text if parsed.text is not None else text
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
            project_id=project,
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
        self, text: str, namespace: str = "", scope: str = "private", viewer: Viewer = EVERY_PROJECT
    ) -> list[ActionDefinition]:
        """Store every ad-hoc action of a document in ``viewer``'s project (all or nothing);
        DuplicateError if a name exists there."""
        parsed = self.validate_actions(text)
        with self._store.atomic():
            where = _Where(namespace, scope, viewer.project)
            defs = [self._action_definition(p, text, where, None, None) for p in parsed]
            for action_def in defs:
                self._check_not_python(action_def.name)
                self._store.create_action_definition(action_def)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return defs

    def update_actions(
        self, text: str, namespace: str = "", scope: str = "private", viewer: Viewer = EVERY_PROJECT
    ) -> list[ActionDefinition]:
        """Replace (or create) every ad-hoc action of a document in ``viewer``'s project."""
        parsed = self.validate_actions(text)
        with self._store.atomic():
            where = _Where(namespace, scope, viewer.project)
            result = [self._put_action(p, text, where, None) for p in parsed]
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return result

    def delete_action(self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete an ad-hoc action (Python actions cannot be deleted).

        Raises:
            NotFoundError: no such ad-hoc action that ``viewer`` sees.
            Forbidden: another project's (public) action.
        """
        with self._store.atomic():
            try:
                action_def = self._store.get_action_definition(identifier, namespace, viewer)
            except NotFoundError:
                self._check_not_python(identifier)
                raise
            check_owner(viewer, action_def)
            self._store.delete_action_definition(action_def.id, namespace)
            self._store.bump_catalog_version()  # the catalogs of every engine see it

    def _put_action(
        self, parsed: ParsedAction, text: str, where: _Where, workbook: str | None
    ) -> ActionDefinition:
        old = _own(self._store.get_action_definition, parsed.name, where.namespace, where.project)
        action_def = self._action_definition(parsed, text, where, old, workbook)
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
        where: _Where,
        old: ActionDefinition | None,
        workbook: str | None,
    ) -> ActionDefinition:
        now = self._clock.now()
        return ActionDefinition(
            id=old.id if old else self._new_id(),
            name=parsed.name,
            definition=text,
            spec=parsed.body,
            namespace=where.namespace,
            input=parsed.spec.input_text(),
            description=parsed.spec.description,
            tags=parsed.spec.tags,
            workbook_name=workbook,
            scope=where.scope,
            project_id=where.project,
            created_at=old.created_at if old else now,
            updated_at=now if old else None,
        )

    # -- workbooks ----------------------------------------------------------------------
    def validate_workbook(self, text: str) -> ParsedWorkbook:
        """Parse and validate a workbook; raises LanguageError."""
        return parse_workbook(text, self._evaluator)

    def create_workbook(
        self, text: str, namespace: str = "", scope: str = "private", viewer: Viewer = EVERY_PROJECT
    ) -> Workbook:
        """Store a workbook with its workflows (``wb.name``) and actions in ``viewer``'s project;
        all or nothing."""
        parsed = self.validate_workbook(text)
        where = _Where(namespace, scope, viewer.project)
        with self._store.atomic():
            workbook = _workbook(parsed, text, where, None, self._clock.now(), self._new_id)
            self._store.create_workbook(workbook)
            self._put_workbook_items(parsed, text, where)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return workbook

    def update_workbook(
        self, text: str, namespace: str = "", scope: str = "private", viewer: Viewer = EVERY_PROJECT
    ) -> Workbook:
        """Replace ``viewer``'s own workbook; its workflows and actions that are gone from it are deleted.

        Raises:
            NotFoundError: the project has no workbook of that name.
        """
        parsed = self.validate_workbook(text)
        where = _Where(namespace, scope, viewer.project)
        with self._store.atomic():
            old = _own(self._store.get_workbook, parsed.name, namespace, where.project)
            if old is None:
                raise NotFoundError(f"Workbook not found [name={parsed.name}{_in_namespace(namespace)}]")
            workbook = _workbook(parsed, text, where, old, self._clock.now(), self._new_id)
            self._store.update_workbook(workbook)
            self._delete_workbook_items(old, keep=parsed)
            self._put_workbook_items(parsed, text, where)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return workbook

    def delete_workbook(self, name: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete a workbook with its workflows and actions.

        Raises:
            NotFoundError: no such workbook that ``viewer`` sees.
            Forbidden: another project's (public) workbook.
        """
        with self._store.atomic():
            workbook = self._store.get_workbook(name, namespace, viewer)
            check_owner(viewer, workbook)
            self._delete_workbook_items(workbook, keep=None)
            self._store.delete_workbook(name, namespace, Viewer(workbook.project_id))
            self._store.bump_catalog_version()  # the catalogs of every engine see it

    def _put_workbook_items(self, parsed: ParsedWorkbook, text: str, where: _Where) -> None:
        for wf in parsed.workflows:
            old = _own(self._store.get_workflow_definition, wf.name, where.namespace, where.project)
            wf_def = self._definition(wf, text, where.namespace, where.scope, old, where.project)
            if old is None:
                self._store.create_workflow_definition(wf_def)
            else:
                self._store.update_workflow_definition(wf_def)
        for action in parsed.actions:
            self._put_action(action, text, where, parsed.name)

    def _delete_workbook_items(self, workbook: Workbook, keep: ParsedWorkbook | None) -> None:
        name, namespace = workbook.name, workbook.namespace
        kept_workflows = {w.name for w in keep.workflows} if keep else set()
        kept_actions = {a.name for a in keep.actions} if keep else set()
        prefix = Query(
            filters=(
                Filter("name", "has", f"{name}."),
                Filter("namespace", "eq", namespace),
                Filter("project_id", "eq", workbook.project_id),
            )
        )
        for wf_def in self._store.list_workflow_definitions(prefix):
            if wf_def.name.startswith(f"{name}.") and wf_def.name not in kept_workflows:
                self._store.delete_workflow_definition(wf_def.id, namespace)
        for action_def in self._store.list_action_definitions(prefix):
            if action_def.workbook_name == name and action_def.name not in kept_actions:
                self._store.delete_action_definition(action_def.id, namespace)


@dataclasses.dataclass(frozen=True, slots=True)
class _Where:
    """Where uploaded definitions go: their namespace, scope and project."""

    namespace: str
    scope: str
    project: str


def _own(get: Callable[[str, str, Viewer], R], name: str, namespace: str, project: str) -> R | None:
    """``project``'s own definition ``name`` (``get`` is the store's lookup of its kind), or None:
    a public definition of another project is not one a new upload replaces."""
    try:
        found = get(name, namespace, Viewer(project))
    except NotFoundError:
        return None
    return found if found.project_id == project else None


def _check_unshared(store: ExecutionStore, old: WorkflowDefinition, scope: str) -> None:
    """A public workflow may become private only if no other project's cron (or event) trigger
    starts it.

    Raises:
        Forbidden: one does (Mistral's message, for cron triggers).
    """
    if old.scope != PUBLIC or scope == PUBLIC:
        return
    of_workflow = Query(filters=(Filter("workflow_id", "eq", old.id),))
    for kind, triggers in (
        ("cron", store.list_cron_triggers(of_workflow)),
        ("event", store.list_event_triggers(of_workflow)),
    ):
        if any(trigger.project_id != old.project_id for trigger in triggers):
            raise Forbidden(
                f"Can not update scope of workflow that has {kind} triggers associated in other "
                f"tenants. [workflow_identifier={old.name}, namespace={old.namespace}]"
            )


def _workbook(
    parsed: ParsedWorkbook,
    text: str,
    where: _Where,
    old: Workbook | None,
    now: dt.datetime,
    new_id: Callable[[], str],
) -> Workbook:
    return Workbook(
        id=old.id if old else new_id(),
        name=parsed.name,
        definition=text,
        namespace=where.namespace,
        tags=parsed.tags,
        scope=where.scope,
        project_id=where.project,
        created_at=old.created_at if old else now,
        updated_at=now if old else None,
    )


def _in_namespace(namespace: str) -> str:
    return f", namespace={namespace}" if namespace else ""
