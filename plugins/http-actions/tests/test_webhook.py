"""The webhook notifier against a real HTTP server: Mistral's body, Standard Webhooks' headers (the
signature checked by the Standard Webhooks library itself), the answers that are retried and not,
and the egress policy of std.http."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from mistral_http_actions.egress import DENIED_CIDRS_ENV
from mistral_http_actions.webhook import WebhookNotifier, signed_headers
from standardwebhooks import Webhook

from mistral_core.notifiers import DeliveryError, Notification

LoopbackServer = Any  # conftest's (conftest modules cannot be imported)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = {"id": "e1", "name": "wf", "state": "RUNNING", "event": "WORKFLOW_LAUNCHED"}


def _notification(url: str, **config: Any) -> Notification:
    return Notification("d-1", 2, "WORKFLOW_LAUNCHED", BODY, {"type": "webhook", "url": url, **config})


def test_the_standard_webhooks_test_vector_is_reproduced() -> None:
    headers = signed_headers("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}', SECRET, {})

    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_try_posts_mistral_s_body_signed_as_standard_webhooks_says(http_server: LoopbackServer) -> None:
    WebhookNotifier().publish(_notification(http_server.url("/echo"), secret=SECRET, headers={"X-Tag": "a"}))

    (request,) = http_server.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert request["method"] == "POST"
    assert request["body"] == json.dumps(BODY)  # Mistral's text: json.dumps of the dictionary
    assert headers["content-type"] == "application/json" and headers["x-tag"] == "a"
    assert headers["webhook-id"] == "d-1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert Webhook(SECRET).verify(request["body"], headers) == BODY  # raises if the signature is wrong


def test_without_a_secret_there_is_no_signature(http_server: LoopbackServer) -> None:
    WebhookNotifier().publish(_notification(http_server.url("/echo")))

    headers = {name.lower() for name in http_server.requests[0]["headers"]}
    assert {"webhook-id", "webhook-timestamp"} <= headers and "webhook-signature" not in headers


@pytest.mark.parametrize(("status", "retry"), [(500, True), (404, True), (302, True), (410, False)])
def test_an_answer_other_than_2xx_is_a_failure(http_server: LoopbackServer, status: int, retry: bool) -> None:
    with pytest.raises(DeliveryError) as failed:
        WebhookNotifier().publish(_notification(http_server.url(f"/status/{status}?token=t")))

    assert failed.value.retry is retry
    assert f"answered {status}" in failed.value.message and "token" not in failed.value.message


def test_a_refused_connection_is_retried() -> None:
    with pytest.raises(DeliveryError) as failed:
        WebhookNotifier().publish(_notification("http://127.0.0.1:9/hook"))
    assert failed.value.retry is True


@pytest.mark.parametrize("host", ["127.0.0.1:9", "no-such-host.invalid"])
def test_a_failure_without_an_answer_does_not_show_the_url_s_query_either(host: str) -> None:
    """Its message lands in GET /v2/notifications and the log: no token of the URL in it."""
    with pytest.raises(DeliveryError) as failed:
        WebhookNotifier().publish(_notification(f"http://{host}/hook?token=t0ps3cret"))

    assert failed.value.retry is True and "/hook" in failed.value.message
    assert "t0ps3cret" not in failed.value.message


def test_the_egress_policy_of_std_http_refuses_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DENIED_CIDRS_ENV, "127.0.0.0/8")

    with pytest.raises(DeliveryError) as failed:
        WebhookNotifier().publish(_notification("http://127.0.0.1:9/hook"))

    assert failed.value.retry is False and "egress policy" in failed.value.message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "url is required"),
        ({"url": "ftp://host/x"}, "url must be an http or https URL"),
        ({"url": "http:///x"}, "url has no host"),
        ({"url": "http://h/" + "x" * 3000}, "url must be at most 2048 characters"),
        ({"url": "http://h/a b"}, "url must be at most 2048 characters, without spaces"),
        ({"url": "http://h:99999/"}, "url is not a valid URL"),
        ({"url": "http://h/", "headers": []}, "headers must be an object"),
        ({"url": "http://h/", "headers": {"X-N": 5}}, "headers.X-N must be a string"),
        ({"url": "http://h/", "headers": {"X-A": "a\r\nX-B: b"}}, "headers.X-A must be a string"),
        ({"url": "http://h/", "headers": {"bad name": "v"}}, "headers: 'bad name' is not a header name"),
        ({"url": "http://h/", "headers": {"Webhook-Id": "x"}}, "headers: Webhook-Id is set by the server"),
        ({"url": "http://h/", "headers": {f"X-{i}": "v" for i in range(33)}}, "headers has 33 entries"),
        ({"url": "http://h/", "headers": {f"X-{i}": "v" * 4000 for i in range(3)}}, "headers hold 12"),
        ({"url": "http://h/", "secret": "abc"}, "secret must be a string 'whsec_"),
        ({"url": "http://h/", "secret": "whsec_!!"}, "secret: the part after 'whsec_' is not base64"),
        ({"url": "http://h/", "secret": "whsec_c2hvcnQ="}, "secret holds 5 bytes"),
    ],
)
def test_a_publisher_that_cannot_be_used_is_refused_in_one_line(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)) as refused:
        WebhookNotifier.check(config)
    assert "\n" not in str(refused.value)


def test_a_usable_publisher_passes() -> None:
    WebhookNotifier.check(
        {"url": "https://hooks.example/x?k=1", "headers": {"Authorization": "Bearer t"}, "secret": SECRET}
    )
    assert WebhookNotifier.target({"url": "https://hooks.example/x"}) == "https://hooks.example/x"
