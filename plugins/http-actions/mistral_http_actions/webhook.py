"""``webhook``: the notifier that POSTs Mistral's notification body to a URL, signed the Standard
Webhooks way.

A publisher ``{"type": "webhook", "url": ..., "headers": {...}, "secret": "whsec_..."}``. Each try
is ``POST url`` with the body Mistral 23 sends (``json.dumps`` of the event's dictionary), the
publisher's headers, ``Content-Type: application/json`` (unless the headers set another), and the
Standard Webhooks headers:

* ``webhook-id``: the delivery's id, the same in every try (receivers drop repeats by it);
* ``webhook-timestamp``: the try's time, in whole seconds since the epoch;
* ``webhook-signature``: with a ``secret``, ``v1,`` and the base64 HMAC-SHA256 of
  ``<webhook-id>.<webhook-timestamp>.<body>`` keyed by the secret's decoded bytes.

The request goes through std.http's transport and egress policy (:mod:`.egress`): no redirect is
followed, a refused URL is not tried again. A 2xx answer delivers; ``410 Gone`` stops the tries;
any other answer, a timeout (3 s to connect, 15 s per read) or a connection failure is tried
again later, after the ``Retry-After`` the receiver asked for when it is longer than the backoff.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from mistral_core import ActionError
from mistral_core.notifiers import DeliveryError, Notification, Notifier
from mistral_http_actions import egress, transport
from mistral_http_actions.request import JSON_TYPE, HttpRequest, has_header

#: Seconds to connect, seconds to wait for each read of the answer.
TIMEOUT = (3.0, 15.0)
MAX_URL = 2048
MAX_HEADERS = 32
MAX_HEADER_NAME = 128
MAX_HEADER_VALUE = 4096
MAX_HEADERS_TOTAL = 8192
SECRET_PREFIX = "whsec_"
#: The secret's length in bytes, once decoded (Standard Webhooks: 24 bytes at least).
SECRET_BYTES = range(24, 65)
#: Headers this notifier writes itself or that belong to the connection: not the publisher's.
RESERVED = frozenset(
    {"webhook-id", "webhook-timestamp", "webhook-signature", "content-length", "host", "transfer-encoding",
     "connection"}
)  # fmt: skip
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class WebhookNotifier(Notifier):
    """POSTs notifications to ``url`` (see the module docstring)."""

    options: ClassVar[frozenset[str]] = frozenset({"url", "headers", "secret"})

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> None:
        """Refuse a webhook publisher whose URL, headers or secret cannot be used.

        Raises:
            ValueError: one line saying which and why.
        """
        _check_url(config.get("url"))
        _check_headers(config.get("headers"))
        if config.get("secret") is not None:
            secret_key(config["secret"])

    @classmethod
    def target(cls, config: Mapping[str, Any]) -> str:
        """The URL."""
        return str(config.get("url", ""))

    def publish(self, notification: Notification) -> None:
        """POST the notification; return on a 2xx answer.

        Raises:
            DeliveryError: any other answer, or no answer (not retried: 410, a refused URL).
        """
        config = notification.config
        url = str(config["url"])
        body = json.dumps(dict(notification.body)).encode()
        headers = signed_headers(
            notification.id, int(time.time()), body, config.get("secret"), config.get("headers") or {}
        )
        request = HttpRequest("POST", url, headers, body, TIMEOUT, follow_redirects=False, verify=True)
        try:
            answer = transport.send(request)
        except egress.EgressRefused as exc:
            raise DeliveryError(str(exc).replace(url, _shown(url)), retry=False) from None
        except ActionError as exc:  # its message names the URL: not its query
            raise DeliveryError(str(exc).replace(url, _shown(url))) from None
        status = int(answer["status"])
        if 200 <= status < 300:
            return
        said = f"POST {_shown(url)} answered {status} {answer.get('reason') or ''}".rstrip()
        if status == 410:
            raise DeliveryError(f"{said}: the receiver is gone", retry=False)
        raise DeliveryError(said, retry_after=_retry_after(answer.get("headers") or {}))


def signed_headers(
    webhook_id: str, timestamp: int, body: bytes, secret: str | None, extra: Mapping[str, Any]
) -> dict[str, str]:
    """The headers of one try: the publisher's, the content type, and Standard Webhooks'."""
    headers = {str(name): str(value) for name, value in extra.items()}
    if not has_header(headers, "Content-Type"):
        headers["Content-Type"] = JSON_TYPE
    headers["webhook-id"] = webhook_id
    headers["webhook-timestamp"] = str(timestamp)
    if secret:
        signed = b".".join((webhook_id.encode(), str(timestamp).encode(), body))
        digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
        headers["webhook-signature"] = "v1," + base64.b64encode(digest).decode("ascii")
    return headers


def secret_key(secret: Any) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret.

    Raises:
        ValueError: not such a string, or a key shorter than 24 bytes or longer than 64.
    """
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError("secret must be a string 'whsec_<base64 of 24 to 64 random bytes>'")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)  # padding optional
    except (binascii.Error, ValueError):
        raise ValueError("secret: the part after 'whsec_' is not base64") from None
    if len(key) not in SECRET_BYTES:
        raise ValueError(f"secret holds {len(key)} bytes: it must hold 24 to 64")
    return key


def _check_url(url: Any) -> None:
    if not isinstance(url, str) or not url:
        raise ValueError("url is required: the http or https URL to POST notifications to")
    if len(url) > MAX_URL or _CONTROL.search(url) or " " in url:
        raise ValueError(f"url must be at most {MAX_URL} characters, without spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL ({exc})") from None
    if parts.scheme not in egress.ALLOWED_SCHEMES:
        raise ValueError("url must be an http or https URL")
    if not parts.hostname:
        raise ValueError("url has no host")


def _check_headers(headers: Any) -> None:
    if headers is None:
        return
    if not isinstance(headers, dict):
        raise ValueError("headers must be an object of header names and string values")
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"headers has {len(headers)} entries: at most {MAX_HEADERS} are allowed")
    total = 0
    for name, value in headers.items():
        if len(name) > MAX_HEADER_NAME or not _TOKEN.match(name):
            raise ValueError(f"headers: {name[:MAX_HEADER_NAME]!r} is not a header name")
        if name.lower() in RESERVED:
            raise ValueError(f"headers: {name} is set by the server, not by a publisher")
        if (
            not isinstance(value, str)
            or len(value) > MAX_HEADER_VALUE
            or _CONTROL.search(value.replace("\t", ""))
        ):
            raise ValueError(
                f"headers.{name} must be a string of at most {MAX_HEADER_VALUE} characters, "
                "without control characters"
            )
        total += len(name) + len(value)
    if total > MAX_HEADERS_TOTAL:
        raise ValueError(f"headers hold {total} characters: at most {MAX_HEADERS_TOTAL} are allowed")


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (a number or an HTTP date), or None."""
    value = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _shown(url: str) -> str:
    """The URL without its query (which may carry a token)."""
    return url.split("?", 1)[0]
