"""Slow and idle clients cannot starve the split deployment's API (``mistral-core api`` under gunicorn,
real processes, PostgreSQL and RabbitMQ).

40 connections send half a request and stall: 20 stop in the middle of their headers, 20 send a
body shorter than their Content-Length. Meanwhile 100 ``GET /v2`` and a workflow start are
answered. Each stalled body is answered 408 within ``http_timeout`` plus a margin. A connection
stalled in its headers holds a socket, no thread, until the client goes (gunicorn's ``asgi`` worker
has no timeout for a first request's headers: docs/operations.md says to put a proxy in front).
With gunicorn's ``gthread`` worker (``--worker-class gthread --threads 8``), the same 40 clients
stopped the API: a ``GET`` from another client timed out.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import HOST, request
from tests.split import broker
from tests.split.test_split_deployment import Deployment, _processes

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]

HTTP_TIMEOUT = 5  # seconds a client gets to send a body (the http_timeout setting)
STALLED = 40
GETS = 100
LIVENESS_S = 10.0  # each normal request must be answered within this (no speed is asserted)
NOOP = "---\nversion: '2.0'\nnoop_split:\n  tasks:\n    t1:\n      action: std.noop\n"
HEADERS_UNFINISHED = b"GET /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n"
BODY_SHORT = (
    b"PUT /v2/action_executions/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"state": '
)

HUGE_HEADER = b"GET /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"x" * 9000 + b"\r\n\r\n"
HUGE_BODY = b"PUT /v2/action_executions/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\n"

WORKFLOW_CAFE = b"GET /v2/workflows/caf%C3%A9 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
START = b'{"workflow_name": "noop_split"}'
CHUNKED_START = (
    b"POST /v2/executions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
    + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (START[:10], START[10:]))
    + b"0\r\n\r\n"
)


@pytest.fixture
def amqp_url() -> Iterator[str]:
    with broker.vhost() as url:
        yield url


def _stall(port: int, half: bytes) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=5)
    sock.sendall(half)
    return sock


def _answer_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sends until it closes the connection; None if it is still open."""
    sock.settimeout(seconds)
    answer = b""
    try:
        while chunk := sock.recv(4096):
            answer += chunk
    except TimeoutError:
        return None
    except OSError:
        pass  # reset by the server: closed
    return answer


def _raw(port: int, data: bytes, until: bytes = b"") -> bytes:
    """Send ``data``; what the server answers, read until its headers are in and ``until`` is in
    the body (or the server closes the connection)."""
    with socket.create_connection((HOST, port), timeout=LIVENESS_S) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
            _head, end, body = answer.partition(b"\r\n\r\n")
            if end and until in body:
                break
    return answer


@pytest.fixture
def deployment(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,
) -> Iterator[Deployment]:
    """A split deployment's processes (started by the test), stopped afterwards."""
    with _processes(tmp_path) as processes:
        yield Deployment(processes, pg_url, amqp_url)


def test_stalled_clients_delay_nobody_and_stalled_bodies_get_408(deployment: Deployment) -> None:
    deployment.env["MISTRAL_CORE_HTTP_TIMEOUT"] = str(HTTP_TIMEOUT)
    api_process = deployment.start_small("--workers", "2")
    api, base = deployment.api, deployment.api.base_url
    api.create_workflows(NOOP)
    bodies = [_stall(deployment.port, BODY_SHORT) for _ in range(STALLED // 2)]
    heads = [_stall(deployment.port, HEADERS_UNFINISHED) for _ in range(STALLED // 2)]
    stalled_at = time.monotonic()
    try:
        statuses = [request("GET", f"{base}/v2", timeout=LIVENESS_S).status for _ in range(GETS)]
        started = api.start("noop_split")
        assert statuses == [200] * GETS
        assert api.wait_finished(started["id"])["state"] == "SUCCESS"
        assert time.monotonic() - stalled_at < HTTP_TIMEOUT, "measured while the stalls lasted"

        answers = [_answer_within(sock, HTTP_TIMEOUT + LIVENESS_S) for sock in bodies]
        print(f"\nthe stalled bodies were answered {time.monotonic() - stalled_at:.1f} s after they stalled")
        assert all(a is not None and a.startswith(b"HTTP/1.1 408") for a in answers), answers
        assert all(b"Request body not received within 5 s" in (a or b"") for a in answers)
        # A header too large is refused by gunicorn's parser; a body too large without reading it.
        assert _raw(deployment.port, HUGE_HEADER)[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 431")
        assert _raw(deployment.port, HUGE_BODY).startswith(b"HTTP/1.1 413")
        # A chunked body is read whole before the app runs; a path is decoded as UTF-8.
        chunked = _raw(deployment.port, CHUNKED_START, until=b'"state"')
        assert chunked.startswith(b"HTTP/1.1 201"), chunked[:200]
        missing = _raw(deployment.port, WORKFLOW_CAFE, until=b"}")
        assert missing.startswith(b"HTTP/1.1 404") and b"caf\\u00e9" in missing, missing[:300]
        assert request("GET", f"{base}/v2").status == 200
    finally:
        for sock in bodies + heads:
            sock.close()
    assert api_process.running


def test_gunicorns_threaded_worker_is_still_there_on_request(deployment: Deployment) -> None:
    deployment.start_small("--worker-class", "gthread")
    deployment.api.create_workflows(NOOP)
    started = deployment.api.start("noop_split")
    assert deployment.api.wait_finished(started["id"])["state"] == "SUCCESS"
    assert b"Server: gunicorn\r\n" in _raw(deployment.port, b"GET /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
