"""One process's metrics and the text of a scrape.

In one process (``serve``, an engine, an executor) the counters live in a registry of this
process and a scrape reads it. Under gunicorn each worker is a process of its own: with
``PROMETHEUS_MULTIPROC_DIR`` set (``mistral-core api`` sets it to a fresh directory), every
worker writes its counters and histograms to files there, and a scrape, whichever worker
answers it, sums the files of all workers, the dead ones' included (prometheus_client's
multiprocess mode), so that counters never go back when a worker is replaced. What is read at
scrape time (the store's activity, queue depths) is read by the worker that answers.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from mistral_core.metrics.instruments import Instruments

LOG = logging.getLogger(__name__)

#: The environment variable of prometheus_client's multiprocess mode (the directory of its files).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The instruments and collectors of one process, and the text of a scrape.

    Args:
        multiprocess_dir: the directory of prometheus_client's multiprocess mode (gunicorn
            workers); None: this process alone. It must be the ``PROMETHEUS_MULTIPROC_DIR`` the
            process started with (prometheus_client chooses how it keeps values when imported).
    """

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self._dir = multiprocess_dir
        self._registry = CollectorRegistry()
        self._live: list[Collector] = []
        self.instruments = Instruments(None if multiprocess_dir else self._registry)
        self._server: Any = None

    @classmethod
    def from_environment(cls) -> Metrics:
        """Multiprocess mode if ``PROMETHEUS_MULTIPROC_DIR`` names a directory, else this process alone."""
        path = os.environ.get(MULTIPROC_ENV, "")
        return cls(path if path and os.path.isdir(path) else None)

    def add(self, collector: Collector) -> None:
        """Read ``collector`` at every scrape (the store's activity, queue depths)."""
        self._live.append(collector)
        self._registry.register(collector)

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The text of a scrape, in the format ``accept`` asks for (Prometheus' text format by
        default, OpenMetrics if asked), and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self._scraped()), content_type

    def _scraped(self) -> CollectorRegistry:
        if self._dir is None:
            return self._registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self._dir)  # type: ignore[no-untyped-call]  # unannotated
        for collector in self._live:
            registry.register(collector)
        return registry

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` on ``host:port`` from a thread of this process (engines, executors).

        Raises:
            OSError: the address cannot be bound.
        """
        server, thread = start_http_server(port, addr=host, registry=self._registry)
        self._server = (server, thread)
        LOG.info("metrics on http://%s:%d/metrics", host, server.server_port)

    @property
    def port(self) -> int | None:
        """The port :meth:`serve` listens on (None: not serving)."""
        return None if self._server is None else int(self._server[0].server_port)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (if :meth:`serve` was called)."""
        if self._server is not None:
            server, thread = self._server
            threading.Thread(target=server.shutdown, daemon=True).start()
            thread.join(timeout)
            server.server_close()
            self._server = None


def worker_exited(pid: int) -> None:
    """Tell the multiprocess files that gunicorn worker ``pid`` is gone (gunicorn's ``child_exit``)."""
    if os.environ.get(MULTIPROC_ENV):
        mark_process_dead(pid)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
