"""The embedded HTTP server of ``mistral-core serve``: granian, embedded in this one process.

Granian's *embeddable* server (``granian.server.embed.Server``, its public API for
running inside a program's own event loop) does HTTP in Rust threads of this process and
calls :class:`~mistral_core.gateway.Gateway`, which serves the WSGI app; the event loop is
uvloop's (each request crosses from granian's threads to the loop, and uvloop's crossing
costs less: measured 10-15 % more round trips/s in scenario c than asyncio's). API, engine
thread, executor pool and scheduler share one process: kill -9 leaves nothing behind.

Slow clients hold nothing of Python's: granian reads headers (closing a connection whose
headers do not arrive within ``timeout``), the gateway awaits the body (408 past
``timeout``). SIGTERM and SIGINT stop the server gracefully: no new requests, the
requests being served finish, then ``on_stop`` lets running actions finish and applies
their results, and the process exits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import socket
from collections.abc import Callable

import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server.embed import Server

from mistral_core.gateway import BLOCKING_REQUESTS, Gateway, WSGIApp

LOG = logging.getLogger(__name__)

#: Bytes granian buffers for a request's line and headers (it answers 431 past them).
MAX_HEADER_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What one client may cost the embedded server.

    Attributes:
        threads: app calls at once (1: on the event loop's thread, the cheapest).
        timeout: seconds a client gets to send a request's headers, and then its body.
        max_body_bytes: the app's largest body; the gateway reads no more than one byte past it.
    """

    threads: int = 1
    timeout: int = 30
    max_body_bytes: int = 1_048_576


def check_port_free(host: str, port: int) -> None:
    """Raise OSError if the address is taken (or cannot be bound), before anything else starts.

    Granian binds with SO_REUSEPORT, so a second server on a taken port would start and
    share it (requests landing on either at random); a plain bind finds out first.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: connections of an earlier server still in TIME_WAIT must not count;
        # a socket LISTENING on the address still makes bind() fail (no SO_REUSEPORT here).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        probe.listen(1)


def serve(app: WSGIApp, host: str, port: int, limits: Limits, on_stop: Callable[[], None]) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then call ``on_stop`` (graceful shutdown).

    Raises:
        SystemExit: status 1 when the HTTP server stopped without being asked.
    """
    # Python's switch interval is left at its default (5 ms): 0.1.0 lowered it to 0.5 ms for its
    # request threads; here each request already hops between granian's thread and the event
    # loop's, and forcing GIL switches ten times as often cost ~10 % more CPU for no lower
    # latency (measured with benchmarks/run.py, scenarios a and c).
    gateway = Gateway(app, limits.max_body_bytes, limits.timeout, limits.threads, BLOCKING_REQUESTS)
    server = Server(
        gateway,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        http=HTTPModes.http1,
        websockets=False,
        backlog=1024,
        http1_settings=HTTP1Settings(
            header_read_timeout=limits.timeout * 1000, max_buffer_size=MAX_HEADER_BYTES
        ),
        log_enabled=False,
    )
    LOG.info("mistral-core listening on http://%s:%d (granian)", host, port)
    asked: list[int] = []
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_run(server, asked))
    finally:
        on_stop()
        LOG.info("stopped")
    if not asked:
        LOG.error("the HTTP server stopped without being asked to")
        raise SystemExit(1)


async def _run(server: Server, asked: list[int]) -> None:
    loop = asyncio.get_running_loop()

    def _stop(signum: int) -> None:
        if not asked:
            LOG.info("signal %d: stopping", signum)
            asked.append(signum)
            server.stop()  # type: ignore[no-untyped-call]  # granian leaves stop() unannotated

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _stop, signum)
    await server.serve()
