"""A real HTTP server on 127.0.0.1 (port 0) for the HTTP action tests; no mocks of HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mistral_http_actions.egress import DENIED_CIDRS_ENV

MIB = 1024 * 1024


class Recorder(BaseHTTPRequestHandler):
    """Answers by path; records every request it receives."""

    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        record = {
            "method": self.command,
            "path": parts.path,
            "query": parse_qs(parts.query),
            "headers": dict(self.headers.items()),
            "body": body,
        }
        self.server.requests.append(record)
        route = parts.path.strip("/").split("/")
        handler = getattr(self, f"_route_{route[0].replace('-', '_')}", self._route_echo)
        handler(route[1:], parse_qs(parts.query), record)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

    def do_HEAD(self) -> None:
        self.server.requests.append({"method": "HEAD", "path": self.path})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _route_echo(self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]) -> None:
        self._send(200, json.dumps(record).encode(), "application/json")

    def _route_status(self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]) -> None:
        code = int(args[0])
        self._send(code, json.dumps({"error": f"status {code}"}).encode(), "application/json")

    def _route_redirect(self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]) -> None:
        self._send(int(args[0]), b"", "text/plain", {"Location": query["to"][0]})

    def _route_slow(self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]) -> None:
        time.sleep(float(query["delay"][0]))
        self._send(200, b"late", "text/plain")

    def _route_text(self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]) -> None:
        self._send(200, "café".encode("latin-1"), "text/plain; charset=ISO-8859-1")

    def _route_cookies(self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Set-Cookie", "theme=dark")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _route_big_declared(
        self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(6 * MIB))
        self.end_headers()
        self.wfile.write(b"x" * 1024)

    def _route_big_streamed(
        self, args: list[str], query: dict[str, list[str]], record: dict[str, Any]
    ) -> None:
        self.send_response(200)  # HTTP/1.0 and no Content-Length: the body ends when the connection closes
        self.end_headers()
        chunk = b"y" * (256 * 1024)
        for _ in range(5 * 4 + 1):
            self.wfile.write(chunk)


class LoopbackServer(ThreadingHTTPServer):
    """The test server: its requests, and URLs on it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.requests: list[dict[str, Any]] = []

    def url(self, path: str = "/echo") -> str:
        """An absolute URL on this server."""
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up early (timeouts, size limit) are expected here."""


@pytest.fixture(scope="session")
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def http_server(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    """The loopback server with a clean request log and the default egress policy."""
    monkeypatch.delenv(DENIED_CIDRS_ENV, raising=False)
    loopback.requests.clear()
    return loopback
