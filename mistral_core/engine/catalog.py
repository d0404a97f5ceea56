"""The engine's action catalog: Python actions (the registry) and ad-hoc actions (stored definitions).

An ad-hoc action resolves, through its ``base`` chain, to a Python action: its
declared input is checked (defaults filled), each ``base-input`` is evaluated
with the input of the level above as ``$``, and the ``output`` transformations
are collected to be applied to the result, innermost first. Inside a workbook,
a short name finds the workbook's own action (``<workbook>.<name>``) first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from mistral_core.engine.ports import ActionCatalog, ExecutionStore, PreparedAction
from mistral_core.errors import ActionError, ExpressionError, NotFoundError
from mistral_core.lang.documents import AdhocSpec
from mistral_core.lang.expressions import Evaluator

MAX_DEPTH = 10
#: How long a looked-up ad-hoc action is trusted; changes made through this engine apply at once.
CACHE_SECONDS = 5.0


class Catalog:
    """Resolves action names for the conductor (the ActionCatalog port, plus ad-hoc actions).

    Args:
        python_actions: the registry of Python actions.
        store: where ad-hoc action definitions live.
        evaluator: evaluates ``base-input`` and ``output``.
    """

    def __init__(self, python_actions: ActionCatalog, store: ExecutionStore, evaluator: Evaluator) -> None:
        self._python = python_actions
        self._store = store
        self._evaluator = evaluator
        self._adhoc: dict[str, tuple[float, AdhocSpec | None]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop cached ad-hoc definitions (after one was created, changed or deleted)."""
        with self._lock:
            self._adhoc.clear()

    def python_actions(self) -> list[Any]:
        """The Python actions (for ``GET /v2/actions``)."""
        lister = getattr(self._python, "list", None)
        return [*lister()] if lister else []

    def prepare(
        self,
        name: str,
        action_input: dict[str, Any],
        workflow_name: str | None = None,
        context: Callable[[], dict[str, Any]] | None = None,
    ) -> PreparedAction:
        """Resolve ``name`` (workbook-local first) and check the call.

        ``context`` gives the calling task's expression data: an ad-hoc action's ``base-input``
        sees it behind the action's own input (as in Mistral).

        Raises:
            ActionError: unknown action, bad input, an ad-hoc chain that loops or fails to evaluate.
        """
        if workflow_name and "." in workflow_name:
            local = f"{workflow_name.rsplit('.', 1)[0]}.{name}"
            if self._adhoc_spec(local) is not None:
                name = local
        spec = self._adhoc_spec(name)
        if spec is None:
            return self._python.prepare(name, action_input)
        return self._prepare_adhoc(spec, action_input, context() if context else {})

    def _prepare_adhoc(
        self, top: AdhocSpec, action_input: dict[str, Any], context: dict[str, Any]
    ) -> PreparedAction:
        spec: AdhocSpec | None = top
        current = dict(action_input)
        transforms: list[Any] = []
        seen: list[str] = []
        while spec is not None:
            if spec.name in seen or len(seen) >= MAX_DEPTH:
                raise ActionError(
                    f"Ad-hoc action {top.name}: its base chain loops ({' -> '.join([*seen, spec.name])})"
                )
            seen.append(spec.name)
            current = self._base_input(spec, current, context)
            if spec.has_output:
                transforms.insert(0, spec.output)
            base = spec.base
            spec = self._adhoc_spec(base)
        prepared = self._python.prepare(base, current)
        return PreparedAction(
            name=top.name,
            is_sync=prepared.is_sync,
            safe_rerun=prepared.safe_rerun,
            run_as=prepared.name,
            run_input=current,
            transforms=tuple(transforms),
        )

    def _base_input(self, spec: AdhocSpec, given: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
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
            evaluated = self._evaluator.evaluate({**spec.base_params, **spec.base_input}, data)
        except ExpressionError as exc:
            raise ActionError(f"Ad-hoc action {spec.name}: base-input: {exc}") from None
        return dict(evaluated)

    def transform(self, transforms: list[Any], result: Any) -> Any:
        """Apply ad-hoc ``output`` transformations to a result (``$`` / ``_`` is the result itself).

        Raises:
            ExpressionError: a transformation failed.
        """
        for spec_output in transforms:
            result = self._evaluator.evaluate(spec_output, result)
        return result

    def _adhoc_spec(self, name: str) -> AdhocSpec | None:
        now = time.monotonic()
        with self._lock:
            cached = self._adhoc.get(name)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        spec: AdhocSpec | None
        try:
            stored = self._store.get_action_definition(name)
            spec = AdhocSpec.build(stored.name, stored.spec)
        except (NotFoundError, AttributeError):
            spec = None
        with self._lock:
            self._adhoc[name] = (now, spec)
        return spec
