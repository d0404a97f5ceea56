"""The engine's action catalog: Python actions (the registry) and ad-hoc actions (stored definitions).

An ad-hoc action resolves, through its ``base`` chain, to a Python action: its
declared input is checked (defaults filled), each ``base-input`` is evaluated
with the input of the level above as ``$``, and the ``output`` transformations
are collected to be applied to the result, innermost first. Inside a workbook,
a short name finds the workbook's own action (``<workbook>.<name>``) first.

Ad-hoc actions belong to projects: a name means the calling execution's own project's action,
else the oldest public one of that name (:mod:`~mistral_core.model.projects`); the names of its
``base`` chain are resolved for the project of the action that names them.

The catalog does no I/O. It holds the registry (fixed for the life of the
process) and a *snapshot* of the ad-hoc actions with the store's version of
them. The unit of work checks that version in every transaction that may use an
ad-hoc action (:meth:`Catalog.needs_check`) and refreshes the snapshot when
another process (or this one) changed a definition; a call that may resolve to
an ad-hoc action without that check raises :class:`~mistral_core.errors.NeedsData`.
So a definition changed anywhere applies to the next transaction everywhere.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mistral_core.engine.dynamic import PARAM as DYNAMIC_PARAM
from mistral_core.engine.dynamic import DynamicActions, DynamicSnapshot
from mistral_core.engine.dynamic import prepare as prepare_dynamic
from mistral_core.engine.ports import ActionCatalog, PreparedAction
from mistral_core.errors import ActionError, ExpressionError, NeedsData
from mistral_core.lang.documents import AdhocSpec
from mistral_core.lang.expressions import Evaluator, ExpressionRuntime, has_expression
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.model import (
    DEFAULT_PROJECT,
    ActionDefinition,
    ActionExecution,
    CodeSource,
    DynamicActionDefinition,
    RunAction,
)
from mistral_core.model.projects import PUBLIC

MAX_DEPTH = 10


@dataclasses.dataclass(frozen=True, slots=True)
class Owned:
    """One project's ad-hoc action of a name."""

    project: str
    public: bool
    spec: AdhocSpec


@dataclasses.dataclass(frozen=True, slots=True)
class AdhocSnapshot:
    """The ad-hoc actions of the default namespace as the store had them at ``version``: per name,
    every project's, oldest first."""

    version: Any = None
    specs: Mapping[str, tuple[Owned, ...]] = dataclasses.field(default_factory=dict)
    dynamic: DynamicSnapshot = dataclasses.field(default_factory=DynamicSnapshot)

    def find(self, name: str, project: str) -> Owned | None:
        """The action ``name`` means in ``project``: its own, else the oldest public one."""
        shared = None
        for owned in self.specs.get(name, ()):
            if owned.project == project:
                return owned
            if shared is None and owned.public:
                shared = owned
        return shared


class Catalog:
    """Resolves action names for the conductor (the ActionCatalog port, plus ad-hoc actions).

    Args:
        python_actions: the registry of Python actions.
        evaluator: evaluates ``base-input`` and ``output``.
        dynamic: reads the dynamic actions (None: they are off, and never resolved).
    """

    def __init__(
        self, python_actions: ActionCatalog, evaluator: Evaluator, dynamic: DynamicActions | None = None
    ) -> None:
        self._python = python_actions
        self._dynamic = dynamic
        self._evaluator = evaluator
        self._python_names = frozenset(d.name for d in self.python_actions())
        self._snapshot = AdhocSnapshot()
        self._lock = threading.Lock()
        self._needs: dict[int, tuple[WorkflowSpec, bool]] = {}

    # -- the snapshot of ad-hoc actions ------------------------------------------------
    @property
    def version(self) -> Any:
        """The store's version of the ad-hoc actions the snapshot holds (None: never read)."""
        return self._snapshot.version

    @property
    def dynamic_on(self) -> bool:
        """Whether dynamic actions are resolved (the ``dynamic_actions`` setting)."""
        return self._dynamic is not None

    def refresh(
        self,
        version: Any,
        definitions: Iterable[ActionDefinition],
        dynamic_defs: Iterable[DynamicActionDefinition] = (),
        sources: Iterable[CodeSource] = (),
    ) -> None:
        """Replace the snapshot with these definitions (oldest first), read at ``version``: the
        ad-hoc actions, and (when they are on) the dynamic actions with their code sources."""
        specs: dict[str, list[Owned]] = {}
        for d in definitions:
            if d.namespace == "":
                owned = Owned(d.project_id, d.scope == PUBLIC, AdhocSpec.build(d.name, d.spec))
                specs.setdefault(d.name, []).append(owned)
        dyn = self._dynamic.snapshot(dynamic_defs, sources) if self._dynamic else DynamicSnapshot()
        with self._lock:
            self._snapshot = AdhocSnapshot(
                version, {name: tuple(found) for name, found in specs.items()}, dyn
            )

    def python_names(self) -> frozenset[str]:
        """The exact names of the Python actions."""
        return self._python_names

    def needs_check(self, spec: WorkflowSpec) -> bool:
        """Whether running ``spec`` may call an ad-hoc action (its names need the current snapshot)."""
        cached = self._needs.get(id(spec))
        if cached is not None and cached[0] is spec:
            return cached[1]
        answer = "." in spec.name or any(
            task.action is not None and (has_expression(task.action) or task.action not in self._python_names)
            for task in spec.tasks.values()
        )
        if len(self._needs) > 4096:
            self._needs.clear()
        self._needs[id(spec)] = (spec, answer)
        return answer

    def python_actions(self) -> list[Any]:
        """The Python actions (for ``GET /v2/actions``)."""
        lister = getattr(self._python, "list", None)
        return [*lister()] if lister else []

    # -- resolving --------------------------------------------------------------------
    def prepare(
        self,
        name: str,
        action_input: dict[str, Any],
        workflow_name: str | None = None,
        context: Callable[[], dict[str, Any]] | None = None,
        checked: bool = False,
        project: str = DEFAULT_PROJECT,
        runtime: ExpressionRuntime | None = None,
    ) -> PreparedAction:
        """Resolve ``name`` (workbook-local first) for ``project`` and check the call.

        ``context`` gives the calling task's expression data: an ad-hoc action's ``base-input``
        sees it behind the action's own input (as in Mistral), and ``runtime`` gives it ``env()``,
        ``task()``... ``checked`` says whether the snapshot of ad-hoc actions was checked against the
        store in this transaction. ``project`` is the calling execution's (or the caller's, for an
        action run alone).

        Raises:
            ActionError: unknown action, bad input, an ad-hoc chain that loops or fails to evaluate.
            NeedsData: the name may be an ad-hoc action and the snapshot was not checked.
        """
        in_workbook = bool(workflow_name and "." in workflow_name)
        if name in self._python_names and not in_workbook:
            return self._python.prepare(name, action_input)
        if not checked:
            raise NeedsData(catalog=True)
        snapshot = self._snapshot
        found = None
        if in_workbook and workflow_name:
            found = snapshot.find(f"{workflow_name.rsplit('.', 1)[0]}.{name}", project)
        found = found or snapshot.find(name, project)
        if found is None:
            return self._leaf(snapshot, name, action_input, project)
        return self._prepare_adhoc(snapshot, found, action_input, context() if context else {}, runtime)

    def _prepare_adhoc(
        self,
        snapshot: AdhocSnapshot,
        top: Owned,
        action_input: dict[str, Any],
        context: dict[str, Any],
        runtime: ExpressionRuntime | None,
    ) -> PreparedAction:
        owned: Owned | None = top
        current = dict(action_input)
        transforms: list[Any] = []
        seen: list[str] = []
        while owned is not None:
            spec = owned.spec
            if spec.name in seen or len(seen) >= MAX_DEPTH:
                raise ActionError(
                    f"Ad-hoc action {top.spec.name}: its base chain loops ({' -> '.join([*seen, spec.name])})"
                )
            seen.append(spec.name)
            current = self._base_input(spec, current, context, runtime)
            if spec.has_output:
                transforms.insert(0, spec.output)
            base, project = spec.base, owned.project
            owned = snapshot.find(base, project)
        prepared = self._leaf(snapshot, base, current, project)
        return PreparedAction(
            name=top.spec.name,
            is_sync=prepared.is_sync,
            safe_rerun=prepared.safe_rerun,
            run_as=prepared.name,
            run_input=current,
            transforms=tuple(transforms),
            dynamic=prepared.dynamic,
        )

    def _leaf(
        self, snapshot: AdhocSnapshot, name: str, action_input: dict[str, Any], project: str
    ) -> PreparedAction:
        """A name that is no ad-hoc action: a dynamic action's (when they are on), else a Python one."""
        found = snapshot.dynamic.find(name, project) if name not in self._python_names else None
        if found is None:
            return self._python.prepare(name, action_input)
        return prepare_dynamic(found, action_input)

    def dynamic_actions(self) -> DynamicSnapshot:
        """The dynamic actions of the snapshot (for ``GET /v2/actions``)."""
        return self._snapshot.dynamic

    def attach_code(self, command: RunAction, params: Mapping[str, Any]) -> RunAction:
        """``command`` with the code of its dynamic action (from the snapshot), if it runs one."""
        if DYNAMIC_PARAM not in params:
            return command
        return dataclasses.replace(command, code=self._snapshot.dynamic.code(params))

    def _base_input(
        self,
        spec: AdhocSpec,
        given: dict[str, Any],
        context: dict[str, Any],
        runtime: ExpressionRuntime | None,
    ) -> dict[str, Any]:
        declared = {p.name for p in spec.input}
        missing = [p.name for p in spec.input if p.required and p.name not in given]
        unexpected = [k for k in given if k not in declared] if spec.input else []
        if missing or unexpected:
            problems = [f"missing required parameter '{m}'" for m in missing]
            problems += [f"unexpected parameter '{u}'" for u in unexpected]
            raise ActionError(f"Invalid input for action {spec.name}: {'; '.join(problems)}")
        data = {**context, **{p.name: p.default for p in spec.input if not p.required}}
        data.update(given)
        try:
            evaluated = self._evaluator.evaluate({**spec.base_params, **spec.base_input}, data, runtime)
        except ExpressionError as exc:
            raise ActionError(f"Ad-hoc action {spec.name}: base-input: {exc}") from None
        return dict(evaluated)

    def output_schema(self, action_ex: ActionExecution) -> Mapping[str, Any] | None:
        """The ``output_schema`` of the class of the action that ran (an ad-hoc action's base)."""
        lookup = getattr(self._python, "output_schema", None)
        return lookup(action_ex.params.get("run_as", action_ex.name)) if lookup else None

    def transform(self, transforms: list[Any], result: Any) -> Any:
        """Apply ad-hoc ``output`` transformations to a result (``$`` / ``_`` is the result itself).

        Raises:
            ExpressionError: a transformation failed.
        """
        for spec_output in transforms:
            result = self._evaluator.evaluate(spec_output, result)
        return result
