"""What every resource is given: the engine, the public URL, the body limit, the authenticators."""

from __future__ import annotations

import dataclasses
from typing import Any

from mistral_core.approvals.wiring import HumanWaits
from mistral_core.services.engine import Engine


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
        metrics: this process's metrics (``GET /metrics``), a
            :class:`~mistral_core.metrics.exposition.Metrics`.
    """

    engine: Engine
    public_url: str
    max_body_bytes: int
    authenticators: tuple[Any, ...] = ()
    human: HumanWaits | None = None
    metrics: Any = None

    def url(self, path: str) -> str:
        """The public URL of ``path`` (``/v2/executions``)."""
        return self.public_url + path
