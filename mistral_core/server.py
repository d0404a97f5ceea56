"""The embedded HTTP server of ``mistral-core serve``: one process, a thread per connection.

Built on the standard library's WSGI server so the embedded default needs
nothing else; deployments that want more use ``gunicorn mistral_core.wsgi:app``.
SIGTERM and SIGINT stop it gracefully: no new requests, running actions finish
and their results are applied, then the process exits.
"""

from __future__ import annotations

import logging
import signal
import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

LOG = logging.getLogger(__name__)


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the stdlib's name)
        LOG.debug("%s - %s", self.address_string(), format % args)


class ThreadedWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """A WSGI server handling each connection in its own thread."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def serve(app: Any, host: str, port: int, on_stop: Any = None) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then call ``on_stop`` (graceful shutdown)."""
    httpd = ThreadedWSGIServer((host, port), _Handler)
    httpd.set_app(app)
    stopping = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            LOG.info("signal %d: stopping", signum)
            threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    LOG.info("mistral-core listening on http://%s:%d", host, port)
    try:
        httpd.serve_forever(poll_interval=0.5)
    finally:
        httpd.server_close()
        if on_stop is not None:
            on_stop()
        LOG.info("stopped")
