#!/usr/bin/env python3
"""The seed's sample web service: add a and b, later, and push the sum back to mistral-core.

It is the other side of ``std.mistral_http``, and an example of the callback protocol
(docs/callbacks.md). A request (any method) carries the query parameters ``a`` and ``b`` and
the Mistral-* headers; the service answers 200 at once and, ``--delay`` seconds later, in a
background thread, calls back::

    POST <Mistral-Callback-URL>/v2/action-executions/<Mistral-Action-Execution-Id>
    Mistral-Callback-Token: <the Mistral-Callback-Token it was sent>
    {"state": "SUCCESS", "output": <a + b>}

or ``{"state": "ERROR", "output": "a and b must be numbers"}``. The callback token is the only
credential it needs when mistral-core runs with authentication on; it is kept in memory only
and never logged. A callback that gets no answer, or a 5xx, is sent again, unchanged: the same
result twice is answered 200, so a retry is always safe. Standard library only::

    python contrib/sum_service/sum_service.py --port 8990 [--host 127.0.0.1] [--delay 0.5]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOG = logging.getLogger("sum_service")

CALLBACK_HEADER = "Mistral-Callback-URL"
ACTION_ID_HEADER = "Mistral-Action-Execution-Id"
TOKEN_HEADER = "Mistral-Callback-Token"
#: What a final refusal means, for the log (none of them is worth a retry).
REFUSALS = {
    401: "the callback token expired or was revoked",
    403: "the callback token is not this action execution's",
    404: "no such action execution (deleted?)",
    409: "the action execution ended otherwise (timed out, cancelled, or another result)",
}
BAD_INPUT = "a and b must be numbers"
CALLBACK_ATTEMPTS = 3
CALLBACK_TIMEOUT = 10.0


def parse_number(text: str | None) -> int | float | None:
    """``text`` as an int or a finite float; ``None`` if it is not a number."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def outcome(query: str) -> dict[str, Any]:
    """The result to push back for a request with this query string."""
    params = parse_qs(query)
    a = parse_number(params.get("a", [None])[0])
    b = parse_number(params.get("b", [None])[0])
    if a is None or b is None:
        return {"state": "ERROR", "output": BAD_INPUT}
    return {"state": "SUCCESS", "output": a + b}


def call_back(url: str, result: dict[str, Any], token: str | None = None) -> None:
    """POST ``result`` to ``url`` (with the callback token, if any); send it again, unchanged, when
    mistral-core is unreachable or fails (the same result twice is answered 200)."""
    body = json.dumps(result).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers[TOKEN_HEADER] = token
    for attempt in range(1, CALLBACK_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT) as response:
                LOG.info("callback POST %s %s -> %s", url, json.dumps(result), response.status)
                return
        except urllib.error.HTTPError as exc:
            LOG.warning("callback POST %s %s -> %s %s", url, json.dumps(result), exc.code, _text(exc))
            if exc.code < 500:  # mistral-core judged it: retrying will not change its answer
                LOG.warning("not retrying: %s", REFUSALS.get(exc.code, "the request was refused"))
                return
        except (urllib.error.URLError, OSError) as exc:
            LOG.warning("callback POST %s failed (attempt %d): %s", url, attempt, exc)
        time.sleep(attempt)
    LOG.error("callback POST %s gave up after %d attempts", url, CALLBACK_ATTEMPTS)


def _text(exc: urllib.error.HTTPError) -> str:
    """The first 200 characters of an error answer."""
    try:
        return exc.read(200).decode("utf-8", errors="replace")
    except OSError:
        return ""


class SumHandler(BaseHTTPRequestHandler):
    """Accepts any method; schedules the callback."""

    server: SumServer

    def log_message(self, format: str, *args: Any) -> None:
        """Our own log lines replace http.server's."""

    def _handle(self) -> None:
        self._discard_body()
        base = self.headers.get(CALLBACK_HEADER, "").rstrip("/")
        action_id = self.headers.get(ACTION_ID_HEADER, "")
        query = urlsplit(self.path).query
        if not base or not action_id:
            LOG.info(
                "%s %s -> 400 (no %s / %s headers)",
                self.command,
                self.path,
                CALLBACK_HEADER,
                ACTION_ID_HEADER,
            )
            self._answer(400, {"error": f"the {CALLBACK_HEADER} and {ACTION_ID_HEADER} headers are required"})
            return
        url = f"{base}/v2/action-executions/{action_id}"
        token = self.headers.get(TOKEN_HEADER)  # present when mistral-core sent one: never logged
        result = outcome(query)
        LOG.info(
            "%s %s action_execution=%s -> 200; will call back in %gs (%s)",
            self.command,
            self.path,
            action_id,
            self.server.delay,
            "with its callback token" if token else "no callback token",
        )
        timer = threading.Timer(self.server.delay, call_back, args=(url, result, token))
        timer.daemon = True
        timer.start()
        self._answer(200, {"accepted": True, "action_execution_id": action_id})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def _discard_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SumServer(ThreadingHTTPServer):
    """The service: an HTTP server that knows its callback delay."""

    daemon_threads = True

    def __init__(self, host: str, port: int, delay: float) -> None:
        super().__init__((host, port), SumHandler)
        self.delay = delay


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Add a and b later and push the sum back to mistral-core.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8990, help="port to listen on (default 8990; 0 = any)")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before calling back (default 0.5)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sum_service %(message)s")
    server = SumServer(args.host, args.port, args.delay)
    LOG.info(
        "listening on http://%s:%d (callback delay %gs)", args.host, server.server_address[1], args.delay
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
