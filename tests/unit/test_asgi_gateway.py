"""The ASGI gateway of ``mistral-core api`` driven through the ASGI interface, as gunicorn's ``asgi``
worker drives it (the end-to-end path, under gunicorn, is in tests/split)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from mistral_core.asgi_gateway import AsgiGateway

MAX_BODY = 100


def _echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A WSGI app that answers what it was given."""
    body = environ["wsgi.input"].read()
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "length": environ.get("CONTENT_LENGTH"),
        "accept": environ.get("HTTP_ACCEPT"),
        "body": body.decode("latin-1"),
    }
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Mc", "é")])
    return [json.dumps(seen).encode()]


def _scope(
    method: str = "GET", path: str = "/v2", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"a=1",
        "headers": headers or [],
        "server": ("127.0.0.1", 8989),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "http_version": "1.1",
    }


def _serve(
    scope: dict[str, Any], messages: list[dict[str, Any]], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Run one request; what the gateway sent. ``messages`` are received in turn, then nothing
    more ever arrives."""
    gateway = AsgiGateway(_echo, MAX_BODY, timeout)
    sent: list[dict[str, Any]] = []
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(3600)  # a client that stopped sending
        raise AssertionError("not reached")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(gateway(scope, receive, send))
    return sent


def _answer(sent: list[dict[str, Any]]) -> tuple[int, dict[bytes, bytes], Any]:
    start, body = sent
    return start["status"], dict(start["headers"]), json.loads(body["body"])


def test_a_request_becomes_an_environ_and_the_answer_goes_back() -> None:
    headers = [(b"accept", b"application/json"), (b"accept", b"text/plain"), (b"content-length", b"4")]
    sent = _serve(_scope("PUT", "/v2/workflows/café", headers), [{"type": "http.request", "body": b"abcd"}])
    status, answer_headers, seen = _answer(sent)
    assert status == 200
    assert answer_headers[b"X-Mc"] == "é".encode("latin-1")
    assert seen == {
        "method": "PUT",
        "path": "/v2/workflows/café".encode().decode("latin-1"),  # WSGI: the bytes seen as latin-1
        "query": "a=1",
        "length": "4",
        "accept": "application/json,text/plain",  # repeated headers joined, as WSGI servers do
        "body": "abcd",
    }


def test_a_body_in_parts_is_read_whole_and_a_chunked_one_is_cut_past_the_limit() -> None:
    parts = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]
    _, _, seen = _answer(_serve(_scope("POST", headers=[(b"content-length", b"4")]), parts))
    assert seen["body"] == "abcd"
    chunked = [(b"transfer-encoding", b"chunked")]
    endless = [{"type": "http.request", "body": b"x" * 60, "more_body": True} for _ in range(5)]
    _, _, seen = _answer(_serve(_scope("POST", headers=chunked), endless))
    assert len(seen["body"]) == 120  # read until past MAX_BODY, for the app to answer 413


def test_a_body_too_large_is_not_read_and_a_stalled_one_gets_408() -> None:
    _, _, seen = _answer(_serve(_scope("POST", headers=[(b"content-length", b"101")]), []))
    assert seen["body"] == "" and seen["length"] == "101"  # the app refuses it from the header
    sent = _serve(_scope("POST", headers=[(b"content-length", b"10")]), [], timeout=0.05)
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["faultstring"] == "Request body not received within 0.05 s"


def test_a_client_gone_before_its_body_gets_no_answer_and_lifespan_is_answered() -> None:
    gone = [{"type": "http.disconnect"}]
    assert _serve(_scope("POST", headers=[(b"content-length", b"10")]), gone) == []
    sent = _serve({"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
