"""``mistral-core api``: gunicorn run from the command, through its public application API.

The workers import :mod:`mistral_core.wsgi`, which builds an API worker of the split deployment
when the setting ``transport`` is set (it is: ``mistral-core api`` requires it).
"""

from __future__ import annotations

import sys
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS


def _worker_exit(server: Any, worker: Any) -> None:
    wsgi = sys.modules.get("mistral_core.wsgi")  # never import it here: that would build a service
    if wsgi is not None:
        wsgi.service.stop()


def _child_exit(server: Any, worker: Any) -> None:
    from mistral_core.metrics.exposition import worker_exited

    worker_exited(worker.pid)  # its live gauges go; its counters stay in the sums


class _Api(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    def __init__(self, options: dict[str, Any], asgi_threads: int | None = None) -> None:
        self._options = options
        self._asgi_threads = asgi_threads
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from mistral_core.wsgi import app, settings

        if self._asgi_threads is None:
            return app
        from mistral_core.asgi_gateway import AsgiGateway
        from mistral_core.gateway import BLOCKING_REQUESTS

        return AsgiGateway(
            app, settings.max_body_bytes, settings.http_timeout, self._asgi_threads, BLOCKING_REQUESTS
        )


def run_gunicorn(bind: str, workers: int, threads: int, worker_class: str = "asgi") -> None:
    """Serve the API on ``bind`` with ``workers`` workers of ``worker_class`` (``asgi``: requests read
    on an event loop, the app called on its thread with ``threads`` = 1, else on a pool of that many;
    ``gthread``: ``threads`` threads read and serve requests)."""
    asgi = worker_class == "asgi"
    options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "worker_class": worker_class,
        "threads": 1 if asgi else threads,
        "preload_app": False,
        "max_requests": 0,
        "timeout": 30,
        "graceful_timeout": 45,
        "keepalive": 5,
        "accesslog": None,
        "worker_exit": _worker_exit,
        "child_exit": _child_exit,
    }
    known = {setting.name for setting in KNOWN_SETTINGS}
    if "control_socket_disable" in known:  # gunicorn >= 24: one shared socket path per user otherwise
        options["control_socket_disable"] = True
    _Api(options, threads if asgi else None).run()
