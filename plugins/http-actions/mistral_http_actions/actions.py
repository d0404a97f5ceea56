"""std.http and std.mistral_http.

Inputs are validated and normalised in ``__init__`` and kept in instance
attributes only (Mistral's remote executors rebuild an action with ``__new__``
and its attributes), under Mistral's attribute names.
"""

from __future__ import annotations

from typing import Any

from mistral_core import Action, ActionContext, ActionError, Result
from mistral_http_actions import transport
from mistral_http_actions.request import (
    HttpRequest,
    basic_auth,
    cookie_header,
    encode_body,
    has_header,
    set_header,
    stringify_headers,
    timeout_seconds,
    with_query,
)

SUCCESS_STATUSES = range(200, 307)  # Mistral's std.http: anything else is an error result
MISTRAL_HTTP_OK_STATUSES = range(200, 400)


class HTTPAction(Action):
    """Send an HTTP request and return the answer (status outside 200-306 = error result).

    Args:
        url: the http or https URL (required).
        method: the HTTP method (``GET``).
        params: query parameters (a dictionary; lists repeat the key).
        body: a string is sent as is; a dictionary (or any other value) as JSON.
        json: a value sent as JSON (``Content-Type: application/json``); not with ``body``.
        headers: request headers; numeric values become strings.
        cookies: a dictionary sent as the ``Cookie`` header.
        auth: basic authentication, ``"user:password"`` or ``[user, password]``.
        timeout: seconds to connect and to wait for each read (60; ``null`` is 60 too), or
            ``[connect, read]``.
        allow_redirects: follow 3xx answers when true. Unset, they are not followed
            (the 3xx answer is the result), as in Mistral.
        proxies: accepted for compatibility with Mistral workflows; must be empty.
        verify: for https only: ``false`` skips certificate checks, a string is
            the path of a CA bundle.

    Raises:
        ValueError: an input of the wrong shape (e.g. both ``body`` and ``json``).
    """

    def __init__(
        self,
        url: str,
        method: str = "GET",
        params: Any = None,
        body: Any = None,
        json: Any = None,
        headers: dict[str, Any] | None = None,
        cookies: dict[str, Any] | None = None,
        auth: str | list[str] | None = None,
        timeout: float | list[float] | None = 60,
        allow_redirects: bool | None = None,
        proxies: dict[str, str] | None = None,
        verify: bool | str | None = None,
    ) -> None:
        if not isinstance(url, str) or not url:
            raise ValueError("url must be a non-empty string")
        if proxies:
            raise ValueError("proxies are not supported by mistral-core's std.http")
        self.url = with_query(url, params)
        self.method = str(method or "GET").upper()
        self.body, self.content_type = encode_body(body, json)
        self.headers = stringify_headers(headers)
        self.cookie = cookie_header(cookies)
        self.auth = basic_auth(auth)
        self.timeout = timeout_seconds(timeout)
        self.allow_redirects = bool(allow_redirects)
        self.verify: bool | str = verify if isinstance(verify, str) else verify is not False

    def run(self, context: ActionContext) -> Any:
        """Send the request.

        Returns:
            ``{"content", "status", "headers", "encoding", "url", "reason",
            "cookies", "elapsed"}``, or ``Result(error=<that dict>)`` when the status
            is outside 200-306.

        Raises:
            ActionError: refused by the egress policy, connection failure, timeout,
                or an answer larger than 5 MiB.
        """
        answer = transport.send(self._request(self.headers))
        if answer["status"] not in SUCCESS_STATUSES:
            return Result(error=answer)
        return answer

    def _request(self, headers: dict[str, str]) -> HttpRequest:
        """The concrete request, with the headers derived from the inputs."""
        headers = dict(headers)
        if self.content_type and not has_header(headers, "Content-Type"):
            headers["Content-Type"] = self.content_type
        if self.cookie:
            set_header(headers, "Cookie", self.cookie)
        if self.auth:
            set_header(headers, "Authorization", self.auth)
        return HttpRequest(
            method=self.method,
            url=self.url,
            headers=headers,
            body=self.body,
            timeout=self.timeout,
            follow_redirects=self.allow_redirects,
            verify=self.verify,
        )


class MistralHTTPAction(HTTPAction):
    """Call a web service that will push the result back later (asynchronous std.http).

    Adds the headers ``Mistral-Workflow-Name``, ``Mistral-Workflow-Execution-Id``,
    ``Mistral-Task-Id``, ``Mistral-Action-Execution-Id``, ``Mistral-Callback-URL``
    (the public base URL of the API: the service calls back
    ``<Mistral-Callback-URL>/v2/action-executions/<Mistral-Action-Execution-Id>``),
    ``Mistral-Action-Execution-URL`` (that URL, absolute) and ``Mistral-Callback-Token``
    (the credential of this action execution, to send back with the result). They replace
    same-named caller headers, whatever their case. The answer is discarded unless
    it is an error: a status outside 200-399 fails the action with the answer as
    the error; the action execution otherwise stays RUNNING until the service
    pushes the result. Same parameters as ``std.http``, and:

    Args:
        cancel_url: where to tell the web service its work is no longer wanted (the task or
            its execution cancelled, a timeout, the result pushed as CANCELLED by someone
            else): a ``POST`` of ``{"action_execution_id", "workflow_execution_id", "reason"}``
            (JSON) with the same ``Mistral-*`` headers (no token) and the caller's headers. A
            2xx or 3xx answer is delivery; anything else, or no answer, is tried again by the
            engine with backoff (setting ``notice_retry_for``). Unset: nobody is told (as in
            Mistral).
    """

    def __init__(
        self,
        url: str,
        method: str = "GET",
        params: Any = None,
        body: Any = None,
        json: Any = None,
        headers: dict[str, Any] | None = None,
        cookies: dict[str, Any] | None = None,
        auth: str | list[str] | None = None,
        timeout: float | list[float] | None = 60,
        allow_redirects: bool | None = None,
        proxies: dict[str, str] | None = None,
        verify: bool | str | None = None,
        cancel_url: str | None = None,
    ) -> None:
        super().__init__(
            url, method, params, body, json, headers, cookies, auth, timeout, allow_redirects, proxies, verify
        )
        if cancel_url is not None and (not isinstance(cancel_url, str) or not cancel_url):
            raise ValueError("cancel_url must be a non-empty string")
        self.cancel_url = cancel_url

    def run(self, context: ActionContext) -> Any:
        """Send the request with the Mistral-* headers.

        Returns:
            ``None``, or ``Result(error=<answer>)`` when the status is not 2xx/3xx.

        Raises:
            ActionError: the request could not be sent (as for ``std.http``).
        """
        answer = transport.send(self._request(self._with_mistral_headers(context)))
        if answer["status"] not in MISTRAL_HTTP_OK_STATUSES:
            return Result(error=answer)
        return None

    def is_sync(self) -> bool:
        """Always ``False``: the web service pushes the result through the API."""
        return False

    def cancel(self, context: ActionContext) -> bool:
        """Tell the web service at ``cancel_url`` that its work is no longer wanted, and why.

        Returns:
            ``True`` once told; ``False`` without ``cancel_url`` (nobody to tell).

        Raises:
            ActionError: not delivered (refused by the egress policy, no answer, or a status
                outside 200-399); the engine tries again later.
        """
        if self.cancel_url is None:
            return False
        ex = context.execution
        notice = {
            "action_execution_id": ex.action_execution_id,
            "workflow_execution_id": ex.workflow_execution_id,
            "reason": context.cancel_reason,
        }
        headers = self._with_mistral_headers(context)
        set_header(headers, "Mistral-Callback-Token", None)
        body, content_type = encode_body(None, notice)
        set_header(headers, "Content-Type", content_type)
        request = HttpRequest(
            method="POST",
            url=self.cancel_url,
            headers=headers,
            body=body,
            timeout=self.timeout,
            follow_redirects=False,
            verify=self.verify,
        )
        answer = transport.send(request)
        if answer["status"] not in MISTRAL_HTTP_OK_STATUSES:
            raise ActionError(f"the cancel notice to {self.cancel_url} was answered {answer['status']}")
        return True

    def _with_mistral_headers(self, context: ActionContext) -> dict[str, str]:
        """The caller's headers with the Mistral-* ones set from ``context``."""
        ex = context.execution
        headers = dict(self.headers)
        for name, value in (
            ("Mistral-Workflow-Name", ex.workflow_name),
            ("Mistral-Workflow-Execution-Id", ex.workflow_execution_id),
            ("Mistral-Task-Id", ex.task_execution_id),
            ("Mistral-Action-Execution-Id", ex.action_execution_id),
            ("Mistral-Callback-URL", ex.callback_url),
            ("Mistral-Action-Execution-URL", ex.action_execution_url),
            ("Mistral-Callback-Token", getattr(ex, "callback_token", None)),
        ):
            set_header(headers, name, None if value is None else str(value))
        return headers
