"""Sending an :class:`HttpRequest` with urllib3 and reading its answer into a result dict.

One ``urllib3.PoolManager`` serves the whole process (connections are reused across
actions); it is created on first use, under a lock, and created again in a child
process after a fork (sockets must not be shared between processes).

Redirects are followed here, not by urllib3, so that the egress policy checks
every hop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
import time
from collections.abc import Iterator
from email.message import Message
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError
from urllib3.util import parse_url

from mistral_core import ActionError
from mistral_http_actions import egress
from mistral_http_actions.request import HttpRequest, set_header

MAX_RESPONSE_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 30
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024


class SharedPool:
    """A lazily created, process-wide ``PoolManager``; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._manager: urllib3.PoolManager | None = None
        self._pid = 0

    def get(self) -> urllib3.PoolManager:
        """The pool manager of this process (a new one after ``fork``)."""
        with self._lock:
            if self._manager is None or self._pid != os.getpid():
                self._manager = urllib3.PoolManager(num_pools=50, maxsize=10)
                self._pid = os.getpid()
            return self._manager


POOL = SharedPool()


@dataclasses.dataclass(frozen=True, slots=True)
class _Answer:
    """What came back from one request (after redirects)."""

    url: str
    status: int
    reason: str
    headers: urllib3.HTTPHeaderDict
    content: bytes


def send(request: HttpRequest) -> dict[str, Any]:
    """Send ``request`` and describe the answer as std.http's result.

    Returns:
        ``{"content", "status", "headers", "encoding", "url", "reason",
        "cookies", "elapsed"}``; ``content`` is the decoded JSON when the body
        parses as JSON, else the text.

    Raises:
        ActionError: refused by the egress policy, connection failure, timeout,
            too many redirects, or an answer larger than 5 MiB.
    """
    started = time.monotonic()
    answer = _follow(request)
    elapsed = round(time.monotonic() - started, 6)
    encoding = _charset(answer.headers)
    return {
        "content": _decode(answer.content, encoding),
        "status": answer.status,
        "headers": dict(answer.headers.items()),
        "encoding": encoding,
        "url": answer.url,
        "reason": answer.reason,
        "cookies": _cookies(answer.headers),
        "elapsed": elapsed,
    }


def _follow(request: HttpRequest) -> _Answer:
    """Send ``request``, following redirects when asked, checking every hop."""
    for _hop in range(MAX_REDIRECTS + 1):
        answer = _send_once(request)
        location = answer.headers.get("Location")
        if not (request.follow_redirects and answer.status in REDIRECT_STATUSES and location):
            return answer
        request = _redirected(request, answer.status, urljoin(answer.url, location))
    raise ActionError(f"HTTP request to {request.url} failed: more than {MAX_REDIRECTS} redirects")


def _redirected(request: HttpRequest, status: int, url: str) -> HttpRequest:
    """The request to send after a redirect: 303 (and 301/302 after POST) become GET."""
    headers = dict(request.headers)
    method, body = request.method, request.body
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        set_header(headers, "Content-Type", None)
    if urlsplit(url).netloc != urlsplit(request.url).netloc:
        set_header(headers, "Authorization", None)  # credentials never follow to another host
    return dataclasses.replace(request, method=method, url=url, headers=headers, body=body)


def _send_once(request: HttpRequest) -> _Answer:
    """One request/answer exchange, without following redirects."""
    with _errors_named(request, "refused: invalid URL"):
        parsed = parse_url(request.url)
    egress.check_url(request.url, parsed.scheme, parsed.host, parsed.port)
    with _errors_named(request, "failed"):
        pool = POOL.get().connection_from_url(request.url, pool_kwargs=_tls_kwargs(request))
        response = pool.urlopen(
            request.method,
            parsed.request_uri,
            body=request.body,
            headers=request.headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=_timeout(request),
            preload_content=False,
        )
    try:
        with _errors_named(request, "failed reading the answer"):
            content = _read_limited(response, request)
    finally:
        response.release_conn()
    return _Answer(request.url, response.status, response.reason or "", response.headers, content)


@contextlib.contextmanager
def _errors_named(request: HttpRequest, what: str) -> Iterator[None]:
    """Turn urllib3 and socket errors into a one-line ActionError naming the URL.

    Args:
        request: the request being sent.
        what: how the message goes on after the URL ("failed", ...).
    """
    try:
        yield
    except NewConnectionError as exc:  # urllib3 makes it a TimeoutError subclass; it is not one
        raise ActionError(f"HTTP request to {request.url} {what}: {_reason(exc)}") from None
    except TimeoutError:
        raise ActionError(
            f"HTTP request to {request.url} timed out after {_seconds(request)} seconds"
        ) from None
    except (HTTPError, OSError) as exc:
        raise ActionError(f"HTTP request to {request.url} {what}: {_reason(exc)}") from None


def _read_limited(response: urllib3.BaseHTTPResponse, request: HttpRequest) -> bytes:
    """The whole (decoded) body, refusing more than :data:`MAX_RESPONSE_BYTES`."""
    declared = response.headers.get("Content-Length", "")
    if request.method != "HEAD" and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        response.close()
        raise _too_large(request, f"Content-Length: {declared}")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.stream(CHUNK_BYTES):
        total += len(chunk)
        if total > MAX_RESPONSE_BYTES:
            response.close()
            raise _too_large(request, f"more than {MAX_RESPONSE_BYTES} bytes received")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(request: HttpRequest, detail: str) -> ActionError:
    """The error for an answer past the size limit."""
    return ActionError(
        f"HTTP response from {request.url} is larger than the limit of "
        f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MiB ({detail})"
    )


def _tls_kwargs(request: HttpRequest) -> dict[str, Any] | None:
    """Pool settings for ``verify`` (https only; ``None`` = the default pool)."""
    if not request.url.lower().startswith("https:") or request.verify is True:
        return None
    if request.verify is False:
        return {"cert_reqs": "CERT_NONE", "assert_hostname": False}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": request.verify}


def _timeout(request: HttpRequest) -> urllib3.Timeout:
    """The urllib3 timeout for ``request``."""
    if isinstance(request.timeout, tuple):
        return urllib3.Timeout(connect=request.timeout[0], read=request.timeout[1])
    return urllib3.Timeout(connect=request.timeout, read=request.timeout)


def _seconds(request: HttpRequest) -> str:
    """The timeout as people read it: ``60`` or ``0.5``."""
    limit = max(request.timeout) if isinstance(request.timeout, tuple) else request.timeout
    return f"{limit:g}"


def _reason(exc: BaseException) -> str:
    """The useful one-line part of a urllib3 / socket error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    marker = "Failed to establish a new connection: "
    return text.split(marker, 1)[1] if marker in text else text


def _charset(headers: urllib3.HTTPHeaderDict) -> str | None:
    """The charset named by the Content-Type header, if any."""
    content_type = headers.get("Content-Type")
    if not content_type:
        return None
    message = Message()
    message["Content-Type"] = content_type
    charset = message.get_param("charset")
    return charset if isinstance(charset, str) else None


def _decode(content: bytes, encoding: str | None) -> Any:
    """The body as JSON if it parses, else as text (undecodable bytes replaced)."""
    try:
        text = content.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        text = content.decode("utf-8", errors="replace")
    if not text.strip():
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _cookies(headers: urllib3.HTTPHeaderDict) -> dict[str, str]:
    """The cookies the answer sets (name -> value)."""
    jar: SimpleCookie = SimpleCookie()
    for value in headers.getlist("Set-Cookie"):
        try:
            jar.load(value)
        except CookieError:
            continue
    return {name: morsel.value for name, morsel in jar.items()}
