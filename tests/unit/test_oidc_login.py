"""The UI's sign-in through the OIDC provider (:mod:`mistral_core.auth.oidc_login`), against the key
server of tests/unit/test_oidc.py (a real HTTP server on loopback) with a token endpoint whose
answers the tests choose: the tokens no real provider would give (another ``azp``, two subjects,
an opaque access token), and how the client authenticates. The whole flow against a real provider
and its login page is in tests/integration/test_oidc_sign_in.py.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from mistral_core.auth.identity import Role
from mistral_core.auth.oidc_login import LoginClient, Pending, SignInFlow, SpentStates, challenge
from mistral_core.config import Settings
from mistral_core.errors import InputError, ServiceUnavailable, Unauthenticated
from mistral_core.ui.pages.common import safe_next
from tests.unit.test_oidc import AUDIENCE, KeyServer, SigningKey, authenticator, claims_for

CLIENT = "mistral-ui"
SECRET = "s3cret:with/odd&chars"
REDIRECT = "http://127.0.0.1:8989/ui/oidc/callback"


@pytest.fixture
def server() -> Iterator[KeyServer]:
    key_server = KeyServer()
    try:
        yield key_server
    finally:
        key_server.close()


@pytest.fixture
def key(server: KeyServer) -> SigningKey:
    signing_key = SigningKey()
    server.publish(signing_key)
    return signing_key


def flow_of(server: KeyServer, secret: str = SECRET, clock: Any = time.time) -> SignInFlow:
    client = LoginClient(CLIENT, REDIRECT, client_secret=secret, scopes=("openid", "profile"))
    return SignInFlow(client, authenticator(server, groups_claim="groups"), clock=clock)


def id_claims(server: KeyServer, pending: Pending, **more: Any) -> dict[str, Any]:
    return claims_for(server, **{"aud": CLIENT, "nonce": pending.nonce, "roles": None, **more})


def provider_answers(server: KeyServer, key: SigningKey, pending: Pending, **id_more: Any) -> None:
    """The token endpoint's next answer: an ID token for this sign-in, an access token for the API."""
    tokens = {
        "id_token": key.sign(id_claims(server, pending, **id_more)),
        "access_token": key.sign(claims_for(server, groups=["ops"])),
        "token_type": "Bearer",
    }
    server.token_answer = (200, json.dumps(tokens).encode())


def back(server: KeyServer, pending: Pending, **params: str) -> dict[str, str]:
    return {"code": "the-code", "state": pending.state, "iss": server.issuer, **params}


def sent_form(server: KeyServer) -> tuple[dict[str, str], dict[str, str]]:
    headers, body = server.token_requests[-1]
    return headers, dict(parse_qsl(body.decode()))


# -- the flow -----------------------------------------------------------------------------------


def test_a_sign_in_sends_pkce_state_and_nonce_and_gives_the_access_tokens_identity(
    server: KeyServer, key: SigningKey
) -> None:
    flow = flow_of(server)
    url, pending = flow.begin("/ui/executions/e1")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{server.issuer}/auth"
    asked = dict(parse_qsl(parts.query))
    assert asked == {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    assert len({pending.state, pending.nonce, pending.verifier}) == 3 and len(pending.verifier) >= 43
    provider_answers(server, key, pending)

    identity = flow.finish(pending, back(server, pending))

    assert (identity.name, identity.role, identity.via, identity.groups) == (
        "ada",
        Role.ADMIN,
        "oidc",
        ("ops",),
    )
    headers, form = sent_form(server)
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": REDIRECT,
        "code_verifier": pending.verifier,
    }
    basic = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode()
    assert basic == "mistral-ui:s3cret%3Awith%2Fodd%26chars"  # form-encoded first (RFC 6749 2.3.1)
    assert server.hits["discovery"] == 1  # one document for the sign-in and the keys


def test_a_provider_that_takes_secrets_in_the_form_only_gets_them_there(
    server: KeyServer, key: SigningKey
) -> None:
    server.more_discovery = {"token_endpoint_auth_methods_supported": ["client_secret_post", "none"]}
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    provider_answers(server, key, pending)

    flow.finish(pending, back(server, pending))

    headers, form = sent_form(server)
    assert "Authorization" not in headers
    assert (form["client_id"], form["client_secret"]) == (CLIENT, SECRET)


def test_a_public_client_sends_its_id_and_the_verifier_only(server: KeyServer, key: SigningKey) -> None:
    flow = flow_of(server, secret="")
    _, pending = flow.begin("/ui")
    provider_answers(server, key, pending)

    flow.finish(pending, back(server, pending))

    headers, form = sent_form(server)
    assert "Authorization" not in headers and "client_secret" not in form
    assert form["client_id"] == CLIENT and form["code_verifier"] == pending.verifier


@pytest.mark.parametrize(
    ("id_more", "message"),
    [
        ({"nonce": None}, "The ID token is not for this sign-in (nonce)"),
        ({"nonce": "another"}, "The ID token is not for this sign-in (nonce)"),
        ({"aud": "another-client"}, "The OIDC token is not valid: it is not for this service (aud)"),
        ({"azp": "another-client"}, "The ID token was issued to another client (azp)"),
        ({"aud": [CLIENT, "another-client"]}, "The ID token was issued to another client (azp)"),
        ({"sub": "eve"}, "The provider's access token and ID token name different people"),
        ({"exp": int(time.time()) - 3600}, "The OIDC token is not valid: it has expired"),
        (
            {"iss": "http://127.0.0.1:1/realms/evil"},
            "The OIDC token is not valid: it is not from the configured issuer (iss)",
        ),
    ],
)
def test_an_id_token_that_is_not_this_sign_ins_is_refused(
    server: KeyServer, key: SigningKey, id_more: dict[str, Any], message: str
) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    provider_answers(server, key, pending, **id_more)

    with pytest.raises(Unauthenticated) as caught:
        flow.finish(pending, back(server, pending))
    assert caught.value.message == message


def test_several_audiences_with_this_client_as_azp_are_accepted(server: KeyServer, key: SigningKey) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    provider_answers(server, key, pending, aud=[CLIENT, "account"], azp=CLIENT)

    assert flow.finish(pending, back(server, pending)).name == "ada"


def test_an_opaque_access_token_is_refused_with_what_to_do(server: KeyServer, key: SigningKey) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    provider_answers(server, key, pending)
    tokens = json.loads(server.token_answer[1])
    server.token_answer = (200, json.dumps({**tokens, "access_token": "opaque-token"}).encode())

    with pytest.raises(Unauthenticated, match="access token is not a JWT"):
        flow.finish(pending, back(server, pending))


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (
            (400, b'{"error": "invalid_grant", "error_description": "grant request is invalid\\u0007"}'),
            InputError,
            "The provider refused this sign-in: invalid_grant (grant request is invalid); sign in again",
        ),
        (
            (401, b'{"error": "invalid_client"}'),
            InputError,
            "The provider refused this sign-in: invalid_client; sign in again",
        ),
        (
            (500, b'{"error": "server_error"}'),
            ServiceUnavailable,
            "The OIDC provider cannot be reached now: try again later",
        ),
        ((200, b"<html>"), ServiceUnavailable, "The OIDC provider cannot be reached now: try again later"),
        (
            (200, b'["a list"]'),
            ServiceUnavailable,
            "The OIDC provider cannot be reached now: try again later",
        ),
        ((200, b'{"access_token": "x"}'), Unauthenticated, "The provider's answer has no usable id_token"),
    ],
)
def test_what_the_token_endpoint_answers_is_one_line(
    server: KeyServer, key: SigningKey, answer: tuple[int, bytes], error: type[Exception], message: str
) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    server.token_answer = answer

    with pytest.raises(error) as caught:
        flow.finish(pending, back(server, pending))
    assert str(caught.value) == message


def test_a_token_endpoint_that_is_down_is_a_503(server: KeyServer, key: SigningKey) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")  # the discovery document is read
    server.close()

    with pytest.raises(ServiceUnavailable):
        flow.finish(pending, back(server, pending))


# -- the browser's answer -----------------------------------------------------------------------


def test_a_state_is_used_once(server: KeyServer, key: SigningKey) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    provider_answers(server, key, pending)
    assert flow.finish(pending, back(server, pending)).name == "ada"

    with pytest.raises(InputError, match="already used"):
        flow.finish(pending, back(server, pending))
    assert len(server.token_requests) == 1  # the second never reached the provider


def test_a_sign_in_that_took_too_long_is_refused(server: KeyServer, key: SigningKey) -> None:
    now = [1_000_000.0]
    flow = flow_of(server, clock=lambda: now[0])
    _, pending = flow.begin("/ui")
    now[0] += 601

    with pytest.raises(InputError, match="took too long"):
        flow.finish(pending, back(server, pending))
    with pytest.raises(InputError, match="not started in this browser"):
        flow.finish(None, back(server, pending))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"state": "x" * 43}, "This answer of the provider is not for the sign-in this browser started"),
        ({"state": "x" * 5000}, "This answer of the provider is not for the sign-in this browser started"),
        ({"iss": "https://evil.example"}, "This answer comes from another provider than this server's (iss)"),
        ({"code": ""}, "The provider sent no usable code: sign in again"),
        ({"code": "c" * 4097}, "The provider sent no usable code: sign in again"),
        ({"code": "é"}, "The provider sent no usable code: sign in again"),
    ],
)
def test_a_bad_answer_is_refused_before_the_token_endpoint(
    server: KeyServer, key: SigningKey, params: dict[str, str], message: str
) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")

    with pytest.raises(InputError) as caught:
        flow.finish(pending, back(server, pending, **params))
    assert caught.value.message == message
    assert server.token_requests == []


def test_an_answer_without_iss_is_refused_when_the_provider_always_sends_it(
    server: KeyServer, key: SigningKey
) -> None:
    server.more_discovery = {"authorization_response_iss_parameter_supported": True}
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    params = back(server, pending)
    del params["iss"]

    with pytest.raises(InputError, match=r"does not say who sent it \(iss\)"):
        flow.finish(pending, params)


def test_the_providers_error_is_shown_short_and_printable(server: KeyServer) -> None:
    flow = flow_of(server)
    _, pending = flow.begin("/ui")
    params = back(server, pending, error="access_denied\r\n", error_description="no\x00" + "!" * 500)
    del params["code"]

    with pytest.raises(Unauthenticated) as caught:
        flow.finish(pending, params)
    assert caught.value.message == "The provider did not sign you in: access_denied (no" + "!" * 197 + ")"


# -- parts --------------------------------------------------------------------------------------


def test_the_pkce_challenge_is_rfc_7636s() -> None:
    # RFC 7636, appendix B
    assert (
        challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_a_pending_sign_in_is_read_back_or_refused() -> None:
    pending = Pending("s", "n", "v", "/ui", 12)
    assert Pending.from_dict(pending.as_dict()) == pending
    for bad in ([], {"s": "s"}, {**pending.as_dict(), "e": "12"}, {**pending.as_dict(), "t": None}):
        with pytest.raises(ValueError):
            Pending.from_dict(bad)


def test_spent_states_are_bounded_and_forgotten_when_they_expire() -> None:
    spent = SpentStates(entries=3)
    assert spent.spend("a", expires=100, now=0)
    assert not spent.spend("a", expires=100, now=1)
    for state in "bcd":
        assert spent.spend(state, expires=100, now=1)
    assert spent.spend("a", expires=100, now=1)  # pushed out by newer ones: at most 3 kept
    assert spent.spend("e", expires=50, now=101)  # the others expired and were dropped


def test_the_settings_make_the_client() -> None:
    assert LoginClient.from_settings(Settings()) is None
    settings = Settings(
        auth=("oidc",),
        public_url="https://mistral.example.org/",
        oidc_ui_client_id=" mistral-ui ",
        oidc_ui_client_secret="s",
        oidc_ui_scopes=("profile", "openid", "profile", "groups"),
        oidc_ui_provider_name="Keycloak",
    )
    client = LoginClient.from_settings(settings)

    assert client == LoginClient(
        "mistral-ui",
        "https://mistral.example.org/ui/oidc/callback",
        "s",
        ("openid", "profile", "groups"),
        "Keycloak",
    )
    assert "client_secret" not in repr(client) and "'s'" not in repr(settings)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"oidc_ui_client_secret": "s"}, "setting oidc_ui_client_secret needs oidc_ui_client_id"),
        (
            {"oidc_ui_client_id": "ui", "auth": ("keys",)},
            "setting oidc_ui_client_id needs oidc in the setting auth",
        ),
        (
            {"oidc_ui_client_id": AUDIENCE},
            "setting oidc_ui_client_id must not be oidc_audience: the UI's ID tokens (aud: its "
            "client id) would pass for access tokens of the API",
        ),
        (
            {"oidc_ui_client_id": "ui", "oidc_ui_scopes": ("a b",)},
            "setting oidc_ui_scopes: 'a b' is not a scope",
        ),
        (
            {"oidc_ui_client_id": "ui", "oidc_ui_scopes": ('a"',)},
            "setting oidc_ui_scopes: 'a\"' is not a scope",
        ),
    ],
)
def test_bad_settings_of_the_client_are_refused(values: dict[str, Any], message: str) -> None:
    base = {"auth": ("oidc",), "oidc_issuer": "https://id.example.org/realms/x", "oidc_audience": AUDIENCE}
    with pytest.raises(InputError) as caught:
        settings = Settings(**{**base, **values})
        settings.check()
        LoginClient.from_settings(settings)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/ui", True),
        ("/ui/respond/a1?exp=1&sig=x", True),
        ("/ui?x=1", True),
        (None, False),
        ("", False),
        ("https://evil.example/ui", False),
        ("//evil.example/ui", False),
        ("/\\evil.example", False),
        ("/ui\\evil", False),
        ("/uievil", False),
        ("ui/x", False),
        ("/ui/\t/evil", False),
        ("/ui\r\nLocation: x", False),
        ("/ui/ x", False),
        ("/ui/é", False),
        ("/ui/" + "x" * 2048, False),
    ],
)
def test_the_page_to_go_back_to_is_a_relative_path_of_the_ui(target: str | None, kept: bool) -> None:
    assert safe_next(target) == (target if kept else "/ui")
