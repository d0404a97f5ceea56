"""Helpers of the crash tests: a side-effect counter, and a client that meets a dying server.

The server processes themselves come from ``tests/integration/support.py`` (imported, not copied).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.support import HOST, STOP_TIMEOUT, Api, Response

#: What a request to a server that is being killed or restarted may raise instead of answering.
DOWN = (OSError, http.client.HTTPException)


class Client(Api):
    """Mistral's REST API v2, with what a client of a server that keeps dying needs."""

    def try_call(self, method: str, path: str, body: Any = None) -> Response | None:
        """One request; ``None`` when the server did not answer (down, killed mid-request, restarting)."""
        try:
            return self.call(method, path, body, timeout=5.0)
        except DOWN:
            return None

    def list_all(self, path: str, collection: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following ``next`` links (pages of 1000)."""
        separator = "&" if "?" in path else "?"
        page = self.get(f"{path}{separator}limit=1000")
        items = list(page[collection])
        while page.get("next"):
            parts = urlsplit(page["next"])
            page = self.get(f"{parts.path}?{parts.query}")
            items.extend(page[collection])
        return items


def decoded(text: str | None) -> Any:
    """A JSON text field of the API (``input``, ``output``, ``published``) as a value."""
    return None if text is None else json.loads(text)


class SideEffectCounter:
    """A loopback HTTP server in this process that counts GET requests per ``(path, key)``.

    ``key`` is the ``key`` query parameter. Paths:

    - ``/once`` and ``/safe``: answer 200 after ``delay`` seconds (so that a kill often finds
      the request in flight) and, with ``release``, not before it is set (it is set on exit);
    - ``/flaky``: 500 on the first request of a key, 200 afterwards (a failure that a retry cures);
    - anything else: 404.

    Use as a context manager.
    """

    def __init__(self, delay: float = 0.3, release: threading.Event | None = None) -> None:
        self._hits: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._delay = delay
        self._release = release
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads the counts instead."""

            def do_GET(self) -> None:
                status = counter._count(self.path)
                body = json.dumps({"status": status}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the caller was killed meanwhile: the hit counts all the same

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="counter", daemon=True)

    @property
    def url(self) -> str:
        """Where the counter listens."""
        return f"http://{HOST}:{self._server.server_address[1]}"

    def _count(self, raw_path: str) -> int:
        parts = urlsplit(raw_path)
        key = parse_qs(parts.query).get("key", [""])[0]
        with self._lock:
            self._hits[(parts.path, key)] += 1
            seen = self._hits[(parts.path, key)]
        if parts.path in ("/once", "/safe"):
            time.sleep(self._delay)
            if self._release is not None:
                self._release.wait(STOP_TIMEOUT * 6)
            return 200
        if parts.path == "/flaky":
            return 500 if seen == 1 else 200
        return 404

    def hits(self, path: str, key: str) -> int:
        """How many requests ``path?key=<key>`` received."""
        with self._lock:
            return self._hits[(path, key)]

    def __enter__(self) -> SideEffectCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._release is not None:
            self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)
