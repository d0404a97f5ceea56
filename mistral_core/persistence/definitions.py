"""The kinds of named definitions, described once for every store.

Workflow definitions, cron triggers, environments, workbooks and ad-hoc actions
are all stored the same way: a row per record with a unique name (per
namespace where the kind has namespaces), created once, replaced by name,
found by id or by name, deleted, listed. A :class:`DefinitionKind` says what
differs between them: the columns of the unique name, whether an id is tried
first, and the messages of the errors (Mistral's, where the port asks for them).

Lookups by name look only in the namespace asked for: falling back to the
default namespace is the caller's choice, never the store's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.persistence.columns import (
    ACTION_DEFINITIONS,
    CRON_TRIGGERS,
    ENVIRONMENTS,
    WORKBOOKS,
    WORKFLOW_DEFINITIONS,
    TableSpec,
)

Message = Callable[[str, str], str]


@dataclasses.dataclass(frozen=True, slots=True)
class DefinitionKind:
    """One kind of named definition.

    Args:
        table: its table.
        keys: the columns of its unique name, ``("name",)`` or ``("name", "namespace")``.
        by_id: lookups try the identifier as an id before trying it as a name.
        exists: the message of a duplicate name, from (name, namespace).
        missing: the message of a failed lookup, from (identifier, namespace).
    """

    table: TableSpec
    keys: tuple[str, ...]
    by_id: bool
    exists: Message
    missing: Message

    @property
    def replaced(self) -> tuple[str, ...]:
        """The fields a replacement writes besides ``updated_at``: all but the id, the name and
        ``created_at``, in field order."""
        kept = {"id", "created_at", "updated_at", *self.keys}
        return tuple(name for name in self.table.names if name not in kept)

    def key(self, name: str, namespace: str) -> tuple[str, ...]:
        """The values of the unique name (``namespace`` is dropped where the kind has none)."""
        return (name, namespace)[: len(self.keys)]

    def key_of(self, record: Any) -> tuple[str, ...]:
        """The unique name of ``record``."""
        return tuple(getattr(record, column) for column in self.keys)

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

DEFINITION_KINDS = (WORKFLOW_KIND, CRON_TRIGGER_KIND, ENVIRONMENT_KIND, WORKBOOK_KIND, ACTION_KIND)
