"""Signing in to the UI through a real OpenID Connect provider, over HTTP: the authorization code
flow with PKCE, state and nonce, and every way it can fail.

The provider is node-oidc-provider (tests/oidc) with its login page; the visitor is an HTTP client
with a cookie jar that follows no redirect by itself, so that a test can stop at the provider's
answer (the callback URL with its ``code`` and ``state``) and tamper with it, replay it, or send
it from another browser. The same sign-in in headless Chromium is in
tests/browser/test_oidc_sign_in_in_a_browser.py.
"""

from __future__ import annotations

import base64
import html
import http.cookiejar
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import pytest

from tests.integration.support import ProcessGroup, Response, ServerProcess, free_port, process_group
from tests.oidc.support import (
    PASSWORD,
    PROVIDER_NAME,
    USERS,
    OidcProvider,
    oidc_server,
    start_provider,
    ui_settings,
    user,
)

pytestmark = pytest.mark.integration

CALLBACK = "/ui/oidc/callback"
ADMIN = {"realm_access": {"roles": ["mistral-admin"]}, "project": "p1"}
#: Users whose ID tokens the provider spoils (tests/oidc/provider.mjs: id_token_claims), and one
#: whose access tokens are for another service.
MORE_USERS = (
    user("nina", claims=ADMIN, id_token_claims={"nonce": "a nonce of another sign-in"}),
    user("audrey", claims=ADMIN, id_token_claims={"aud": "another-client"}),
    user("elsewhere", claims=ADMIN, audience="another-service"),
)


class Visitor:
    """A browser without a screen: cookies, forms, and redirects followed one at a time."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()

        class Stop(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), Stop())

    def open(self, url: str, form: dict[str, str] | None = None) -> Response:
        data = urlencode(form).encode() if form is not None else None
        try:
            with self._opener.open(urllib.request.Request(url, data=data), timeout=10) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as exc:
            with exc:
                status, headers, body = exc.code, exc.headers, exc.read()
        found = {name.lower(): value for name, value in headers.items()}
        found["set-cookie"] = "\n".join(headers.get_all("Set-Cookie") or [])
        return Response(status, found, body)

    def cookie(self, name: str) -> http.cookiejar.Cookie | None:
        return next((c for c in self.jar if c.name == name), None)

    def start(self, server: ServerProcess, then: str = "/ui") -> Response:
        """Click "Sign in with": the answer (303 to the provider)."""
        return self.open(f"{server.base_url}/ui/oidc/start?next={quote(then, safe='')}")

    def to_callback(
        self, server: ServerProcess, username: str, then: str = "/ui", cancel: bool = False
    ) -> str:
        """Sign in at the provider as ``username`` (or cancel there): the URL it sends the browser
        back to, not opened yet."""
        answer = self.start(server, then)
        url = server.base_url
        while answer.status == 303:
            url = urljoin(url, answer.headers["location"])
            if url.startswith(server.base_url + CALLBACK):
                return url
            answer = self.open(url)
            if answer.status == 200 and b'id="username"' in answer.body:  # the provider's login page
                step = "/abort" if cancel else "/login"
                actions = re.findall(r'action="([^"]+)"', answer.body.decode())
                url = urljoin(url, html.unescape(next(a for a in actions if a.endswith(step))))
                answer = self.open(url, {} if cancel else {"username": username, "password": PASSWORD})
        raise AssertionError(f"the provider did not send the browser back: {answer}")

    def sign_in(self, server: ServerProcess, username: str, then: str = "/ui") -> Response:
        return self.open(self.to_callback(server, username, then))


def _decoded(cookie: str) -> dict[str, Any]:
    """What a cookie of ours holds (signed, not secret: its JSON is readable)."""
    text = cookie.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))))


def _flow_cookie(answer: Response) -> dict[str, Any]:
    """The pending sign-in the start's cookie holds."""
    value = re.search(r"mistral_core_oidc=([^;]+)", answer.headers["set-cookie"])
    assert value, answer.headers
    return _decoded(value.group(1))


def _refusal(answer: Response, status: int) -> str:
    """The one line of an error page of the UI with ``status``."""
    assert answer.status == status, answer
    assert answer.headers["content-type"].startswith("text/html")
    text = answer.body.decode()
    assert "Traceback" not in text
    found = re.search(r'<p role="alert">([^<]*)</p>', text)
    assert found, text
    return html.unescape(found.group(1))


def _no_session(visitor: Visitor) -> None:
    assert visitor.cookie("mistral_core_session") is None


class Setup:
    """A provider with the UI's clients, and a server signing people in as its confidential client."""

    def __init__(self, group: ProcessGroup) -> None:
        port = free_port()
        self.provider = start_provider(
            group, users=(*USERS, *MORE_USERS), redirect_uris=[f"http://127.0.0.1:{port}{CALLBACK}"]
        )
        self.server = oidc_server(group, self.provider, port=port, **ui_settings())


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with process_group(tmp_path_factory.mktemp("oidc-sign-in")) as group:
        yield Setup(group)


def _ui_server(group: ProcessGroup, public: bool = False) -> tuple[OidcProvider, ServerProcess]:
    """A provider and a server signing people in through it, in ``group``."""
    port = free_port()
    provider = start_provider(group, redirect_uris=[f"http://127.0.0.1:{port}{CALLBACK}"])
    return provider, oidc_server(group, provider, port=port, **ui_settings(public))


# -- signing in ---------------------------------------------------------------------------------


def test_the_sign_in_page_offers_the_provider(setup: Setup) -> None:
    page = Visitor().open(f"{setup.server.base_url}/ui/login?next=%2Fui%2Fexecutions%2Fx")
    assert page.status == 200
    assert f">Sign in with {PROVIDER_NAME}</a>" in page.body.decode()
    assert 'href="/ui/oidc/start?next=/ui/executions/x"' in page.body.decode()


def test_a_person_signs_in_at_the_provider_and_goes_back_where_they_were(setup: Setup) -> None:
    visitor = Visitor()
    then = "/ui/executions/e1?tab=tasks&x=1"
    started = visitor.start(setup.server, then)

    assert started.status == 303
    to_provider = urlsplit(started.headers["location"])
    assert f"{to_provider.scheme}://{to_provider.netloc}{to_provider.path}" == (
        f"{setup.provider.issuer}/protocol/openid-connect/auth"
    )
    asked = dict(parse_qsl(to_provider.query))
    assert asked["response_type"] == "code" and asked["client_id"] == "mistral-ui"
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["scope"] == "openid profile"
    assert asked["redirect_uri"] == setup.server.base_url + CALLBACK
    assert len(asked["state"]) >= 43 and len(asked["nonce"]) >= 43
    flow = started.headers["set-cookie"]
    assert "HttpOnly" in flow and "SameSite=Lax" in flow and "Path=/ui/oidc" in flow
    assert "Max-Age=600" in flow
    assert _flow_cookie(started)["t"] == then

    callback = visitor.to_callback(setup.server, "ada", then)
    # to_callback started a new sign-in: the first one's state is not this browser's any more
    assert dict(parse_qsl(urlsplit(callback).query))["iss"] == setup.provider.issuer
    landed = visitor.open(callback)

    assert landed.status == 200, landed
    page = landed.body.decode()
    assert f'<meta http-equiv="refresh" content="0; url={html.escape(then)}">' in page
    assert "signed in as <strong>ada</strong>" in page
    session = landed.headers["set-cookie"]
    assert "mistral_core_session=" in session and "SameSite=Strict" in session and "HttpOnly" in session
    assert re.search(r"mistral_core_oidc=;", session) or 'mistral_core_oidc=""' in session  # cleared
    value = visitor.cookie("mistral_core_session")
    assert value is not None and value.value is not None
    kept = _decoded(value.value)  # the identity, signed; no token of the provider, no code
    assert kept.keys() == {"n", "r", "p", "v", "g", "e"}
    assert (kept["n"], kept["r"], kept["p"], kept["v"], kept["g"]) == ("ada", "admin", "p1", "oidc", ["ops"])
    assert dict(parse_qsl(urlsplit(callback).query))["code"] not in value.value
    assert visitor.cookie("mistral_core_oidc") is None

    inbox = visitor.open(f"{setup.server.base_url}/ui")
    assert inbox.status == 200
    assert "Signed in as <strong>ada</strong> (admin)" in inbox.body.decode()


def test_a_public_client_signs_in_with_pkce_alone(tmp_path: Path) -> None:
    with process_group(tmp_path) as group:
        _, server = _ui_server(group, public=True)
        visitor = Visitor()

        landed = visitor.sign_in(server, "otto")

        assert landed.status == 200, landed
        inbox = visitor.open(f"{server.base_url}/ui")
        assert "Signed in as <strong>otto</strong> (operator)" in inbox.body.decode()


# -- what the provider answers ------------------------------------------------------------------


def test_a_person_who_cancels_at_the_provider_is_not_signed_in(setup: Setup) -> None:
    visitor = Visitor()
    callback = visitor.to_callback(setup.server, "ada", cancel=True)
    assert dict(parse_qsl(urlsplit(callback).query))["error"] == "access_denied"

    refused = visitor.open(callback)

    assert _refusal(refused, 401) == (
        "The provider did not sign you in: access_denied (the person cancelled the sign-in)"
    )
    assert 'href="/ui/login"' in refused.body.decode()  # a way on: sign in again
    _no_session(visitor)


def test_an_id_token_with_another_nonce_is_refused(setup: Setup) -> None:
    visitor = Visitor()
    assert _refusal(visitor.sign_in(setup.server, "nina"), 401) == (
        "The ID token is not for this sign-in (nonce)"
    )
    _no_session(visitor)


def test_an_id_token_for_another_client_is_refused(setup: Setup) -> None:
    visitor = Visitor()
    assert _refusal(visitor.sign_in(setup.server, "audrey"), 401) == (
        "The OIDC token is not valid: it is not for this service (aud)"
    )
    _no_session(visitor)


def test_an_access_token_for_another_service_is_refused(setup: Setup) -> None:
    visitor = Visitor()
    assert _refusal(visitor.sign_in(setup.server, "elsewhere"), 401) == (
        "The provider's access token is not accepted here: "
        "The OIDC token is not valid: it is not for this service (aud)"
    )
    _no_session(visitor)


def test_a_person_without_a_role_here_is_forbidden(setup: Setup) -> None:
    visitor = Visitor()
    assert _refusal(visitor.sign_in(setup.server, "nobody"), 403) == (
        "nobody has no role here: claim realm_access.roles names none of "
        "mistral-admin, mistral-operator, mistral-reader"
    )
    _no_session(visitor)


# -- what the browser brings back ---------------------------------------------------------------


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_another_state_is_refused_and_spends_nothing(setup: Setup) -> None:
    visitor = Visitor()
    callback = visitor.to_callback(setup.server, "ada")

    for state in ("x" * 43, "", "é", "s" * 10_000):
        refused = visitor.open(_with_query(callback, state=state))
        assert refused.status in (400, 414), refused
        _no_session(visitor)


def test_a_callback_without_the_browsers_sign_in_is_refused(setup: Setup) -> None:
    """Login CSRF: an attacker's own callback URL, opened in the victim's browser."""
    attacker = Visitor()
    callback = attacker.to_callback(setup.server, "rita")
    victim = Visitor()

    assert _refusal(victim.open(callback), 400) == (
        "This sign-in was not started in this browser, or took too long: sign in again"
    )
    _no_session(victim)


def test_a_flow_cookie_that_is_tampered_with_signs_nobody_in(setup: Setup) -> None:
    visitor = Visitor()
    callback = visitor.to_callback(setup.server, "ada")
    flow = visitor.cookie("mistral_core_oidc")
    assert flow is not None and flow.value is not None
    _, _, signature = flow.value.partition(".")
    evil = dict(_decoded(flow.value), t="https://evil.example/")
    text = base64.urlsafe_b64encode(json.dumps(evil).encode()).decode().rstrip("=")
    flow.value = f"{text}.{signature}"

    assert _refusal(visitor.open(callback), 400).startswith("This sign-in was not started in this browser")
    _no_session(visitor)


def test_a_callback_used_twice_is_refused_the_second_time(setup: Setup) -> None:
    visitor = Visitor()
    callback = visitor.to_callback(setup.server, "ada")
    flow = visitor.cookie("mistral_core_oidc")
    assert flow is not None
    assert visitor.open(callback).status == 200

    replayer = Visitor()  # the same URL and the same cookie, again (a copy of both)
    replayer.jar.set_cookie(flow)
    assert _refusal(replayer.open(callback), 400) == "This sign-in was already used: sign in again"
    _no_session(replayer)


def test_a_code_used_once_is_refused_by_the_provider_in_another_sign_in(setup: Setup) -> None:
    visitor = Visitor()
    first = visitor.to_callback(setup.server, "ada")
    assert visitor.open(first).status == 200
    code = dict(parse_qsl(urlsplit(first).query))["code"]

    second = Visitor()  # a fresh sign-in of its own (its state, its verifier), with the old code
    fresh = second.to_callback(setup.server, "rita")

    refused = second.open(_with_query(fresh, code=code))
    assert _refusal(refused, 400).startswith("The provider refused this sign-in: invalid_grant")
    _no_session(second)


def test_a_code_without_its_pkce_verifier_is_refused(setup: Setup) -> None:
    """The code of one browser's sign-in brought back by another browser's own sign-in."""
    victim, attacker = Visitor(), Visitor()
    stolen = dict(parse_qsl(urlsplit(victim.to_callback(setup.server, "ada")).query))["code"]
    own = attacker.to_callback(setup.server, "rita")

    refused = attacker.open(_with_query(own, code=stolen))

    assert _refusal(refused, 400).startswith("The provider refused this sign-in: invalid_grant")
    _no_session(attacker)


def test_an_answer_naming_another_issuer_is_refused(setup: Setup) -> None:
    visitor = Visitor()
    callback = visitor.to_callback(setup.server, "ada")

    refused = visitor.open(_with_query(callback, iss="https://evil.example/realms/mistral"))

    assert _refusal(refused, 400) == "This answer comes from another provider than this server's (iss)"
    _no_session(visitor)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "code=abc",
        "state=abc",
        "error=access_denied",
        "code=" + "c" * 5000 + "&state=s",
        "code=%00&state=%ff",
        "error=%0d%0aSet-Cookie:x&state=s",
    ],
)
def test_whatever_a_stranger_sends_the_callback_is_a_4xx_page(setup: Setup, query: str) -> None:
    answer = Visitor().open(f"{setup.server.base_url}{CALLBACK}?{query}")
    assert 400 <= answer.status < 500, answer
    assert "set-cookie" not in answer.headers or "mistral_core_session=" not in answer.headers["set-cookie"]


# -- going back: never elsewhere -----------------------------------------------------------------


@pytest.mark.parametrize(
    "then",
    [
        "https://evil.example/",
        "//evil.example/ui",
        "/\\evil.example",
        "/ui\\..\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/uievil",
        "ui",
        "/ui\r\nSet-Cookie: x=1",
        "/ui/\t/evil.example",
        "/ui/é",
        "/ui/" + "x" * 3000,
    ],
)
def test_the_page_to_go_back_to_is_never_another_site(setup: Setup, then: str) -> None:
    started = Visitor().start(setup.server, then)
    assert started.status == 303
    assert _flow_cookie(started)["t"] == "/ui"


def test_a_sign_in_sent_elsewhere_lands_on_the_inbox(setup: Setup) -> None:
    visitor = Visitor()
    landed = visitor.sign_in(setup.server, "ada", then="//evil.example/")

    assert landed.status == 200
    assert '<meta http-equiv="refresh" content="0; url=/ui">' in landed.body.decode()
    assert "evil" not in landed.body.decode()


# -- the provider is down -----------------------------------------------------------------------


def test_a_provider_that_goes_down_during_a_sign_in_gives_a_page_saying_so(tmp_path: Path) -> None:
    with process_group(tmp_path) as group:
        provider, server = _ui_server(group)
        visitor = Visitor()
        callback = visitor.to_callback(server, "ada")
        provider.stop()

        down = visitor.open(callback)

        assert _refusal(down, 503) == "The OIDC provider cannot be reached now: try again later"
        _no_session(visitor)


def test_a_provider_never_reached_gives_a_page_saying_so(tmp_path: Path) -> None:
    with process_group(tmp_path) as group:
        provider, server = _ui_server(group)
        provider.stop()  # before the server read its discovery document

        for _ in range(3):  # then at once, without asking the provider again for a while
            assert _refusal(Visitor().start(server), 503) == (
                "The OIDC provider cannot be reached now: try again later"
            )
        assert server.running
