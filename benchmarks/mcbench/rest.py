"""A small REST v2 client over http.client: one keep-alive connection per thread.

Standard library only, so it runs with any Python 3.11 against any server that
speaks Mistral's API v2 (ours or OpenStack Mistral).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from typing import Any

#: Errors of a connection the server closed between two requests: sent again once on a new one.
_STALE_CONNECTION = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    http.client.CannotSendRequest,
    http.client.BadStatusLine,
)


class HttpError(RuntimeError):
    """A response with an unexpected status."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path} -> {status} {body[:400].decode(errors='replace')}")
        self.status = status
        self.body = body


class Client:
    """Requests to ``base`` (``http://host:port``; a trailing ``/v2`` is dropped).

    Args:
        base: the server's root URL.
        keepalive: reuse one connection per thread (False: a new connection per request,
            as ``urllib`` does).
        timeout: seconds to wait for one response.
        token: an API key (or token) sent as ``X-Auth-Token`` with every request, for a server with
            authentication on (None: none).
    """

    def __init__(
        self, base: str, keepalive: bool = True, timeout: float = 120.0, token: str | None = None
    ) -> None:
        parts = urllib.parse.urlsplit(base.rstrip("/"))
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"need an http://host:port URL, not {base!r}")
        self.base = f"http://{parts.netloc}"
        self._host = parts.hostname
        self._port = parts.port or 80
        self._prefix = parts.path.removesuffix("/v2")
        self._keepalive = keepalive
        self._timeout = timeout
        self._token = token
        self._local = threading.local()
        self._lock = threading.Lock()
        self.counts = {"requests": 0, "reconnects": 0, "errors": 0}

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        expect: tuple[int, ...] = (200, 201, 204),
    ) -> Any:
        """Send one request; return the decoded JSON answer (None when empty).

        Raises:
            HttpError: the status is not one of ``expect``.
            OSError: the server cannot be reached.
        """
        headers = {"Accept": "application/json"}
        if self._token:
            headers["X-Auth-Token"] = self._token
        payload: bytes | None = None
        if body is not None:
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if not self._keepalive:
            headers["Connection"] = "close"
        status, raw = self._send(method, self._prefix + path, payload, headers)
        self._count("requests")
        if status not in expect:
            self._count("errors")
            raise HttpError(method, path, status, raw)
        return json.loads(raw) if raw else None

    def _send(
        self, method: str, path: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            connection = self._connection()
            reused = connection.sock is not None
            try:
                connection.request(method, path, payload, headers)
                response = connection.getresponse()
                raw = response.read()
            except _STALE_CONNECTION:
                self._drop_connection()
                if not reused or attempt == 2:
                    self._count("errors")
                    raise
                self._count("reconnects")
                continue
            except OSError:
                self._drop_connection()
                self._count("errors")
                raise
            if not self._keepalive or response.will_close:
                self._drop_connection()
            return response.status, raw
        raise AssertionError("unreachable")

    def get(self, path: str) -> Any:
        """GET ``path``."""
        return self.request("GET", path)

    def post(self, path: str, body: Any, content_type: str = "application/json") -> Any:
        """POST ``body`` (JSON unless it is text) to ``path``."""
        return self.request("POST", path, body, content_type)

    def put(self, path: str, body: Any) -> Any:
        """PUT JSON ``body`` to ``path``."""
        return self.request("PUT", path, body)

    def list_all(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a collection, following the ``next`` links (pages of 1000)."""
        query = urllib.parse.urlencode({"limit": 1000, **params})
        url: str | None = f"{path}?{query}"
        items: list[dict[str, Any]] = []
        while url:
            page = self.get(url)
            items.extend(page.get(key, []))
            following = page.get("next")
            if not following:
                break
            parts = urllib.parse.urlsplit(following)
            url = parts.path.removeprefix(self._prefix) + (f"?{parts.query}" if parts.query else "")
        return items

    def wait_ready(self, seconds: float, alive: Any = None) -> None:
        """Wait until ``GET /v2`` answers (``alive()`` False: give up at once).

        Raises:
            TimeoutError: no answer within ``seconds``.
        """
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.get("/v2")
                return
            except (OSError, HttpError):
                self._drop_connection()
                if alive is not None and not alive():
                    raise TimeoutError("the server exited before it answered") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.base} did not answer GET /v2 within {seconds:.0f} s") from None
                time.sleep(0.05)

    def close(self) -> None:
        """Close this thread's connection."""
        self._drop_connection()
