"""Slow and idle clients cannot starve the API of the embedded server (real process, real sockets).

50 connections send half a request and stall: 25 stop in the middle of their headers, 25
send a body shorter than their Content-Length. Meanwhile 200 ``GET /v2`` and a workflow
start are answered, each within a generous liveness bound (their latencies are printed, not
asserted); then every stalled connection is closed (or answered 408) within ``http_timeout``
plus a margin.
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from pathlib import Path

import pytest

from tests.integration.support import HOST, ProcessGroup, request

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HTTP_TIMEOUT = 6  # seconds a stalled connection is kept (the http_timeout setting)
STALLED = 50
GETS = 200
LIVENESS_S = 10.0  # each normal request must be answered within this (no speed is asserted)
NOOP = "---\nversion: '2.0'\nnoop_one:\n  tasks:\n    t1:\n      action: std.noop\n"


def _stall(port: int, half: bytes) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=5)
    sock.sendall(half)
    return sock


def _half_requests(port: int) -> list[socket.socket]:
    headers_unfinished = b"GET /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n"
    body_short = (
        b"PUT /v2/action_executions/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"state": '
    )
    return [_stall(port, headers_unfinished if i % 2 else body_short) for i in range(STALLED)]


def _timed(method: str, url: str, json_body: object = None) -> tuple[int, float]:
    started = time.perf_counter()
    answer = request(method, url, json_body, timeout=LIVENESS_S)
    return answer.status, time.perf_counter() - started


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes the connection (after a 408 answer, or without one) in time."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True  # reset by the server: closed as well
    return True


def test_stalled_half_requests_do_not_delay_other_clients(processes: ProcessGroup, tmp_path: Path) -> None:
    (tmp_path / "mistral-core.toml").write_text(f"http_timeout = {HTTP_TIMEOUT}\n")
    server = processes.server()
    server.api.create_workflows(NOOP)
    stalled = _half_requests(server.port)
    stalled_at = time.monotonic()
    try:
        gets = [_timed("GET", f"{server.base_url}/v2") for _ in range(GETS)]
        start_status, start_s = _timed(
            "POST", f"{server.base_url}/v2/executions", {"workflow_name": "noop_one", "input": {}}
        )
        latencies = sorted(seconds for _, seconds in gets)
        p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
        print(
            f"\nwith {STALLED} stalled connections: {GETS} GET /v2 p50 {p50 * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; "
            f"POST /v2/executions {start_s * 1000:.1f} ms"
        )
        assert [status for status, _ in gets] == [200] * GETS
        assert start_status == 201
        assert time.monotonic() - stalled_at < HTTP_TIMEOUT, "measured after the stalls were closed"

        bound = HTTP_TIMEOUT + LIVENESS_S - (time.monotonic() - stalled_at)
        still_open = [i for i, sock in enumerate(stalled) if not _closed_within(sock, max(bound, 0.1))]
        closed_after = time.monotonic() - stalled_at
        print(f"the {STALLED} stalled connections were closed {closed_after:.1f} s after they stalled")
        assert still_open == [], (
            f"{len(still_open)} stalled connections still open after {closed_after:.1f} s"
        )
    finally:
        for sock in stalled:
            sock.close()
    assert server.running
    assert request("GET", f"{server.base_url}/v2").status == 200


def _raw(port: int, head: bytes) -> bytes:
    """Send ``head`` and nothing more; everything the server answers until it closes the connection."""
    answer = b""
    with socket.create_connection((HOST, port), timeout=LIVENESS_S) as sock:
        sock.sendall(head)
        while chunk := sock.recv(4096):
            answer += chunk
    return answer


def test_too_many_or_too_large_headers_get_431(processes: ProcessGroup) -> None:
    server = processes.server()
    many = b"".join(b"X-Header-%d: 1\r\n" % i for i in range(150))
    large = b"X-Large: " + b"a" * (1024 * 1024) + b"\r\n"

    for extra in (many, large):
        answer = _raw(server.port, b"GET /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer

    assert request("GET", f"{server.base_url}/v2").status == 200


def test_a_huge_content_length_gets_413_without_waiting_for_the_body(processes: ProcessGroup) -> None:
    server = processes.server()
    head = (
        b"POST /v2/executions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000000\r\n\r\n{"
    )

    answer = _raw(server.port, head)  # nothing more is sent: the server must not wait for it

    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"too large" in answer


def test_a_body_that_stops_coming_gets_a_one_line_408(processes: ProcessGroup, tmp_path: Path) -> None:
    (tmp_path / "mistral-core.toml").write_text("http_timeout = 1\n")
    server = processes.server()
    head = (
        b"PUT /v2/action_executions/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )

    answer = _raw(server.port, head)

    assert answer.startswith(b"HTTP/1.1 408 "), answer
    fault = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert fault == {
        "faultcode": "Client",
        "faultstring": "Request body not received within 1 s",
        "debuginfo": None,
    }
