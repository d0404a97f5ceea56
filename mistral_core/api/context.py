"""What every resource is given: the engine, the public URL, the body limit, the authenticators."""

from __future__ import annotations

import dataclasses
from typing import Any

from mistral_core.approvals.wiring import HumanWaits
from mistral_core.services.engine import Engine


@dataclasses.dataclass(frozen=True, slots=True)
class ApiOptions:
    """Settings of single endpoints.

    Attributes:
        report_max_entries: the most entries (workflow executions, tasks, action executions) one
            execution report may hold; a larger one is refused (400) before it is read whole.
        allow_action_execution_deletion: ``DELETE /v2/action_executions/<id>`` is allowed (for
            finished action executions run outside any workflow), as Mistral's
            ``[api] allow_action_execution_deletion``; off: 403.
        info: what ``GET /info`` answers (the JSON object of the setting ``info_file``); None: the
            endpoint is off (400, as Mistral's ``[api] enable_info_endpoint`` off).
    """

    report_max_entries: int = 10_000
    allow_action_execution_deletion: bool = False
    info: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ApiContext:
    """The collaborators and settings of the API, built once by ``create_app``.

    Attributes:
        engine: the engine's services (writes) and its store (reads).
        public_url: the API's public base URL, without a trailing slash
            (``http://127.0.0.1:8989``); links are built from it.
        max_body_bytes: the largest request body accepted (413 past it).
        authenticators: what turns secrets into identities (empty: authentication is off).
        human: approvals and the signed links of their pages (``links.respond``).
        options: settings of single endpoints.
        metrics: this process's metrics (``GET /metrics``), a
            :class:`~mistral_core.metrics.exposition.Metrics`.
    """

    engine: Engine
    public_url: str
    max_body_bytes: int
    authenticators: tuple[Any, ...] = ()
    human: HumanWaits | None = None
    options: ApiOptions = ApiOptions()
    metrics: Any = None

    def url(self, path: str) -> str:
        """The public URL of ``path`` (``/v2/executions``)."""
        return self.public_url + path
