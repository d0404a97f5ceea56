"""The kinds of named definitions, described once for every store.

Workflow definitions, cron triggers, environments, workbooks and ad-hoc actions
are all stored the same way: a row per record with a unique name (per
namespace where the kind has namespaces), created once, replaced by name,
found by id or by name, deleted, listed. A :class:`DefinitionKind` says what
differs between them: the columns of the unique name, whether an id is tried
first, and the messages of the errors (Mistral's, where the port asks for them).

Lookups by name look only in the namespace asked for: falling back to the
default namespace is the caller's choice, never the store's.

Names are unique per project (as in Mistral: ``(name, namespace, project_id)``). Every
lookup is made for a :class:`~mistral_core.model.Viewer`: a name several projects use means
the viewer's own definition, else the oldest public one (or workflow shared with the viewer's
project, which accepted it), else (a viewer of every project) the oldest of all; an id, or a
name, the viewer does not see is not found, with the same message. Deleting a workflow deletes
its memberships in the same transaction (as Mistral does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import (
    EVERY_PROJECT,
    ActionDefinition,
    CodeSource,
    CronTrigger,
    DynamicActionDefinition,
    Environment,
    Query,
    Viewer,
    Workbook,
    WorkflowDefinition,
)
from mistral_core.model.members import WORKFLOW
from mistral_core.model.projects import OTHER, OWN
from mistral_core.persistence.columns import (
    ACTION_DEFINITIONS,
    CODE_SOURCES,
    CRON_TRIGGERS,
    DYNAMIC_ACTIONS,
    ENVIRONMENTS,
    WORKBOOKS,
    WORKFLOW_DEFINITIONS,
    Row,
    TableSpec,
)

Message = Callable[[str, str], str]


@dataclasses.dataclass(frozen=True, slots=True)
class DefinitionKind:
    """One kind of named definition.

    Args:
        table: its table.
        keys: the columns of its name, ``("name",)`` or ``("name", "namespace")``; with
            ``project_id`` they are unique.
        by_id: lookups try the identifier as an id before trying it as a name.
        exists: the message of a duplicate name, from (name, namespace).
        missing: the message of a failed lookup, from (identifier, namespace).
        shared_as: the ``resource_type`` its records are shared as with other projects
            (:mod:`mistral_core.model.members`), or ``None``: never shared.
    """

    table: TableSpec
    keys: tuple[str, ...]
    by_id: bool
    exists: Message
    missing: Message
    shared_as: str | None = None

    @property
    def unique(self) -> tuple[str, ...]:
        """The columns of the unique name: the name's, and ``project_id``."""
        return (*self.keys, "project_id")

    @property
    def replaced(self) -> tuple[str, ...]:
        """The fields a replacement writes besides ``updated_at``: all but the id, the name, the
        project and ``created_at``, in field order."""
        kept = {"id", "created_at", "updated_at", *self.unique}
        return tuple(name for name in self.table.names if name not in kept)

    def key(self, name: str, namespace: str) -> tuple[str, ...]:
        """The values of a name (``namespace`` is dropped where the kind has none)."""
        return (name, namespace)[: len(self.keys)]

    def key_of(self, record: Any) -> tuple[str, ...]:
        """The unique name of ``record``: its name's values and its project."""
        return tuple(getattr(record, column) for column in self.unique)

    def visible(self, row: Row, viewer: Viewer, shared: Collection[str] = ()) -> bool:
        """Whether ``viewer`` sees the record of ``row`` (``shared``: the ids, among those of the
        rows asked about, shared with the viewer's project and accepted)."""
        return viewer.sees(row[self._project_at], row[self._scope_at], row[0] in shared)

    def nearest(self, rows: Iterable[Row], viewer: Viewer, shared: Collection[str] = ()) -> Row | None:
        """Of rows of one name (oldest first), the one ``viewer`` means: its own, else the oldest
        public (or ``shared``) one, else (a viewer of every project) the oldest; ``None`` if it
        sees none."""
        best: Row | None = None
        best_rank = OTHER + 1
        for row in rows:
            rank = viewer.rank(row[self._project_at], row[self._scope_at], row[0] in shared)
            if rank is not None and rank < best_rank:
                best, best_rank = row, rank
        return best

    @property
    def _project_at(self) -> int:
        return self.table.index_of("project_id")

    @property
    def _scope_at(self) -> int:
        return self.table.index_of("scope")

    def duplicate(self, record: Any) -> DuplicateError:
        """The error of creating ``record`` when its name is taken."""
        return DuplicateError(self.exists(record.name, getattr(record, "namespace", "")))

    def duplicate_id(self, record: Any) -> DuplicateError:
        """The error of creating ``record`` when its id is taken."""
        return DuplicateError(f"{self.table.label} with id '{record.id}' already exists")

    def not_found(self, identifier: str, namespace: str = "") -> NotFoundError:
        """The error of looking up what does not exist."""
        return NotFoundError(self.missing(identifier, namespace))


def _in_namespace(namespace: str) -> str:
    return f", namespace={namespace}" if namespace else ""


WORKFLOW_KIND = DefinitionKind(
    WORKFLOW_DEFINITIONS,
    ("name", "namespace"),
    by_id=True,
    exists=lambda name, ns: f"Workflow '{name}' already exists in namespace '{ns}'",
    missing=lambda identifier, ns: f"Workflow not found [workflow_identifier={identifier}, namespace={ns}]",
    shared_as=WORKFLOW,
)
CRON_TRIGGER_KIND = DefinitionKind(
    CRON_TRIGGERS,
    ("name",),
    by_id=True,
    exists=lambda name, _: f"CronTrigger '{name}' already exists",
    missing=lambda identifier, _: f"CronTrigger not found [identifier={identifier}]",
)
ENVIRONMENT_KIND = DefinitionKind(
    ENVIRONMENTS,
    ("name",),
    by_id=True,
    exists=lambda name, _: f"Environment '{name}' already exists",
    missing=lambda identifier, _: f"Environment not found [name={identifier}]",
)
WORKBOOK_KIND = DefinitionKind(
    WORKBOOKS,
    ("name", "namespace"),
    by_id=False,
    exists=lambda name, ns: f"Workbook '{name}' already exists in namespace '{ns}'",
    missing=lambda name, ns: f"Workbook not found [name={name}{_in_namespace(ns)}]",
)
ACTION_KIND = DefinitionKind(
    ACTION_DEFINITIONS,
    ("name", "namespace"),
    by_id=True,
    exists=lambda name, ns: f"Action '{name}' already exists in namespace '{ns}'",
    missing=lambda identifier, ns: f"Action not found [name={identifier}{_in_namespace(ns)}]",
)

CODE_SOURCE_KIND = DefinitionKind(
    CODE_SOURCES,
    ("name", "namespace"),
    by_id=True,
    exists=lambda name, ns: (
        f"Duplicate entry for CodeSource ['name', 'namespace', 'project_id']: {name}, {ns}"
    ),
    missing=lambda identifier, ns: f"Code Source not found [name={identifier},namespace={ns}]",
)
DYNAMIC_ACTION_KIND = DefinitionKind(
    DYNAMIC_ACTIONS,
    ("name", "namespace"),
    by_id=True,
    exists=lambda name, ns: f"Duplicate entry for dynamic action definition [name={name}, namespace={ns}]",
    missing=lambda identifier, ns: f"Dynamic Action not found [name={identifier},namespace={ns}]",
)

DEFINITION_KINDS = (
    WORKFLOW_KIND,
    CRON_TRIGGER_KIND,
    ENVIRONMENT_KIND,
    WORKBOOK_KIND,
    ACTION_KIND,
    CODE_SOURCE_KIND,
    DYNAMIC_ACTION_KIND,
)


class DefinitionMethods:
    """The store's public methods for stored definitions, the same over every backend.

    A backend provides the generic primitives, driven by a :class:`DefinitionKind`; this class
    names them per kind, as the port spells them. Put it last among a store's bases.
    """

    def _create_definition(self, kind: DefinitionKind, record: Any) -> None:
        raise NotImplementedError

    def _replace_definition(self, kind: DefinitionKind, record: Any) -> None:
        raise NotImplementedError

    def _get_definition(self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer) -> Any:
        raise NotImplementedError

    def _delete_definition(
        self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer
    ) -> None:
        raise NotImplementedError

    def _list(self, table: TableSpec, query: Query) -> list[Any]:
        raise NotImplementedError

    def _shared_among(self, resource_type: str, ids: Sequence[str], project: str) -> frozenset[str]:
        """Of ``ids``, those shared with ``project`` and accepted (the members part answers)."""
        raise NotImplementedError

    def _delete_members_of(self, resource_type: str, resource_id: str) -> None:
        """Delete every membership of a record that is being deleted (the members part does it)."""
        raise NotImplementedError

    def _nearest(self, kind: DefinitionKind, rows: Sequence[Row], viewer: Viewer) -> Row | None:
        """:meth:`DefinitionKind.nearest`, with what is shared with the viewer's project. Asks
        the memberships only when the viewer has no record of that name of its own."""
        row = kind.nearest(rows, viewer)
        if kind.shared_as is None or viewer.all_projects:
            return row
        if row is not None and viewer.rank(row[kind.table.index_of("project_id")]) == OWN:
            return row
        unseen = [other[0] for other in rows if not kind.visible(other, viewer)]
        shared = self._shared_among(kind.shared_as, unseen, viewer.project) if unseen else frozenset()
        return kind.nearest(rows, viewer, shared) if shared else row

    def _sees_definition(self, kind: DefinitionKind, row: Row, viewer: Viewer) -> bool:
        """:meth:`DefinitionKind.visible`, with what is shared with the viewer's project."""
        if kind.visible(row, viewer):
            return True
        return kind.shared_as is not None and bool(
            self._shared_among(kind.shared_as, [row[0]], viewer.project)
        )

    def _update_record(self, table: TableSpec, record: Any, fields: Sequence[str]) -> None:
        raise NotImplementedError

    def create_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Store a new definition.

        Raises:
            DuplicateError: a definition with that (name, namespace) in its project, or that id, exists.
        """
        self._create_definition(WORKFLOW_KIND, wf_def)

    def update_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Replace the definition with the same (name, namespace, project); its id and created_at stay.

        Raises:
            NotFoundError: no such definition.
        """
        self._replace_definition(WORKFLOW_KIND, wf_def)

    def get_workflow_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> WorkflowDefinition:
        """The definition whose id, or else name (in ``namespace`` only), is ``identifier``.

        Raises:
            NotFoundError: no such definition (that ``viewer`` sees).
        """
        wf_def: WorkflowDefinition = self._get_definition(WORKFLOW_KIND, identifier, namespace, viewer)
        return wf_def

    def delete_workflow_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """Delete by id or name, with its memberships; NotFoundError if none (that ``viewer`` sees)."""
        self._delete_definition(WORKFLOW_KIND, identifier, namespace, viewer)

    def list_workflow_definitions(self, query: Query) -> list[WorkflowDefinition]:
        """Definitions matching ``query``."""
        return self._list(WORKFLOW_KIND.table, query)

    # -- cron triggers ------------------------------------------------------------------
    def create_cron_trigger(self, trigger: CronTrigger) -> None:
        """Store a new trigger; DuplicateError if the name (or the id) exists."""
        self._create_definition(CRON_TRIGGER_KIND, trigger)

    def get_cron_trigger(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> CronTrigger:
        """By id or name; NotFoundError ``CronTrigger not found [identifier=...]``."""
        trigger: CronTrigger = self._get_definition(CRON_TRIGGER_KIND, identifier, "", viewer)
        return trigger

    def update_cron_trigger(self, trigger: CronTrigger, fields: Sequence[str]) -> None:
        """Write ``fields`` of the trigger (matched by id) and its ``updated_at``.

        Raises:
            NotFoundError: no trigger with that id.
            InputError: an unknown field name.
        """
        self._update_record(CRON_TRIGGER_KIND.table, trigger, fields)

    def delete_cron_trigger(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> None:
        """By id or name; NotFoundError if none."""
        self._delete_definition(CRON_TRIGGER_KIND, identifier, "", viewer)

    def list_cron_triggers(self, query: Query) -> list[CronTrigger]:
        """Triggers matching ``query``."""
        return self._list(CRON_TRIGGER_KIND.table, query)

    # -- environments -------------------------------------------------------------------
    def create_environment(self, env: Environment) -> None:
        """Store a new environment; DuplicateError if the name (or the id) exists."""
        self._create_definition(ENVIRONMENT_KIND, env)

    def update_environment(self, env: Environment) -> None:
        """Replace the environment with that name (its id and created_at stay); NotFoundError if none."""
        self._replace_definition(ENVIRONMENT_KIND, env)

    def get_environment(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> Environment:
        """By id or name; NotFoundError ``Environment not found [name=...]``."""
        env: Environment = self._get_definition(ENVIRONMENT_KIND, identifier, "", viewer)
        return env

    def delete_environment(self, identifier: str, viewer: Viewer = EVERY_PROJECT) -> None:
        """By id or name; NotFoundError if none."""
        self._delete_definition(ENVIRONMENT_KIND, identifier, "", viewer)

    def list_environments(self, query: Query) -> list[Environment]:
        """Environments matching ``query``."""
        return self._list(ENVIRONMENT_KIND.table, query)

    # -- workbooks ----------------------------------------------------------------------
    def create_workbook(self, workbook: Workbook) -> None:
        """Store a new workbook; DuplicateError if (name, namespace) (or the id) exists."""
        self._create_definition(WORKBOOK_KIND, workbook)

    def update_workbook(self, workbook: Workbook) -> None:
        """Replace the workbook with that (name, namespace); NotFoundError if none."""
        self._replace_definition(WORKBOOK_KIND, workbook)

    def get_workbook(self, name: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT) -> Workbook:
        """By (name, namespace); NotFoundError ``Workbook not found [name=...]``."""
        workbook: Workbook = self._get_definition(WORKBOOK_KIND, name, namespace, viewer)
        return workbook

    def delete_workbook(self, name: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete the workbook row only (the engine deletes its workflows and actions)."""
        self._delete_definition(WORKBOOK_KIND, name, namespace, viewer)

    def list_workbooks(self, query: Query) -> list[Workbook]:
        """Workbooks matching ``query``."""
        return self._list(WORKBOOK_KIND.table, query)

    # -- ad-hoc actions -----------------------------------------------------------------
    def create_action_definition(self, action_def: ActionDefinition) -> None:
        """Store a new ad-hoc action; DuplicateError if (name, namespace) (or the id) exists."""
        self._create_definition(ACTION_KIND, action_def)

    def update_action_definition(self, action_def: ActionDefinition) -> None:
        """Replace the ad-hoc action with that (name, namespace); NotFoundError if none."""
        self._replace_definition(ACTION_KIND, action_def)

    def get_action_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> ActionDefinition:
        """By id, or else name in ``namespace``; NotFoundError ``Action not found [name=...]``."""
        action_def: ActionDefinition = self._get_definition(ACTION_KIND, identifier, namespace, viewer)
        return action_def

    def delete_action_definition(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """By id, or else name in ``namespace``; NotFoundError if none."""
        self._delete_definition(ACTION_KIND, identifier, namespace, viewer)

    def list_action_definitions(self, query: Query) -> list[ActionDefinition]:
        """Ad-hoc actions matching ``query``."""
        return self._list(ACTION_KIND.table, query)

    # -- code sources and dynamic actions --------------------------------------------------
    def create_code_source(self, source: CodeSource) -> None:
        """Store a new code source; DuplicateError if (name, namespace) (or the id) exists."""
        self._create_definition(CODE_SOURCE_KIND, source)

    def update_code_source(self, source: CodeSource) -> None:
        """Replace the code source with that (name, namespace, project); NotFoundError if none."""
        self._replace_definition(CODE_SOURCE_KIND, source)

    def get_code_source(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> CodeSource:
        """By name in ``namespace``, or else id; NotFoundError ``Code Source not found [...]``."""
        source: CodeSource = self._get_definition(CODE_SOURCE_KIND, identifier, namespace, viewer)
        return source

    def delete_code_source(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """By name in ``namespace``, or else id; NotFoundError if none (its dynamic actions stay: the
        service deletes them)."""
        self._delete_definition(CODE_SOURCE_KIND, identifier, namespace, viewer)

    def list_code_sources(self, query: Query) -> list[CodeSource]:
        """Code sources matching ``query``."""
        return self._list(CODE_SOURCE_KIND.table, query)

    def create_dynamic_action(self, action_def: DynamicActionDefinition) -> None:
        """Store a new dynamic action; DuplicateError if (name, namespace) (or the id) exists."""
        self._create_definition(DYNAMIC_ACTION_KIND, action_def)

    def update_dynamic_action(self, action_def: DynamicActionDefinition) -> None:
        """Replace the dynamic action with that (name, namespace, project); NotFoundError if none."""
        self._replace_definition(DYNAMIC_ACTION_KIND, action_def)

    def get_dynamic_action(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> DynamicActionDefinition:
        """By name in ``namespace``, or else id; NotFoundError ``Dynamic Action not found [...]``."""
        action_def: DynamicActionDefinition = self._get_definition(
            DYNAMIC_ACTION_KIND, identifier, namespace, viewer
        )
        return action_def

    def delete_dynamic_action(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """By name in ``namespace``, or else id; NotFoundError if none."""
        self._delete_definition(DYNAMIC_ACTION_KIND, identifier, namespace, viewer)

    def list_dynamic_actions(self, query: Query) -> list[DynamicActionDefinition]:
        """Dynamic actions matching ``query``."""
        return self._list(DYNAMIC_ACTION_KIND.table, query)
