"""The embedded HTTP server of ``mistral-core serve``: one process.

Granian (HTTP in Rust) serves the WSGI app from a worker *thread* of this very
process, so API, engine and executors share one process and kill -9 leaves
nothing behind. Measured on a 2-core machine, it costs ~120 µs of CPU a request
against ~280 µs for the standard library's server, which is kept as a fallback
(``--http-server stdlib``, or when granian cannot run). Granian allows worker
threads only on free-threaded Python and refuses them elsewhere; with ONE worker
thread the GIL is no obstacle, so we lift that check (pinned granian versions,
tested). SIGTERM and SIGINT stop the server gracefully: no new requests, running
actions finish and their results are applied, then the process exits.
"""

from __future__ import annotations

import logging
import queue
import signal
import socket
import sys
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

LOG = logging.getLogger(__name__)

#: Every request thread releases the GIL on socket and SQLite calls and must win it back;
#: with the default 5 ms switch interval a busy engine thread makes each of those waits up
#: to 5 ms (a convoy). 0.5 ms keeps request latency low at a small cost in throughput.
SWITCH_INTERVAL_S = 0.0005


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s - %s", self.address_string(), format % args)


class PooledWSGIServer(WSGIServer):
    """A WSGI server whose connections are served by a fixed pool of threads.

    A fixed pool (rather than a thread per connection) keeps each thread's
    database connection open from one request to the next.
    """

    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], threads: int) -> None:
        super().__init__(address, _Handler)
        self._connections: queue.SimpleQueue[tuple[socket.socket, Any] | None] = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"http-{i}", daemon=True) for i in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the accepted connection to the pool."""
        self._connections.put((request, client_address))

    def _work(self) -> None:
        while True:
            item = self._connections.get()
            if item is None:
                return
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:  # a broken connection must not kill the worker
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def server_close(self) -> None:
        """Stop the pool, then close the listening socket."""
        for _ in self._workers:
            self._connections.put(None)
        super().server_close()


def serve(
    app: Any, host: str, port: int, on_stop: Any = None, threads: int = 32, kind: str = "granian"
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then call ``on_stop`` (graceful shutdown).

    Args:
        kind: ``granian`` (default) or ``stdlib``.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    _check_port_free(host, port)
    if kind == "granian":
        granian_server = _granian_server(host, port, threads)
        if granian_server is not None:
            try:
                LOG.info("mistral-core listening on http://%s:%d (granian)", host, port)
                granian_server.serve(target_loader=lambda: app, wrap_loader=False)
            finally:
                if on_stop is not None:
                    on_stop()
                LOG.info("stopped")
            if not getattr(granian_server, "interrupt_signal", True):
                LOG.error("the HTTP server stopped without being asked to (its worker thread ended)")
                raise SystemExit(1)
            return
    _serve_stdlib(app, host, port, on_stop, threads)


def _check_port_free(host: str, port: int) -> None:
    """Raise OSError if something listens on the address already.

    Granian binds with SO_REUSEPORT, so a second server on a taken port would start
    and share it (requests landing on either at random); a plain bind finds out first.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: connections of an earlier server still in TIME_WAIT must not count;
        # a socket LISTENING on the address still makes bind() fail (no SO_REUSEPORT here).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        probe.listen(1)


def _granian_server(host: str, port: int, threads: int) -> Any:
    try:
        from granian.constants import Interfaces
        from granian.server.mt import MTServer
    except ImportError:
        LOG.warning("granian is not installed: serving with the standard library's server")
        return None

    class OneProcessServer(MTServer):
        def _check_gil(self) -> None:
            """One worker thread: the GIL is no obstacle (see the module docstring)."""

    return OneProcessServer(
        "mistral_core:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=threads,
        log_enabled=False,
        respawn_failed_workers=True,
    )


def _serve_stdlib(app: Any, host: str, port: int, on_stop: Any, threads: int) -> None:
    httpd = PooledWSGIServer((host, port), threads)
    httpd.set_app(app)
    stopping = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            LOG.info("signal %d: stopping", signum)
            threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    LOG.info("mistral-core listening on http://%s:%d (stdlib)", host, port)
    try:
        httpd.serve_forever(poll_interval=0.5)
    finally:
        httpd.server_close()
        if on_stop is not None:
            on_stop()
        LOG.info("stopped")
