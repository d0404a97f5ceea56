"""A WSGI app behind granian's RSGI interface: the request gateway of the embedded server.

Granian (HTTP in Rust) reads requests and writes responses on its own threads; this
gateway turns each request into a WSGI ``environ``, calls the app and hands the answer
back. The body is read *before* the app is called, asynchronously, within ``timeout``
seconds and bounded by ``max_body_bytes`` (plus one byte, so that the app can tell a body
too large): a client that sends its body slowly, or never, holds no thread and delays
nobody else. With ``threads`` = 1 the app runs on the event loop's thread, one request at
a time (the cheapest: no thread hand-off); with more, on a pool of that many threads.
Requests that may wait for an action to run (``blocking``: ``POST /v2/action_executions``)
always run on a pool of their own, so that one slow action never stops the loop.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

LOG = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[int, list[tuple[str, str]], bytes]

_JSON = [("Content-Type", "application/json")]
#: Threads for the requests that may wait for an action (``Gateway(blocking=...)``).
BLOCKING_THREADS = 4
#: The requests that may wait for an action to run (at most 60 s): always on their own pool.
BLOCKING_REQUESTS = frozenset({("POST", "/v2/action_executions")})
#: Headers that become CONTENT_LENGTH / CONTENT_TYPE rather than HTTP_*.
_UNPREFIXED = {"CONTENT_LENGTH", "CONTENT_TYPE"}


def fault(status: int, message: str) -> Answer:
    """A one-line fault in the API's shape (``faultcode``, ``faultstring``, ``debuginfo``)."""
    document = {
        "faultcode": "Client" if status < 500 else "Server",
        "faultstring": message,
        "debuginfo": None,
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    return status, [*_JSON, ("Connection", "close")], body


class Gateway:
    """An RSGI application (granian's interface) serving the WSGI ``app``.

    Args:
        app: the WSGI application.
        max_body_bytes: the largest body read; a longer one is cut one byte past it, for the
            app to refuse (413).
        timeout: seconds a client gets to send its whole body (408 past it).
        threads: app calls at once: 1 runs them on the event loop's thread.
        blocking: the ``(method, path)`` of requests that may wait for an action: run on a pool of
            their own (``BLOCKING_THREADS`` threads; more such requests wait their turn).
    """

    def __init__(
        self,
        app: WSGIApp,
        max_body_bytes: int,
        timeout: float,
        threads: int = 1,
        blocking: Collection[tuple[str, str]] = (),
    ) -> None:
        self._app = app
        self._max_body = max_body_bytes
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="http") if threads > 1 else None
        self._blocking = frozenset(blocking)
        self._blocking_pool = ThreadPoolExecutor(BLOCKING_THREADS, thread_name_prefix="http-blocking")

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Granian's start-up hook: nothing to prepare."""

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Granian's shutdown hook: let the pool's threads finish their requests."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._blocking_pool.shutdown(wait=True)

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        """Serve one request (``scope.proto`` is ``http``; granian refuses websockets here)."""
        environ = self._environ(scope)
        try:
            environ["wsgi.input"] = io.BytesIO(await self._body(environ, proto))
        except TimeoutError:
            answer = fault(408, f"Request body not received within {self._timeout:g} s")
        else:
            answer = await self._answer(environ)
        proto.response_bytes(*answer)

    async def _answer(self, environ: dict[str, Any]) -> Answer:
        """The app's answer, called on the event loop's thread or on the request's pool."""
        pool = self._pool_for(environ)
        if pool is None:
            return self._call(environ)
        return await asyncio.get_running_loop().run_in_executor(pool, self._call, environ)

    def _pool_for(self, environ: dict[str, Any]) -> ThreadPoolExecutor | None:
        """The pool this request runs on (None: the event loop's thread)."""
        if (environ["REQUEST_METHOD"], environ["PATH_INFO"].rstrip("/")) in self._blocking:
            return self._blocking_pool
        return self._pool

    async def _body(self, environ: dict[str, Any], proto: Any) -> bytes:
        """The body, or b"" when the app need not read it (none, or a Content-Length past the limit)."""
        length = environ.get("CONTENT_LENGTH")
        if length is not None:
            if not length.isdigit() or int(length) > self._max_body or length == "0":
                return b""  # the app answers 400 / 413 from the header alone
            async with asyncio.timeout(self._timeout):
                return bytes(await proto())
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return b""
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self._timeout):
            async for chunk in proto:
                chunks.append(bytes(chunk))
                size += len(chunk)
                if size > self._max_body:
                    break  # enough for the app to tell it is too large
        return b"".join(chunks)

    def _call(self, environ: dict[str, Any]) -> Answer:
        """Call the app; its status, headers and whole body."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [int(status[:3]), headers]

        try:
            chunks = self._app(environ, start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception:  # the app's own errors are answered by it; this is a last resort
            LOG.exception("%s %s failed", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            return fault(500, "Internal server error")
        return started[0], started[1], body

    @staticmethod
    def _environ(scope: Any) -> dict[str, Any]:
        server_host, _, server_port = scope.server.rpartition(":")
        client_host, _, client_port = scope.client.rpartition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            # WSGI strings are bytes seen as latin-1; granian gives the path decoded as UTF-8.
            "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": server_host.strip("[]"),
            "SERVER_PORT": server_port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": client_host.strip("[]"),
            "REMOTE_PORT": client_port,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        add_headers(environ, scope.headers.items())
        return environ


def add_headers(environ: dict[str, Any], headers: Iterable[tuple[str, str]]) -> None:
    """Put request headers in ``environ`` as WSGI names them (repeated ones joined by commas)."""
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key not in _UNPREFIXED:
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
