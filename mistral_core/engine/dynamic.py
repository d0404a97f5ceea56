"""The dynamic actions as the catalog resolves them: a snapshot of the stored definitions with the
text of their code sources, read at the catalog's version.

No uploaded code runs here: a class's input and description are read from the module's text
(:mod:`mistral_core.lang.pysource`), and the text goes to the executor with the command
(:meth:`DynamicSnapshot.code`), so an executor never reads the database and always runs the
version the transaction that dispatched it saw (or a newer one, after a crash). Dynamic actions
run synchronously: ``run()`` returns the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from mistral_core.engine.ports import PreparedAction
from mistral_core.errors import ActionError, InputError
from mistral_core.lang.pysource import ClassOutline, ModuleOutline, outline
from mistral_core.model import CodeSource, DynamicActionDefinition
from mistral_core.model.projects import PUBLIC

#: The key of an action execution's ``params`` naming the code its dynamic action runs.
PARAM = "dynamic"


@dataclasses.dataclass(frozen=True, slots=True)
class OwnedDynamic:
    """One project's dynamic action of a name, with its code source (None: the source is gone)."""

    project: str
    public: bool
    definition: DynamicActionDefinition
    source: CodeSource | None
    cls: ClassOutline | None


@dataclasses.dataclass(frozen=True, slots=True)
class DynamicSnapshot:
    """The dynamic actions of the default namespace, per name, every project's, oldest first; and
    the code sources they name, by id."""

    actions: Mapping[str, tuple[OwnedDynamic, ...]] = dataclasses.field(default_factory=dict)
    sources: Mapping[str, CodeSource] = dataclasses.field(default_factory=dict)

    def find(self, name: str, project: str) -> OwnedDynamic | None:
        """The action ``name`` means in ``project``: its own, else the oldest public one."""
        shared = None
        for owned in self.actions.get(name, ()):
            if owned.project == project:
                return owned
            if shared is None and owned.public:
                shared = owned
        return shared

    def code(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """What an executor needs to run the dynamic action of an action execution's ``params``: its
        module's name and text, the class, the version (None: not a dynamic action, or its code
        source is gone: the executor then fails it as an unknown action)."""
        ref = params.get(PARAM)
        if not isinstance(ref, dict):
            return None
        source = self.sources.get(str(ref.get("code_source_id")))
        if source is None:
            return None
        return {
            "module": source.name,
            "class_name": ref.get("class_name"),
            "version": source.version,
            "content": source.content,
        }


class DynamicActions:
    """Builds snapshots of the dynamic actions, reading each version of a module once.

    Args:
        max_bytes: the largest code source read (the upload limit; larger ones are not run).
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._outlines: dict[tuple[str, int], ModuleOutline | None] = {}

    def snapshot(
        self, definitions: Iterable[DynamicActionDefinition], sources: Iterable[CodeSource]
    ) -> DynamicSnapshot:
        """A snapshot of these definitions (oldest first) and code sources."""
        by_id = {source.id: source for source in sources}
        outlines = {(s.id, s.version): self._outline(s) for s in by_id.values()}
        self._outlines = outlines  # versions no longer stored are forgotten
        found: dict[str, list[OwnedDynamic]] = {}
        for d in definitions:
            if d.namespace != "":
                continue
            source = by_id.get(d.code_source_id)
            module = outlines.get((source.id, source.version)) if source else None
            cls = module.classes.get(d.class_name) if module else None
            owned = OwnedDynamic(d.project_id, d.scope == PUBLIC, d, source, cls)
            found.setdefault(d.name, []).append(owned)
        return DynamicSnapshot({name: tuple(all_) for name, all_ in found.items()}, by_id)

    def _outline(self, source: CodeSource) -> ModuleOutline | None:
        key = (source.id, source.version)
        if key in self._outlines:
            return self._outlines[key]
        try:
            return outline(source.name, source.content, self._max_bytes)
        except InputError:
            return None


def prepare(owned: OwnedDynamic, action_input: Mapping[str, Any]) -> PreparedAction:
    """Check a call of a dynamic action (its class's signature, read from the text).

    Raises:
        ActionError: its code source is gone, its class is not in it, or the input does not fit.
    """
    d = owned.definition
    if owned.source is None:
        raise ActionError(f"Dynamic action {d.name}: its code source {d.code_source_name} no longer exists")
    if owned.cls is None:
        raise ActionError(
            f"Dynamic action {d.name}: class {d.class_name} is not in code source {owned.source.name}"
        )
    problems = owned.cls.input_problems(action_input)
    if problems:
        raise ActionError(f"Invalid input for action {d.name}: {'; '.join(problems)}")
    ref = {"code_source_id": owned.source.id, "class_name": d.class_name, "version": owned.source.version}
    return PreparedAction(name=d.name, is_sync=True, dynamic=ref)
