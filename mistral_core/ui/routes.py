"""Every page of the UI, as data (beside the API's :data:`~mistral_core.api.routes.ROUTES`).

Kept apart from the API's table: the pages are HTML for browsers, not part of Mistral's REST API,
so they are not in the OpenAPI document; :mod:`mistral_core.auth.policy` names each of them
(``UI_PAGES``, ``LINK_PAGES``), and a test checks both tables agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from mistral_core.auth.oidc_login import CALLBACK_PATH
from mistral_core.ui.pages import inbox, oidc, respond, signin

HTTP_METHODS = ("GET", "POST")


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """One page: a URI template and the class of its resource."""

    path: str
    resource: type


UI_ROUTES: tuple[Page, ...] = (
    Page("/ui", inbox.Inbox),
    Page("/ui/executions/{ex_id}", inbox.ExecutionPage),
    Page("/ui/respond/{action_ex_id}", respond.RespondPage),
    Page("/ui/login", signin.Login),
    Page("/ui/logout", signin.Logout),
    Page("/ui/oidc/start", oidc.Start),
    Page(CALLBACK_PATH, oidc.Callback),
    Page("/ui/static/{name}", signin.Static),
)


def endpoints() -> Iterator[tuple[str, str]]:
    """Every ``(path, method)`` of the UI."""
    for page in UI_ROUTES:
        for method in HTTP_METHODS:
            if callable(getattr(page.resource, f"on_{method.lower()}", None)):
                yield page.path, method
