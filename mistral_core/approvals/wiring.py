"""The parts of human waits, wired once over an engine: the service, the signer, the links."""

from __future__ import annotations

import dataclasses
import uuid

from mistral_core.approvals.links import DEFAULT_MAX_AGE, RespondLinks, Signer, server_secret
from mistral_core.approvals.service import Approvals, Store, human_waits
from mistral_core.engine.ports import Clock, SystemClock
from mistral_core.services.engine import Engine


@dataclasses.dataclass(frozen=True, slots=True)
class HumanWaits:
    """Approvals, and the signed links of their pages.

    Attributes:
        approvals: the service (answers, decisions).
        links: the signed URLs of the pages of waits.
        signer: signs with the server's secret (links, sessions, CSRF tokens).
        clock: the time.
    """

    approvals: Approvals
    links: RespondLinks
    signer: Signer
    clock: Clock

    @classmethod
    def build(
        cls,
        engine: Engine,
        public_url: str,
        *,
        secret: str = "",
        link_max_age: float = DEFAULT_MAX_AGE,
        clock: Clock | None = None,
    ) -> HumanWaits:
        """The parts over ``engine`` (whose store must keep approvals: both stores do).

        Args:
            engine: the engine.
            public_url: the base of the links.
            secret: the setting ``ui_secret`` (empty: the one kept in the database).
            link_max_age: the longest a link lives, in seconds.
            clock: the time (default: the system's).
        """
        clock = clock or SystemClock()
        store: Store = engine.store  # type: ignore[assignment]  # both stores keep approvals too
        signer = Signer(server_secret(secret, store))
        approvals = Approvals(
            store,
            engine.results,
            human_waits(engine.catalog.python_actions()),
            clock,
            lambda: str(uuid.uuid4()),
        )
        return cls(approvals, RespondLinks(signer, public_url, clock, link_max_age), signer, clock)
