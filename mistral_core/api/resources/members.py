"""``/v2/workflows/{identifier}/members``: share a workflow with other projects (Mistral 23's API).

``POST`` ``{"member_id": "<project>"}`` (the workflow's project) makes a pending membership;
``PUT .../members/<project>`` ``{"status": "accepted" | "rejected" | "pending"}`` (the member
project) answers it; ``GET`` lists or shows what the caller may see; ``DELETE`` (the workflow's
project) removes one. The rules are :mod:`mistral_core.services.members`'. As in Mistral, every
call is refused (400) when authentication is off: there is one project then, nobody to share with.
"""

from __future__ import annotations

import falcon

from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import read_json_object, write_json
from mistral_core.api.projects import viewer_of
from mistral_core.errors import InputError

AUTH_OFF = "Resource sharing feature can only be supported with authentication enabled."


def _auth_on(ctx: ApiContext) -> None:
    """Refuse sharing when authentication is off (Mistral's message).

    Raises:
        InputError: authentication is off.
    """
    if not ctx.authenticators:
        raise InputError(AUTH_OFF)


def _namespace(req: falcon.Request) -> str:
    return req.get_param("namespace") or ""


class MemberCollection:
    """``GET`` and ``POST /v2/workflows/{identifier}/members``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """The memberships the caller may see: all (the workflow's project), else its own."""
        _auth_on(self._ctx)
        found = self._ctx.engine.members.list(identifier, _namespace(req), viewer_of(req))
        write_json(resp, {"members": ser.MEMBER.render_all(found)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """Share the workflow with the body's ``member_id``: 201, pending."""
        _auth_on(self._ctx)
        body = read_json_object(req, self._ctx.max_body_bytes)
        member = self._ctx.engine.members.share(
            identifier, body.get("member_id"), _namespace(req), viewer_of(req)
        )
        write_json(resp, ser.MEMBER.render(member), falcon.HTTP_201)


class MemberItem:
    """``GET``, ``PUT`` and ``DELETE /v2/workflows/{identifier}/members/{member_id}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, identifier: str, member_id: str) -> None:
        """One membership."""
        _auth_on(self._ctx)
        member = self._ctx.engine.members.get(identifier, member_id, _namespace(req), viewer_of(req))
        write_json(resp, ser.MEMBER.render(member))

    def on_put(self, req: falcon.Request, resp: falcon.Response, identifier: str, member_id: str) -> None:
        """The member project accepts or rejects its membership (body ``status``)."""
        _auth_on(self._ctx)
        body = read_json_object(req, self._ctx.max_body_bytes)
        member = self._ctx.engine.members.answer(
            identifier, member_id, body.get("status"), _namespace(req), viewer_of(req)
        )
        write_json(resp, ser.MEMBER.render(member))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, identifier: str, member_id: str) -> None:
        """The workflow's project stops sharing it with ``member_id``: 204."""
        _auth_on(self._ctx)
        self._ctx.engine.members.remove(identifier, member_id, _namespace(req), viewer_of(req))
        resp.status = falcon.HTTP_204
