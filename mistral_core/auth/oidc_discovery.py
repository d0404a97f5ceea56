"""What an OpenID Connect provider says of itself, and the bounded HTTP used to ask it.

The discovery document (OpenID Connect Discovery 1.0, ``<issuer>/.well-known/openid-configuration``)
names the provider's endpoints: ``jwks_uri`` (its signing keys, :mod:`.oidc_keys`), and for the
UI's sign-in (:mod:`.oidc_login`) ``authorization_endpoint`` and ``token_endpoint``. It is read
once, on the first need, and kept for the life of the process; a document that is not the
configured issuer's is never used. After a failed read nothing is asked for :data:`RETRY_S`
seconds (every need meanwhile is answered :class:`~mistral_core.errors.ServiceUnavailable` at
once), so an outage of the provider makes no request wait and no stranger can make us fetch at will.

Every request to the provider (:func:`open_json`) has a timeout, follows no redirect (an answer
is read where the issuer's document says, never where a redirect points) and reads at most
:data:`MAX_ANSWER_BYTES`. Standard library only: PyJWT is not needed here.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

from mistral_core.errors import ServiceUnavailable

LOG = logging.getLogger(__name__)

#: Seconds one request to the provider may take.
FETCH_TIMEOUT_S = 5.0
#: Seconds without any request after a failed read of the discovery document.
RETRY_S = 5.0
#: The largest answer of the provider read (a discovery document, a token response).
MAX_ANSWER_BYTES = 1_048_576

UNREACHABLE = "The OIDC provider cannot be reached now: try again later"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Answers are read where they were asked for, never where a redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def open_json(request: urllib.request.Request, timeout: float) -> tuple[int, Any]:
    """Send ``request`` (no redirects) and parse its answer as JSON, whatever its status.

    Returns:
        The status and the parsed body (an error status comes with its body: a token endpoint
        says why it refused in JSON).

    Raises:
        OSError: no answer (connection refused, timeout, reset), or a redirect.
        ValueError: an answer over :data:`MAX_ANSWER_BYTES` or not JSON.
        http.client.HTTPException: an answer that is not HTTP.
    """
    opener = urllib.request.build_opener(_NoRedirects())
    try:
        with opener.open(request, timeout=timeout) as answer:
            status, body = answer.status, answer.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        with exc:
            if 300 <= exc.code < 400:
                raise OSError(f"HTTP {exc.code} (a redirect, not followed)") from None
            status, body = exc.code, exc.read(MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise ValueError(f"larger than {MAX_ANSWER_BYTES} bytes")
    return status, json.loads(body)


def is_http_url(url: Any) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class Discovery:
    """The issuer's discovery document, read on first need and kept; thread-safe.

    Args:
        issuer: the provider's issuer URL (the document is under it, and must name it).
        timeout: seconds one request may take.
        retry: seconds without a request after a failed one.
    """

    def __init__(self, issuer: str, timeout: float = FETCH_TIMEOUT_S, retry: float = RETRY_S) -> None:
        self.issuer = issuer
        self._timeout = timeout
        self._retry = retry
        self._lock = threading.Lock()
        self._document: Mapping[str, Any] | None = None
        self._failed_at = -float("inf")

    @property
    def url(self) -> str:
        """Where the document is."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def endpoint(self, name: str) -> str:
        """The http(s) URL the document gives ``name`` (``jwks_uri``, ``token_endpoint``...).

        Raises:
            ServiceUnavailable: the document cannot be read now, or names no such URL.
        """
        value = self.document().get(name)
        if not is_http_url(value):
            LOG.warning("the OIDC discovery document %s names no http(s) %s", self.url, name)
            raise ServiceUnavailable(UNREACHABLE)
        return str(value)

    def document(self) -> Mapping[str, Any]:
        """The document (read now if it never was).

        Raises:
            ServiceUnavailable: it cannot be read, or is not the issuer's (and, for
                :data:`RETRY_S` after that, at once).
        """
        document = self._document
        if document is not None:
            return document
        with self._lock:
            if self._document is None:
                if time.monotonic() - self._failed_at < self._retry:
                    raise ServiceUnavailable(UNREACHABLE)
                self._document = self._read()
            return self._document

    def _read(self) -> Mapping[str, Any]:
        url = self.url
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            status, document = open_json(request, self._timeout)
            if status != 200:
                raise OSError(f"HTTP {status}")
        except (OSError, ValueError, http.client.HTTPException) as exc:
            self._failed(f"cannot read the OIDC discovery document {url}: {exc}")
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            self._failed(f"the OIDC discovery document {url} is not {self.issuer}'s")
        LOG.info("OIDC provider %s: discovery document read", self.issuer)
        return document

    def _failed(self, why: str) -> NoReturn:
        self._failed_at = time.monotonic()
        LOG.warning("%s; not asking again for %g s", why, self._retry)
        raise ServiceUnavailable(UNREACHABLE)
