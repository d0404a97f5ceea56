"""``GET /metrics``: the Prometheus metrics of this process (docs/operations.md, "Metrics")."""

from __future__ import annotations

import falcon

from mistral_core.api.context import ApiContext


class MetricsText:
    """``GET /metrics``: Prometheus' text format, or OpenMetrics if the ``Accept`` header asks."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The metrics: counters of this process (all workers' under gunicorn), the store's activity."""
        body, content_type = self._ctx.metrics.render(req.get_header("Accept"))
        resp.data = body
        resp.content_type = content_type
        resp.cache_control = ["no-store"]
