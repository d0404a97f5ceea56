"""``GET /v2/openapi.json``: the OpenAPI 3 document of this API (see :mod:`mistral_core.api.openapi`)."""

from __future__ import annotations

import json

import falcon

from mistral_core.api.context import ApiContext


class OpenApiDocument:
    """``GET /v2/openapi.json``: the document, encoded once."""

    def __init__(self, ctx: ApiContext) -> None:
        from mistral_core.api.openapi import document  # it imports every resource module

        self._text = json.dumps(document(ctx.public_url), separators=(",", ":"))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The OpenAPI document."""
        resp.content_type = falcon.MEDIA_JSON
        resp.text = self._text
