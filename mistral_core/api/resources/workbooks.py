"""``/v2/workbooks``: list, get, create and update (YAML bodies), delete, validate.

A workbook's workflows and actions are stored as ``<workbook>.<name>``; they show
in ``/v2/workflows`` and ``/v2/actions`` like any other.
"""

from __future__ import annotations

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import read_text, write_json
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import namespace_and_scope, page_document, validation_report

LISTING = q.Listing(
    fields=ser.WORKBOOK.names,
    columns={
        "id": q.text,
        "name": q.text,
        "namespace": q.text,
        "definition": q.text,
        "tags": q.tag_list,
        "scope": q.text,
        "project_id": q.text,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
)


class WorkbookCollection:
    """``GET``, ``POST`` and ``PUT /v2/workbooks``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/workbooks")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List workbooks (paged, filtered, ``fields``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        workbooks = self._ctx.engine.store.list_workbooks(listed.query)
        write_json(resp, page_document("workbooks", workbooks, listed, ser.WORKBOOK, ser.WORKBOOK))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a workbook from a YAML document (``?namespace=&scope=``): 201 with it."""
        namespace, scope = namespace_and_scope(req)
        text = read_text(req, self._ctx.max_body_bytes)
        workbook = self._ctx.engine.definitions.create_workbook(
            text, namespace=namespace, scope=scope, viewer=viewer_of(req)
        )
        write_json(resp, ser.WORKBOOK.render(workbook), falcon.HTTP_201)

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Replace the workbook a YAML document names: 200 with it."""
        namespace, scope = namespace_and_scope(req)
        text = read_text(req, self._ctx.max_body_bytes)
        workbook = self._ctx.engine.definitions.update_workbook(
            text, namespace=namespace, scope=scope, viewer=viewer_of(req)
        )
        write_json(resp, ser.WORKBOOK.render(workbook))


class WorkbookItem:
    """``GET`` and ``DELETE /v2/workbooks/{name}`` (``?namespace=``)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """One workbook, with its definition."""
        namespace = req.get_param("namespace") or ""
        workbook = self._ctx.engine.store.get_workbook(name, namespace, viewer_of(req))
        write_json(resp, ser.WORKBOOK.render(workbook))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """Delete a workbook with its workflows and actions: 204."""
        namespace = req.get_param("namespace") or ""
        self._ctx.engine.definitions.delete_workbook(name, namespace, viewer_of(req))
        resp.status = falcon.HTTP_204


class WorkbookValidation:
    """``POST /v2/workbooks/validate``: ``{"valid": true}`` or ``{"valid": false, "error": ...}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Validate a workbook document without storing it."""
        text = read_text(req, self._ctx.max_body_bytes)
        write_json(resp, validation_report(self._ctx.engine.definitions.validate_workbook, text))
