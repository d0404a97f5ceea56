"""``GET /v2/notifications``: the deliveries of notifications that failed at least once (ours).

Each row is one delivery (an event of an execution or task, to one publisher) that a try did not
get through: still being retried (``RETRYING``, with ``next_try_at``), delivered by a later try
(``DELIVERED``), or given up (``FAILED``), with the tries made and the last error. Deliveries that
succeeded at their first try are not listed. Filter by ``workflow_execution_id``, ``state``,
``event`` and the other columns, as every list; each project sees its own executions' rows.
"""

from __future__ import annotations

import falcon

from mistral_core.api import querying as q
from mistral_core.api import serializers as ser
from mistral_core.api.context import ApiContext
from mistral_core.api.media import write_json
from mistral_core.api.projects import viewer_of
from mistral_core.api.resources.common import page_document
from mistral_core.model.notifications import DELIVERY_STATES, EVENTS


def _delivery_state(value: str) -> str:
    """A delivery's state: RETRYING, DELIVERED or FAILED."""
    if value not in DELIVERY_STATES:
        raise ValueError(f"'{value[:40]}' is not a delivery state; choose from {', '.join(DELIVERY_STATES)}")
    return value


def _event(value: str) -> str:
    """An event's name (``TASK_FAILED``)."""
    if value not in EVENTS:
        raise ValueError(f"'{value[:40]}' is not an event; choose from {', '.join(EVENTS)}")
    return value


LISTING = q.Listing(
    fields=ser.NOTIFICATION_DELIVERY.names,
    columns={
        "id": q.text,
        "workflow_execution_id": q.text,
        "event": _event,
        "entity_id": q.text,
        "entity_name": q.text,
        "publisher": q.text,
        "target": q.text,
        "state": _delivery_state,
        "attempts": q.integer,
        "last_error": q.text,
        "next_try_at": q.timestamp,
        "project_id": q.text,
        "created_at": q.timestamp,
        "updated_at": q.timestamp,
    },
    flags=frozenset({q.ALL_PROJECTS}),
)


class NotificationCollection:
    """``GET /v2/notifications``."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._url = ctx.url("/v2/notifications")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the deliveries that failed at least once (paged, filtered, ``fields``)."""
        listed = LISTING.parse(req.params, self._url, viewer_of(req))
        deliveries = self._ctx.engine.store.list_notification_deliveries(listed.query)
        view = ser.NOTIFICATION_DELIVERY
        write_json(resp, page_document("notifications", deliveries, listed, view, view))
