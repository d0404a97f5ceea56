"""Dynamic actions: Python modules uploaded through the API (code sources) and the action classes
named in them (dynamic actions), as Mistral 23 has them (``/v2/code_sources``,
``/v2/dynamic_actions``).

A code source is the text of one Python module; each change of its text raises its ``version``
(Mistral's rule). A dynamic action names a class of a code source; it runs like any action, in an
executor, which is given the module's text with the command (executors never open the database).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from mistral_core.model.projects import DEFAULT_PROJECT


@dataclasses.dataclass(frozen=True, slots=True)
class CodeSource:
    """The text of one uploaded Python module, named as the module is (``my_actions``)."""

    id: str
    name: str
    content: str
    version: int = 1
    namespace: str = ""
    tags: tuple[str, ...] = ()
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DynamicActionDefinition:
    """An action whose class is ``class_name`` of the code source ``code_source_id``."""

    id: str
    name: str
    class_name: str
    code_source_id: str
    code_source_name: str
    namespace: str = ""
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
