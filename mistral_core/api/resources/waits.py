"""``/v2/waits``: the inventory of waits, and ``/v2/waits/bulk``: one action on many (ours).

A wait is a RUNNING action execution that is asynchronous, or targeted and not started by an
executor yet (an action whose target has no executor). The list takes Mistral's paging and sorting
and the filters ``name``, ``workflow_name`` (with operators, as every list), ``older_than``
and ``stale_for`` (seconds) and ``deadline_before`` (an ISO time). A bulk request names its
waits by ``ids`` or by ``filter`` and answers each one with the status a single request
would have got (:mod:`mistral_core.services.waits`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.errors import status_of
from mistral_core.api.media import read_json_object, write_json
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.action_executions import origin_of
from mistral_core.api.resources.common import page_document
from mistral_core.auth.middleware import identity_of
from mistral_core.errors import InputError
from mistral_core.services.waits import SPECIAL_FILTERS, BulkOutcome, parse_filters

LISTING = q.Listing(
    fields=ser.WAIT.names,
    columns={
        "id": q.text,
        "name": q.text,
        "workflow_name": q.text,
        "workflow_execution_id": q.text,
        "task_name": q.text,
        "task_execution_id": q.text,
        "created_at": q.timestamp,
        "deadline": q.timestamp,
        "last_heartbeat_at": q.timestamp,
    },
)


class WaitCollection:
    """``GET /v2/waits``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/waits")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The waits the caller's project sees, oldest first unless sorted otherwise."""
        params = dict(req.params)
        special = {name: _single(name, params.pop(name)) for name in SPECIAL_FILTERS if name in params}
        filters = parse_filters(special, "parameter", names=False)
        listed = LISTING.parse(params, self._url, viewer_of(req))
        listed = dataclasses.replace(listed, link_filters=(*listed.link_filters, *special.items()))
        waits = self._ctx.engine.waits.inventory(listed.query, filters)
        write_json(resp, page_document("waits", waits, listed, ser.WAIT, ser.WAIT))


class WaitBulk:
    """``POST /v2/waits/bulk``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Complete, fail, cancel or extend many waits: 200 with one result per wait."""
        waits = self._ctx.engine.waits
        bulk = waits.check(read_json_object(req, self._ctx.max_body_bytes))
        outcome = waits.bulk(bulk, viewer_of(req), origin_of(req, identity_of(req)))
        write_json(resp, _document(outcome, bulk.dry_run))


def _document(outcome: BulkOutcome, dry_run: bool) -> dict[str, Any]:
    results = [
        {
            "id": item.id,
            "status": 200 if item.error is None else status_of(item.error),
            "reason": None if item.error is None else item.error.message,
        }
        for item in outcome.items
    ]
    return {"matched": outcome.matched, "dry_run": dry_run, "results": results}


def _single(name: str, value: str | list[str]) -> str:
    if isinstance(value, list):
        raise InputError(f"Parameter {name} is given more than once")
    return value
