"""``GET /`` (the versions document), ``GET /v2`` (the v2 root) and ``GET /info``."""

from __future__ import annotations

import falcon

from mistral_core.api.context import ApiContext
from mistral_core.api.media import write_json
from mistral_core.errors import InputError


class Versions:
    """``GET /``: the API versions, with links built from the public URL."""

    def __init__(self, ctx: ApiContext) -> None:
        self._document = {
            "versions": [
                {
                    "id": "v2.0",
                    "status": "CURRENT",
                    "links": [{"href": ctx.url("/v2"), "target": "v2", "rel": "self"}],
                }
            ]
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The versions document."""
        write_json(resp, self._document)


class V2Root:
    """``GET /v2`` and ``GET /v2/``: ``{"uri": "<public_url>/v2"}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._document = {"uri": ctx.url("/v2")}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The v2 root document."""
        write_json(resp, self._document)


class Info:
    """``GET /info``: what the deployment says of itself (the JSON object of the setting
    ``info_file``, read at start-up); without it 400 ``Info endpoint disabled.``, as Mistral
    answers with ``[api] enable_info_endpoint`` off (its default)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._document = ctx.options.info

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The info document, or 400."""
        if self._document is None:
            raise InputError("Info endpoint disabled.")
        write_json(resp, self._document)
