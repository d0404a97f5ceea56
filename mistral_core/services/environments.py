"""Environments: named sets of variables an execution may start with (``params.env``).

An execution copies the variables of the environment it names when it starts, so changing or
deleting an environment never changes a running execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mistral_core.engine.ports import Clock, ExecutionStore
from mistral_core.errors import InputError
from mistral_core.model import EVERY_PROJECT, Environment, Viewer
from mistral_core.services.definitions import check_owner


class Environments:
    """Creates, changes and deletes environments, each in its project.

    Args:
        store: where environments live.
        clock: the time.
        new_id: makes ids.
    """

    def __init__(self, store: ExecutionStore, clock: Clock, new_id: Callable[[], str]) -> None:
        self._store = store
        self._clock = clock
        self._new_id = new_id

    def create(
        self,
        name: str,
        variables: dict[str, Any],
        description: str = "",
        scope: str = "private",
        viewer: Viewer = EVERY_PROJECT,
    ) -> Environment:
        """Store a named environment in ``viewer``'s project; DuplicateError if the name exists there."""
        _check_environment(name, variables)
        env = Environment(
            id=self._new_id(),
            name=name,
            variables=variables,
            description=description or "",
            scope=scope,
            project_id=viewer.project,
            created_at=self._clock.now(),
        )
        with self._store.atomic():
            self._store.create_environment(env)
        return env

    def update(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        description: str | None = None,
        scope: str | None = None,
        viewer: Viewer = EVERY_PROJECT,
    ) -> Environment:
        """Change an environment's variables, description or scope.

        Raises:
            NotFoundError: no such environment that ``viewer`` sees.
            Forbidden: another project's (public) environment.
        """
        with self._store.atomic():
            old = self._store.get_environment(name, viewer)
            check_owner(viewer, old)
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

    def delete(self, name: str, viewer: Viewer = EVERY_PROJECT) -> None:
        """Delete an environment (executions started with it keep their copy).

        Raises:
            NotFoundError: no such environment that ``viewer`` sees.
            Forbidden: another project's (public) environment.
        """
        with self._store.atomic():
            env = self._store.get_environment(name, viewer)
            check_owner(viewer, env)
            self._store.delete_environment(env.id)


def _check_environment(name: str, variables: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InputError("An environment needs a non-empty 'name'")
    if not isinstance(variables, dict):
        raise InputError(f"An environment's 'variables' must be an object, not {type(variables).__name__}")
