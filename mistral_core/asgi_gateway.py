"""The WSGI app behind ASGI: the request gateway of ``mistral-core api`` under gunicorn's ASGI worker.

gunicorn's ``asgi`` worker reads requests on an event loop: a client that sends its headers or
its body slowly, or never, holds no thread. This gateway turns each request into a WSGI
``environ``, reads the body asynchronously first (within ``timeout`` seconds, bounded by
``max_body_bytes`` plus one byte, as :class:`~mistral_core.gateway.Gateway` does for granian), then
calls the app: on the loop's thread with ``threads`` = 1 (one request at a time per worker, no
hand-off between threads), else on a pool of that many threads; requests that may wait for an
action always on a pool of their own. Measured: gunicorn's ``gthread`` worker costs about 300 µs of
CPU per keep-alive request of an app that answers ``{}``, its ``asgi`` worker about 110 µs
(docs/operations.md, "The split deployment").
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mistral_core.gateway import Answer, Gateway, add_headers, fault

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class AsgiGateway(Gateway):
    """An ASGI application serving the WSGI ``app`` (the arguments are :class:`Gateway`'s)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; answer the lifespan protocol (the service is built at import)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: none here (gunicorn closes the connection)
        environ = _environ(scope)
        try:
            environ["wsgi.input"] = _Body(await self._read_body(environ, receive))
        except TimeoutError:
            answer = fault(408, f"Request body not received within {self._timeout:g} s")
        except _Disconnected:
            return
        else:
            answer = await self._answer(environ)
        await _respond(send, answer)

    async def _read_body(self, environ: dict[str, Any], receive: Receive) -> bytes:
        """The body, or b"" when the app need not read it (a Content-Length past the limit, or
        none and not chunked); at most ``max_body_bytes`` + 1 bytes of a chunked one."""
        length = environ.get("CONTENT_LENGTH")
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            return b""  # the app answers 400 / 413 from the header alone
        if length in (None, "0") and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return b""
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self._timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected
                chunk = bytes(message.get("body", b""))
                chunks.append(chunk)
                size += len(chunk)
                if not message.get("more_body", False) or size > self._max_body:
                    break  # all of it, or enough for the app to tell it is too large
        return b"".join(chunks)


class _Disconnected(Exception):
    """The client went away before its body arrived: nobody to answer."""


class _Body:
    """``wsgi.input``: the body read before the app was called."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._at + size)
        chunk = self._data[self._at : end].tobytes()
        self._at = end
        return chunk

    def readline(self, size: int = -1) -> bytes:
        rest = self._data[self._at :].tobytes()
        cut = rest.find(b"\n") + 1 or len(rest)
        if size is not None and size >= 0:
            cut = min(cut, size)
        self._at += cut
        return rest[:cut]

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(send: Send, answer: Answer) -> None:
    status, headers, body = answer
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _environ(scope: Scope) -> dict[str, Any]:
    server = scope.get("server") or ("", 0)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": _path(scope),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    headers = scope.get("headers", ())
    add_headers(environ, ((name.decode("latin-1"), value.decode("latin-1")) for name, value in headers))
    return environ


def _path(scope: Scope) -> str:
    # ASGI gives the path percent-decoded as UTF-8; WSGI wants its bytes seen as latin-1.
    return str(scope["path"]).encode("utf-8", "surrogateescape").decode("latin-1")
