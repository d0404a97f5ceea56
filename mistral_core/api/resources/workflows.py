"""``/v2/workflows``: list, get, create and update (YAML bodies), delete, validate."""

from __future__ import annotations

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import read_text, write_json
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import namespace_and_scope, page_document, validation_report

LISTING = q.Listing(
    fields=ser.WORKFLOW.names,
    columns={
        "id": q.text,
        "name": q.text,
        "namespace": q.text,
        "definition": q.text,
        "checksum": q.text,
        "tags": q.tag_list,
        "scope": q.text,
        "project_id": q.text,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
    flags=frozenset({q.ALL_PROJECTS}),
)


class WorkflowCollection:
    """``GET``, ``POST`` and ``PUT /v2/workflows``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/workflows")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List workflows (paged, filtered, ``fields``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        wf_defs = self._ctx.engine.store.list_workflow_definitions(listed.query)
        write_json(resp, page_document("workflows", wf_defs, listed, ser.WORKFLOW, ser.WORKFLOW))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create every workflow of a YAML document (any content type, any Accept): 201."""
        namespace, scope = namespace_and_scope(req)
        text = read_text(req, self._ctx.max_body_bytes)
        wf_defs = self._ctx.engine.definitions.create_workflows(
            text, namespace=namespace, scope=scope, viewer=viewer_of(req)
        )
        write_json(resp, {"workflows": [ser.render_written_workflow(w) for w in wf_defs]}, falcon.HTTP_201)

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Replace the workflows of a YAML document: 200."""
        namespace, scope = namespace_and_scope(req)
        text = read_text(req, self._ctx.max_body_bytes)
        wf_defs = self._ctx.engine.definitions.update_workflows(
            text, namespace=namespace, scope=scope, viewer=viewer_of(req)
        )
        write_json(resp, {"workflows": [ser.render_written_workflow(w) for w in wf_defs]})


class WorkflowItem:
    """``GET``, ``PUT`` and ``DELETE /v2/workflows/{id or name}`` (``?namespace=``)."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """One workflow."""
        namespace = req.get_param("namespace") or ""
        wf_def = self._ctx.engine.store.get_workflow_definition(identifier, namespace, viewer_of(req))
        write_json(resp, ser.WORKFLOW.render(wf_def))

    def on_put(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """Replace one workflow with a one-workflow YAML document (``mistral workflow-update --id``):
        200 with the workflow (not a list)."""
        namespace, scope = namespace_and_scope(req)
        text = read_text(req, self._ctx.max_body_bytes)
        wf_def = self._ctx.engine.definitions.update_workflow(
            identifier, text, namespace=namespace, scope=scope, viewer=viewer_of(req)
        )
        write_json(resp, ser.render_written_workflow(wf_def))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, identifier: str) -> None:
        """Delete a workflow: 204."""
        namespace = req.get_param("namespace") or ""
        self._ctx.engine.definitions.delete_workflow(identifier, namespace, viewer_of(req))
        resp.status = falcon.HTTP_204


class WorkflowValidation:
    """``POST /v2/workflows/validate``: ``{"valid": true}`` or ``{"valid": false, "error": ...}``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Validate a YAML document without storing it."""
        text = read_text(req, self._ctx.max_body_bytes)
        write_json(resp, validation_report(self._ctx.engine.definitions.validate_workflows, text))
