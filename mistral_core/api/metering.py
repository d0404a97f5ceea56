"""The API's middleware for operators: each request timed for the metrics, and its ids for the logs.

The timing runs first, so it times every request, those refused by the guards and the
authentication too. A request is labelled by its method, its route's URI template (never the ids in its path:
labels stay bounded) and its status code. While a resource runs, the ids in its path
(``ex_id``, ``task_id``, ``action_ex_id``) go on the log lines it writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import falcon

from mistral_core.metrics.logs import reset_ids, set_ids

#: Observes one answered request: method, route template (None: no route), status code, seconds.
RequestObserver = Callable[[str, str | None, int, float], None]


class RequestMetering:
    """Times requests (a Falcon middleware)."""

    def __init__(self, observe: RequestObserver) -> None:
        self._observe = observe

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Note when the request came."""
        req.context.metering_began = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        """Observe the request (its time, route and status)."""
        began = req.context.get("metering_began")
        if began is not None:
            self._observe(req.method, req.uri_template, resp.status_code, time.perf_counter() - began)


class RequestLogIds:
    """Puts the ids of a request's path on the log lines written while its resource runs (a Falcon
    middleware, mounted with JSON log lines only: text lines do not show them)."""

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        """Log lines written while the resource runs carry the ids of its path."""
        if params:
            req.context.log_ids = set_ids(
                execution_id=params.get("ex_id"),
                task_id=params.get("task_id"),
                action_execution_id=params.get("action_ex_id"),
            )

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        """Lines written after the resource carry no ids of it."""
        token = req.context.get("log_ids")
        if token is not None:
            reset_ids(token)
