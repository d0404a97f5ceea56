"""std.http against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
import urllib3
from mistral_http_actions import HTTPAction, egress
from mistral_http_actions.egress import DENIED_CIDRS_ENV

from mistral_core import ActionContext, ActionError, Result
from mistral_core.actions.registry import ActionRegistry

CTX = ActionContext()
Server = Any  # conftest's LoopbackServer (conftest modules cannot be imported)


def call(**action_input: Any) -> Any:
    """Build and run std.http as the executor does."""
    return HTTPAction(**action_input).run(CTX)


def last(server: Server) -> dict[str, Any]:
    """The last request the server received."""
    request: dict[str, Any] = server.requests[-1]
    return request


# -- the result ------------------------------------------------------------------------
def test_get_returns_mistrals_result_shape(http_server: Server) -> None:
    result = call(url=http_server.url("/echo"))
    assert set(result) == {"content", "status", "headers", "encoding", "url", "reason", "cookies", "elapsed"}
    assert result["status"] == 200
    assert result["reason"] == "OK"
    assert result["content"]["method"] == "GET"  # JSON bodies are decoded
    assert result["headers"]["Content-Type"] == "application/json"
    assert result["encoding"] is None
    assert result["url"] == http_server.url("/echo")
    assert isinstance(result["elapsed"], float)
    json.dumps(result)  # the result is JSON-serialisable


def test_text_is_decoded_with_its_charset(http_server: Server) -> None:
    result = call(url=http_server.url("/text"))
    assert result["content"] == "café"
    assert result["encoding"] == "ISO-8859-1"


def test_response_cookies_are_reported(http_server: Server) -> None:
    assert call(url=http_server.url("/cookies"))["cookies"] == {"session": "abc", "theme": "dark"}


@pytest.mark.parametrize("method", ["POST", "put", "DELETE", "PATCH", "OPTIONS"])
def test_methods(http_server: Server, method: str) -> None:
    assert call(url=http_server.url(), method=method)["content"]["method"] == method.upper()


def test_head_has_no_content(http_server: Server) -> None:
    result = call(url=http_server.url(), method="HEAD")
    assert result["status"] == 200
    assert result["content"] == ""


# -- the request -------------------------------------------------------------------------
def test_query_params_are_added_to_the_url(http_server: Server) -> None:
    result = call(url=http_server.url("/echo?x=0"), params={"a": 1, "b": "two words", "c": [3, 4]})
    assert result["content"]["query"] == {"x": ["0"], "a": ["1"], "b": ["two words"], "c": ["3", "4"]}


def test_json_is_sent_as_json(http_server: Server) -> None:
    call(url=http_server.url(), method="POST", json={"hello": "world", "n": [1, 2]})
    request = last(http_server)
    assert json.loads(request["body"]) == {"hello": "world", "n": [1, 2]}
    assert request["headers"]["Content-Type"] == "application/json"


def test_a_dict_body_is_sent_as_a_json_string(http_server: Server) -> None:
    call(url=http_server.url(), method="POST", body={"a": 1})
    assert json.loads(last(http_server)["body"]) == {"a": 1}


def test_a_string_body_is_sent_as_is(http_server: Server) -> None:
    call(url=http_server.url(), method="PUT", body="a=1&b=2", headers={"Content-Type": "text/plain"})
    request = last(http_server)
    assert request["body"] == "a=1&b=2"
    assert request["headers"]["Content-Type"] == "text/plain"


def test_body_and_json_together_are_refused() -> None:
    with pytest.raises(ValueError, match="Only one of the parameters 'json' and 'body'"):
        HTTPAction(url="http://127.0.0.1/", body="x", json={"a": 1})
    registry = ActionRegistry.from_entry_points()
    with pytest.raises(ActionError, match=r"^Failed to create action std\.http: Only one of"):
        registry.build("http", {"url": "http://127.0.0.1/", "body": "x", "json": {"a": 1}})


def test_header_values_are_stringified(http_server: Server) -> None:
    call(url=http_server.url(), headers={"X-Count": 3, "X-Ratio": 0.5, "X-Name": "n", "X-Gone": None})
    headers = last(http_server)["headers"]
    assert (headers["X-Count"], headers["X-Ratio"], headers["X-Name"]) == ("3", "0.5", "n")
    assert "X-Gone" not in headers


def test_cookies_become_the_cookie_header(http_server: Server) -> None:
    call(url=http_server.url(), cookies={"a": "1", "b": 2})
    assert last(http_server)["headers"]["Cookie"] == "a=1; b=2"


@pytest.mark.parametrize("auth", ["alice:se:cret", ["alice", "se:cret"]])
def test_basic_auth(http_server: Server, auth: Any) -> None:
    call(url=http_server.url(), auth=auth)
    expected = base64.b64encode(b"alice:se:cret").decode()
    assert last(http_server)["headers"]["Authorization"] == f"Basic {expected}"


def test_bad_auth_is_refused() -> None:
    with pytest.raises(ValueError, match=r"auth must be 'user:password' or \[user, password\]"):
        HTTPAction(url="http://127.0.0.1/", auth="nocolon")


# -- timeouts, redirects, failures -------------------------------------------------------
def test_timeout(http_server: Server) -> None:
    url = http_server.url("/slow?delay=1")
    with pytest.raises(
        ActionError, match=rf"^HTTP request to {re.escape(url)} timed out after 0\.2 seconds$"
    ):
        call(url=url, timeout=0.2)


def test_the_default_timeout_is_the_one_shown_and_documented() -> None:
    """``mistral-core actions`` and GET /v2/actions show the default docs/plugins.md gives: 60 s."""
    docs = (Path(__file__).parents[3] / "docs" / "plugins.md").read_text()
    documented = re.search(r"^\| `timeout` \| (\S+) \|", docs, re.MULTILINE)
    assert documented is not None
    registry = ActionRegistry.from_entry_points()
    for name in ("std.http", "std.mistral_http"):
        (param,) = [p for p in registry.descriptor(name).params if p.name == "timeout"]
        assert param.default == 60 == int(documented.group(1))
        assert "timeout=60" in registry.descriptor(name).input_spec


def test_a_null_timeout_is_the_default() -> None:
    assert HTTPAction(url="http://127.0.0.1/", timeout=None).timeout == 60


def test_bad_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout must be more than 0 seconds"):
        HTTPAction(url="http://127.0.0.1/", timeout=0)


def test_redirects_are_not_followed_unless_asked(http_server: Server) -> None:
    target = http_server.url("/echo?after=redirect")
    result = call(url=http_server.url("/redirect/302"), params={"to": target})
    assert result["status"] == 302
    assert result["headers"]["Location"] == target


def test_redirects_are_followed_when_allowed(http_server: Server) -> None:
    target = http_server.url("/echo?after=redirect")
    result = call(url=http_server.url("/redirect/307"), params={"to": target}, allow_redirects=True)
    assert result["status"] == 200
    assert result["url"] == target
    assert result["content"]["query"] == {"after": ["redirect"]}


def test_a_303_after_post_becomes_a_get_without_body(http_server: Server) -> None:
    target = http_server.url("/echo")
    result = call(
        url=http_server.url("/redirect/303"),
        params={"to": target},
        method="POST",
        json={"a": 1},
        allow_redirects=True,
    )
    assert result["content"]["method"] == "GET"
    assert result["content"]["body"] == ""
    assert "Content-Type" not in result["content"]["headers"]


def test_a_relative_location_is_resolved(http_server: Server) -> None:
    result = call(url=http_server.url("/redirect/301"), params={"to": "/echo?rel=1"}, allow_redirects=True)
    assert result["url"] == http_server.url("/echo?rel=1")


@pytest.mark.parametrize("status", [400, 404, 409, 500, 503, 307])
def test_status_outside_200_306_is_an_error_result(http_server: Server, status: int) -> None:
    url = http_server.url(f"/status/{status}")
    result = call(url=url)
    assert isinstance(result, Result)
    assert result.is_error()
    assert result.error["status"] == status
    assert result.error["url"] == url


@pytest.mark.parametrize("status", [200, 201, 204, 306])
def test_status_inside_200_306_is_a_success(http_server: Server, status: int) -> None:
    assert call(url=http_server.url(f"/status/{status}"))["status"] == status


def test_connection_refused_names_the_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    with pytest.raises(ActionError, match=rf"^HTTP request to {re.escape(url)} failed: .*refused"):
        call(url=url, timeout=2)


def test_an_unresolvable_host_names_the_url() -> None:
    with pytest.raises(ActionError, match=r"^HTTP request to http://no-such-host\.invalid/ failed"):
        call(url="http://no-such-host.invalid/", timeout=2)


# -- size limit ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/big-declared", "/big-streamed"])
def test_answers_over_5_mib_are_refused(http_server: Server, path: str) -> None:
    with pytest.raises(ActionError, match=r"is larger than the limit of 5 MiB"):
        call(url=http_server.url(path))


# -- egress policy ------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(ActionError, match="only http and https URLs are allowed"):
        call(url=url)


def test_link_local_metadata_is_denied_by_default() -> None:
    with pytest.raises(
        ActionError, match=r"refused by the egress policy: 169\.254\.169\.254 is in the denied"
    ):
        call(url="http://169.254.169.254/latest/meta-data/")


def test_ipv4_mapped_ipv6_does_not_bypass_the_deny_list() -> None:
    with pytest.raises(ActionError, match="refused by the egress policy"):
        call(url="http://[::ffff:169.254.169.254]/")


METADATA_URLS = {
    "AWS, GCP, Azure, OpenStack, DigitalOcean": "http://169.254.169.254/latest/meta-data/",
    "AWS ECS task metadata": "http://169.254.170.2/v2/metadata",
    "AWS IPv6": "http://[fd00:ec2::254]/latest/meta-data/",
    "GCP IPv6": "http://[fd20:ce::254]/computeMetadata/v1/",
    "Alibaba": "http://100.100.100.200/latest/meta-data/",
    "Azure wireserver": "http://168.63.129.16/machine?comp=goalstate",
    "Oracle legacy": "http://192.0.0.192/latest/",
    "OpenStack IPv6": "http://[fe80::a9fe:a9fe]/openstack/",
    "Tencent": "http://169.254.0.23/meta-data/",
    "IPv4-mapped Alibaba": "http://[::ffff:100.100.100.200]/",
    "IPv4-mapped Azure": "http://[::ffff:168.63.129.16]/",
    "IPv4-mapped Oracle": "http://[::ffff:192.0.0.192]/",
    "NAT64 AWS": "http://[64:ff9b::a9fe:a9fe]/",
    "NAT64 Alibaba": "http://[64:ff9b::100.100.100.200]/",
    "6to4 AWS": "http://[2002:a9fe:a9fe::1]/",
    "decimal spelling": "http://2852039166/",
    "hexadecimal spelling": "http://0xa9fea9fe/",
    "short spelling": "http://169.254.43518/",
}


@pytest.mark.parametrize("url", list(METADATA_URLS.values()), ids=list(METADATA_URLS))
def test_every_cloud_metadata_address_is_denied_by_default(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DENIED_CIDRS_ENV, raising=False)
    parsed = urllib3.util.parse_url(url)
    # The policy itself, so that nothing is ever sent to these addresses, even were it wrong.
    with pytest.raises(ActionError, match=r"refused by the egress policy: \S+ is in the denied range"):
        egress.check_url(url, parsed.scheme, parsed.host, parsed.port)


def test_the_default_deny_list_says_what_each_range_is() -> None:
    assert egress.DEFAULT_DENIED_CIDRS.split(",") == [cidr for cidr, _ in egress.DEFAULT_DENIED]
    assert all(what for _, what in egress.DEFAULT_DENIED)


def test_loopback_is_allowed_by_default(http_server: Server) -> None:
    assert call(url=http_server.url())["status"] == 200


def test_a_deny_list_covering_loopback_refuses(http_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DENIED_CIDRS_ENV, "10.0.0.0/8, 127.0.0.0/8,::1/128")
    with pytest.raises(ActionError) as info:
        call(url=http_server.url())
    assert str(info.value) == (
        f"HTTP request to {http_server.url()} refused by the egress policy: 127.0.0.1 is in the denied "
        f"range 127.0.0.0/8 ({DENIED_CIDRS_ENV})"
    )
    assert http_server.requests == []  # nothing was sent


def test_a_redirect_into_a_denied_range_is_refused(
    http_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DENIED_CIDRS_ENV, "127.0.0.2/32")
    port = http_server.server_address[1]
    with pytest.raises(ActionError, match=r"127\.0\.0\.2 is in the denied range 127\.0\.0\.2/32"):
        call(
            url=http_server.url("/redirect/302"),
            params={"to": f"http://127.0.0.2:{port}/echo"},
            allow_redirects=True,
        )


def test_an_empty_deny_list_denies_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DENIED_CIDRS_ENV, "")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ActionError, match="failed"):  # refused by the network, not by the policy
        call(url=f"http://127.0.0.1:{port}/", timeout=2)


def test_an_invalid_deny_list_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DENIED_CIDRS_ENV, "127.0.0.0/8,not-a-cidr")
    with pytest.raises(ActionError, match=rf"{DENIED_CIDRS_ENV} holds an invalid CIDR: 'not-a-cidr'"):
        call(url="http://127.0.0.1:1/")


# -- registration -------------------------------------------------------------------------
def test_std_http_is_registered_and_sync() -> None:
    registry = ActionRegistry.from_entry_points()
    desc = registry.descriptor("std.http")
    assert desc.cls is HTTPAction
    assert desc.is_sync is True
    assert [p.name for p in desc.params if p.required] == ["url"]


def test_an_action_survives_a_rebuild_without_init(http_server: Server) -> None:
    original = HTTPAction(url=http_server.url(), method="POST", json={"a": 1})
    rebuilt = HTTPAction.__new__(HTTPAction)
    rebuilt.__dict__.update(vars(original))
    assert rebuilt.run(CTX)["content"]["body"] == '{"a":1}'
