"""Code sources and dynamic actions: upload, change, delete — checked, owned, seen by every engine.

A code source must compile and stay under the size limit; a dynamic action must name a class the
source defines (read from its text: nothing uploaded runs here). Every change bumps the catalog's
version in its transaction, so every engine resolves the new code from its next transaction on —
the same version check as ad-hoc actions. Deleting a code source deletes its dynamic actions
(Mistral's cascade).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from mistral_core.engine.ports import Clock, ExecutionStore
from mistral_core.errors import InputError
from mistral_core.lang.pysource import ModuleOutline, check_name, outline
from mistral_core.model import CodeSource, DynamicActionDefinition, Filter, Query, Viewer
from mistral_core.services.definitions import check_owner

#: How many code source versions the API keeps read (``GET /v2/actions`` lists their classes).
OUTLINES_KEPT = 256


@dataclasses.dataclass(frozen=True, slots=True)
class DynamicActionRequest:
    """A dynamic action as a client asks for it (``POST``/``PUT /v2/dynamic_actions``); empty
    fields are not given (an update keeps what it had)."""

    name: str = ""
    id: str = ""
    class_name: str = ""
    code_source: str = ""
    namespace: str = ""
    scope: str = ""


class DynamicDefinitions:
    """The code sources and dynamic actions of every project.

    Args:
        store: where they live.
        clock: the time.
        new_id: makes ids.
        max_bytes: the largest code source accepted (``dynamic_code_max_bytes``).
        python_action_names: the names a dynamic action may not take.
    """

    def __init__(
        self,
        store: ExecutionStore,
        clock: Clock,
        new_id: Callable[[], str],
        max_bytes: int,
        python_action_names: Callable[[], frozenset[str]] = frozenset,
    ) -> None:
        self._store = store
        self._clock = clock
        self._new_id = new_id
        self.max_bytes = max_bytes
        self._python_names = python_action_names
        self._outlines: dict[tuple[str, int], ModuleOutline] = {}

    # -- code sources ---------------------------------------------------------------------
    def create_source(
        self, name: str, content: str, namespace: str, scope: str, viewer: Viewer
    ) -> CodeSource:
        """Store a new code source (version 1) in ``viewer``'s project.

        Raises:
            InputError: a name that is no module name, text too large or that does not compile.
            DuplicateError: the project has one of that name in ``namespace``.
        """
        outline(check_name(name), content, self.max_bytes)
        source = CodeSource(
            id=self._new_id(),
            name=name,
            content=content,
            namespace=namespace,
            scope=scope,
            project_id=viewer.project,
            created_at=self._clock.now(),
        )
        with self._store.atomic():
            self._store.create_code_source(source)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return source

    def update_source(
        self, identifier: str, content: str, namespace: str, scope: str, viewer: Viewer
    ) -> CodeSource:
        """Replace the text (and scope) of a code source; its version goes up by one.

        Raises:
            NotFoundError: no such code source that ``viewer`` sees.
            Forbidden: another project's (public) one.
            InputError: text too large or that does not compile.
        """
        with self._store.atomic():
            old = self._store.get_code_source(identifier, namespace, viewer)
            check_owner(viewer, old)
            outline(old.name, content, self.max_bytes)
            source = dataclasses.replace(
                old, content=content, scope=scope, version=old.version + 1, updated_at=self._clock.now()
            )
            self._store.update_code_source(source)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return source

    def delete_source(self, identifier: str, namespace: str, viewer: Viewer) -> None:
        """Delete a code source and its dynamic actions.

        Raises:
            NotFoundError: no such code source that ``viewer`` sees.
            Forbidden: another project's (public) one.
        """
        with self._store.atomic():
            source = self._store.get_code_source(identifier, namespace, viewer)
            check_owner(viewer, source)
            using = Query(filters=(Filter("code_source_id", "eq", source.id),))
            for action_def in self._store.list_dynamic_actions(using):
                self._store.delete_dynamic_action(action_def.id, action_def.namespace)
            self._store.delete_code_source(source.id, source.namespace)
            self._store.bump_catalog_version()  # the catalogs of every engine see it

    # -- dynamic actions ------------------------------------------------------------------
    def create_action(self, request: DynamicActionRequest, viewer: Viewer) -> DynamicActionDefinition:
        """Store a new dynamic action in ``viewer``'s project.

        Raises:
            InputError: no name, class or code source; a Python action's name; a class the code
                source does not define, or one that says it is asynchronous.
            NotFoundError: no such code source that ``viewer`` sees.
            DuplicateError: the project has a dynamic action of that name in its namespace.
        """
        if not request.name or not request.class_name:
            raise InputError("A dynamic action needs a 'name' and a 'class_name'")
        if not request.code_source:
            raise InputError("Either 'code_source_id' or 'code_source_name' must be provided.")
        if request.name in self._python_names():
            raise InputError(
                f"Action '{request.name}' is a system (Python) action: a dynamic action cannot take its name"
            )
        with self._store.atomic():
            source = self._store.get_code_source(request.code_source, request.namespace, viewer)
            self._check_class(source, request.class_name)
            action_def = DynamicActionDefinition(
                id=self._new_id(),
                name=request.name,
                class_name=request.class_name,
                code_source_id=source.id,
                code_source_name=source.name,
                namespace=request.namespace,
                scope=request.scope or "private",
                project_id=viewer.project,
                created_at=self._clock.now(),
            )
            self._store.create_dynamic_action(action_def)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return action_def

    def update_action(self, request: DynamicActionRequest, viewer: Viewer) -> DynamicActionDefinition:
        """Change the class, code source or scope of a dynamic action (found by id or name).

        Raises:
            InputError: neither id nor name; a class the (new) code source does not define.
            NotFoundError: no such dynamic action or code source that ``viewer`` sees.
            Forbidden: another project's (public) one.
        """
        identifier = request.id or request.name
        if not identifier:
            raise InputError("Either 'name' or 'id' must be provided.")
        with self._store.atomic():
            old = self._store.get_dynamic_action(identifier, request.namespace, viewer)
            check_owner(viewer, old)
            source_ref = request.code_source or old.code_source_id
            source = self._store.get_code_source(source_ref, request.namespace, viewer)
            class_name = request.class_name or old.class_name
            self._check_class(source, class_name)
            action_def = dataclasses.replace(
                old,
                class_name=class_name,
                code_source_id=source.id,
                code_source_name=source.name,
                scope=request.scope or old.scope,
                updated_at=self._clock.now(),
            )
            self._store.update_dynamic_action(action_def)
            self._store.bump_catalog_version()  # the catalogs of every engine see it
        return action_def

    def delete_action(self, identifier: str, namespace: str, viewer: Viewer) -> None:
        """Delete a dynamic action.

        Raises:
            NotFoundError: no such dynamic action that ``viewer`` sees.
            Forbidden: another project's (public) one.
        """
        with self._store.atomic():
            action_def = self._store.get_dynamic_action(identifier, namespace, viewer)
            check_owner(viewer, action_def)
            self._store.delete_dynamic_action(action_def.id, action_def.namespace)
            self._store.bump_catalog_version()  # the catalogs of every engine see it

    def outline(self, source: CodeSource) -> ModuleOutline:
        """The classes of a stored code source (read from its text once per version: reading a
        64 KiB module costs about 40 ms of CPU)."""
        key = (source.id, source.version)
        found = self._outlines.get(key)
        if found is None:
            found = outline(source.name, source.content, max(self.max_bytes, len(source.content.encode())))
            if len(self._outlines) >= OUTLINES_KEPT:
                self._outlines.clear()
            self._outlines[key] = found
        return found

    def _check_class(self, source: CodeSource, class_name: str) -> None:
        cls = self.outline(source).classes.get(class_name)
        if cls is None:
            raise InputError(f"Code source {source.name} defines no class {class_name} (at its top level)")
        if not cls.is_sync:
            raise InputError(
                f"Class {class_name} says it is asynchronous (is_sync returns False): dynamic actions are "
                "synchronous; make an asynchronous action a plugin"
            )
