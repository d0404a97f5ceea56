"""Errors become HTTP here, and only here.

The one table :data:`STATUS_OF` maps each :class:`~mistral_core.errors.MistralError`
subclass to an HTTP status; the most specific class in an exception's MRO wins.
Every error body has Mistral's shape::

    {"faultcode": "Client" | "Server", "faultstring": "<one line>", "debuginfo": null}

with ``Content-Type: application/json`` — for our errors, for falcon's own HTTP
errors (unknown route, method not allowed, body too large) and, as a last resort,
for any other exception (500, a generic message; the traceback goes to the log,
never into the body). Resources never catch exceptions: they raise.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from mistral_core.api.browsers import CrossSiteRequestError, MisdirectedRequestError
from mistral_core.errors import (
    ActionError,
    ConflictError,
    Forbidden,
    InputError,
    LanguageError,
    MaintenanceError,
    MistralError,
    NotFoundError,
    ServiceUnavailable,
    StoreError,
    TransientStoreError,
    UnacceptableResult,
    Unauthenticated,
)

LOG = logging.getLogger(__name__)

#: MistralError subclass -> HTTP status. Subclasses not listed take their nearest listed parent's.
STATUS_OF: dict[type[MistralError], int] = {
    MistralError: 500,
    LanguageError: 400,
    InputError: 400,
    UnacceptableResult: 422,
    ActionError: 400,
    CrossSiteRequestError: 403,
    NotFoundError: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    ConflictError: 409,
    MaintenanceError: 423,
    MisdirectedRequestError: 421,
    ServiceUnavailable: 503,
    StoreError: 500,
    TransientStoreError: 503,
}

#: Seconds a client is told to wait before it tries a request that got 503 again.
RETRY_AFTER_S = "1"

#: The faultstring of a 500 that we did not foresee.
INTERNAL_ERROR_MESSAGE = "Internal server error: the request could not be completed; see the server log"

_STATUS_LINE = {
    code: falcon.code_to_http_status(code) for code in (400, 401, 403, 404, 409, 413, 421, 422, 423, 500, 503)
}
_encode = json.JSONEncoder(separators=(",", ":")).encode


def status_of(exc: MistralError) -> int:
    """The HTTP status of ``exc``: the entry of its most specific class in :data:`STATUS_OF`."""
    for cls in type(exc).__mro__:
        status = STATUS_OF.get(cls)
        if status is not None:
            return status
    return 500  # unreachable: MistralError itself is in the table


def fault_body(status: int, message: str) -> str:
    """Mistral's error document for ``status`` with ``message`` as the faultstring, on one line."""
    code = "Client" if status < 500 else "Server"
    if "\n" in message or "\r" in message:  # a library's message (PyYAML's) may span lines
        message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    return _encode({"faultcode": code, "faultstring": message, "debuginfo": None})


def _write_fault(resp: falcon.Response, status: int, message: str) -> None:
    resp.status = _STATUS_LINE.get(status) or falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.text = fault_body(status, message)


def handle_mistral_error(
    req: falcon.Request, resp: falcon.Response, exc: MistralError, params: dict[str, Any]
) -> None:
    """Error handler for :class:`MistralError`: status from the table, message from the error."""
    status = status_of(exc)
    if status == 401:
        resp.set_header("WWW-Authenticate", 'Bearer realm="mistral-core"')
    if status == 503:  # the database refused or is unavailable for now: nothing was written
        LOG.warning("%s %s: %s", req.method, req.path, exc)
        resp.set_header("Retry-After", RETRY_AFTER_S)
    elif status >= 500:
        LOG.error("%s %s failed: %s", req.method, req.path, exc, exc_info=exc)
    _write_fault(resp, status, exc.message)


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]
) -> None:
    """Last-resort handler: log the traceback, answer 500 with a generic message."""
    LOG.error("%s %s crashed", req.method, req.path, exc_info=exc)
    _write_fault(resp, 500, INTERNAL_ERROR_MESSAGE)


def serialize_http_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Error serializer for falcon's own :class:`falcon.HTTPError` (404 route, 405, 413, ...)."""
    resp.content_type = falcon.MEDIA_JSON
    resp.text = fault_body(exc.status_code, _describe_http_error(req, exc))


def _describe_http_error(req: falcon.Request, exc: falcon.HTTPError) -> str:
    """One line for a falcon error, naming the method or path when falcon gives no description."""
    if exc.description:
        return exc.description
    if isinstance(exc, falcon.HTTPRouteNotFound):
        return f"Resource not found: {req.path}"
    if isinstance(exc, falcon.HTTPMethodNotAllowed):
        return f"Method {req.method} is not allowed on {req.path}"
    return exc.title or str(exc.status)


def install(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Install the error handlers and the error serializer on ``app``."""
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(MistralError, handle_mistral_error)
    app.set_error_serializer(serialize_http_error)
