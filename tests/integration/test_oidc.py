"""``mistral-core serve`` with ``auth = oidc``, against a real OpenID Connect provider.

The provider (node-oidc-provider, tests/oidc) issues real access tokens with the password grant;
the server fetches its discovery document and keys itself. Every refusal is checked the way a
client sees it: the status, ``WWW-Authenticate`` on 401, and Mistral's one-line fault body. The
forged tokens are the provider's own, tampered with, or made with its published public key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.support import (
    ProcessGroup,
    Response,
    ServerProcess,
    create_key,
    process_group,
    request,
    wait_until,
)
from tests.oidc.support import AUDIENCE, USERS, OidcProvider, bearer, oidc_server, start_provider, user

pytestmark = pytest.mark.integration

WF = """\
---
version: '2.0'
oidc_wf:
  tasks:
    t1:
      action: std.noop
"""

#: More users for this module: one whose tokens expire at once, one whose tokens are for another
#: service, one in EdDSA and one in PS256.
MORE_USERS = (
    user("brief", claims={"realm_access": {"roles": ["mistral-admin"]}, "project": "p1"}, ttl=1),
    user("elsewhere", claims={"realm_access": {"roles": ["mistral-admin"]}}, audience="another-service"),
    user("eddie", claims={"realm_access": {"roles": ["mistral-reader"]}, "project": "p1"}, alg="EdDSA"),
    user("petra", claims={"realm_access": {"roles": ["mistral-reader"]}, "project": "p1"}, alg="PS256"),
)


class Setup:
    """The provider, another provider (another issuer), and a server trusting the first only."""

    def __init__(self, group: ProcessGroup) -> None:
        self.group = group
        self.provider = start_provider(group, users=(*USERS, *MORE_USERS))
        self.stranger = start_provider(group, users=USERS, realm="other")
        self.server = oidc_server(group, self.provider, oidc_leeway=0)

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Response:
        headers = bearer(token) if token is not None else {}
        headers.update(kwargs.pop("headers", {}))
        return request(method, self.server.base_url + path, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with process_group(tmp_path_factory.mktemp("oidc")) as group:
        yield Setup(group)


def _fault(answer: Response, status: int) -> str:
    assert answer.status == status, answer
    body = answer.json()
    assert set(body) == {"faultcode", "faultstring", "debuginfo"}
    assert "\n" not in body["faultstring"]
    if status == 401:
        assert answer.headers["www-authenticate"] == 'Bearer realm="mistral-core"'
    return str(body["faultstring"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload), signature


def _hand_made(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None = None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    return f"{signing_input}.{_b64(hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest())}"


# -- accepted, by role ------------------------------------------------------------------------


def test_the_providers_tokens_work_as_x_auth_token_and_as_bearer(setup: Setup) -> None:
    token = setup.provider.token("ada")

    created = setup.call(
        "POST", "/v2/workflows", token, data=WF.encode(), headers={"Content-Type": "text/plain"}
    )
    assert created.status == 201, created
    listed = request(
        "GET", setup.server.base_url + "/v2/workflows", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status == 200 and "oidc_wf" in {wf["name"] for wf in listed.json()["workflows"]}


def test_each_role_may_do_what_its_role_allows_and_no_more(setup: Setup) -> None:
    setup.call("POST", "/v2/workflows", setup.provider.token("ada"), data=WF.encode())
    operator, reader = setup.provider.token("otto"), setup.provider.token("rita")

    started = setup.call("POST", "/v2/executions", operator, json_body={"workflow_name": "oidc_wf"})
    assert started.status == 201, started
    assert _fault(setup.call("POST", "/v2/workflows", operator, data=WF.encode()), 403) == (
        "POST /v2/workflows needs the role admin; otto is operator"
    )
    assert setup.call("GET", "/v2/executions", reader).status == 200
    assert _fault(
        setup.call("POST", "/v2/executions", reader, json_body={"workflow_name": "oidc_wf"}), 403
    ) == ("POST /v2/executions needs the role operator; rita is reader")


@pytest.mark.parametrize("username", ["eddie", "petra", "otto"])
def test_tokens_signed_with_each_algorithm_of_the_provider_are_accepted(setup: Setup, username: str) -> None:
    token = setup.provider.token(username)
    assert _parts(token)[0]["alg"] in ("EdDSA", "PS256", "ES256")

    assert setup.call("GET", "/v2/workflows", token).status == 200


def test_a_subject_without_a_role_here_gets_403_with_a_message(setup: Setup) -> None:
    answer = setup.call("GET", "/v2/workflows", setup.provider.token("nobody"))

    assert _fault(answer, 403) == (
        "nobody has no role here: claim realm_access.roles names none of "
        "mistral-admin, mistral-operator, mistral-reader"
    )


def test_the_entry_points_need_no_token_and_everything_else_does(setup: Setup) -> None:
    assert setup.call("GET", "/v2").status == 200
    assert _fault(setup.call("GET", "/v2/workflows"), 401).startswith("Authentication required")


# -- refused: 401 -------------------------------------------------------------------------------


def test_an_expired_token_is_refused(setup: Setup) -> None:
    token = setup.provider.token("brief")
    exp = _parts(token)[1]["exp"]
    wait_until(lambda: time.time() >= exp + 1, "the token to expire", timeout=5)

    assert (
        _fault(setup.call("GET", "/v2/workflows", token), 401)
        == "The OIDC token is not valid: it has expired"
    )


def test_a_token_for_another_service_is_refused(setup: Setup) -> None:
    token = setup.provider.token("elsewhere")
    assert _parts(token)[1]["aud"] == "another-service"

    assert _fault(setup.call("GET", "/v2/workflows", token), 401) == (
        "The OIDC token is not valid: it is not for this service (aud)"
    )


def test_a_token_of_another_issuer_is_refused(setup: Setup) -> None:
    token = setup.stranger.token("ada")

    assert _fault(setup.call("GET", "/v2/workflows", token), 401) == (
        "The OIDC token is not valid: it is not from the configured issuer (iss)"
    )


def test_a_token_whose_claims_were_changed_is_refused(setup: Setup) -> None:
    header, claims, signature = _parts(setup.provider.token("rita"))
    claims["realm_access"]["roles"] = ["mistral-admin"]
    forged = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{signature}"

    assert _fault(setup.call("GET", "/v2/workflows", forged), 401) == (
        "The OIDC token is not valid: its signature does not verify"
    )


def test_unsigned_tokens_and_hmac_over_the_providers_public_key_are_refused(setup: Setup) -> None:
    header, claims, _ = _parts(setup.provider.token("ada"))
    (public_key,) = [key for key in setup.provider.jwks()["keys"] if key["kid"] == header["kid"]]
    pem = jwt.PyJWK(public_key).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = [
        _hand_made({**header, "alg": "none"}, claims),
        _hand_made({**header, "alg": "HS256"}, claims, hmac_key=pem),
        _hand_made({**header, "alg": "HS256"}, claims, hmac_key=json.dumps(public_key).encode()),
    ]

    for token in forged:
        assert _fault(setup.call("GET", "/v2/workflows", token), 401).startswith(
            "The OIDC token is not valid: its algorithm is not one of RS256"
        )


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "..",
        "e30.e30.e30",
        "!!!!.????.====",
        ".".join(secrets.token_urlsafe(3000) for _ in range(3)),  # a large one, within the limit
        ".".join(secrets.token_urlsafe(9000) for _ in range(3)),  # past the middleware's limit
        "not-a-jwt-nor-a-key",
    ],
)
def test_garbage_is_refused_in_one_line(setup: Setup, token: str) -> None:
    _fault(setup.call("GET", "/v2/workflows", token), 401)


def test_random_kids_do_not_make_the_server_fetch_the_keys_each_time(setup: Setup) -> None:
    assert setup.call("GET", "/v2/workflows", setup.provider.token("ada")).status == 200
    before = setup.provider.stats()["jwks"]
    _, claims, _ = _parts(setup.provider.token("ada"))

    for _ in range(100):
        key = ec.generate_private_key(ec.SECP256R1())
        forged = jwt.encode(claims, key, algorithm="ES256", headers={"kid": secrets.token_hex(8)})
        assert _fault(setup.call("GET", "/v2/workflows", forged), 401).startswith(
            "The OIDC token is signed with a key the provider does not have"
        )

    # At most one fetch for the first unknown kid (if the last fetch was more than the cooldown
    # ago); the other 99 are answered from the key set held.
    assert setup.provider.stats()["jwks"] - before <= 1


def test_the_server_logged_no_crash(setup: Setup) -> None:
    log = setup.server.log()
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]


def test_a_server_with_auth_oidc_and_no_issuer_does_not_start(tmp_path: Any) -> None:
    (tmp_path / "mistral-core.toml").write_text(f'auth = ["oidc"]\noidc_audience = "{AUDIENCE}"\n')
    with process_group(tmp_path) as group:
        server: ServerProcess = group.server(wait=False)
        assert server.popen.wait(30) != 0
        assert "setting oidc_issuer is required when auth includes oidc" in server.log()


def test_the_provider_really_was_asked(setup: Setup) -> None:
    """The tokens above were the provider's, and the server found its keys by discovery."""
    stats = setup.provider.stats()
    assert stats["token"] >= 10 and stats["discovery"] >= 1 and stats["jwks"] >= 1
    assert isinstance(setup.provider, OidcProvider)


def test_api_keys_and_oidc_tokens_together_with_serve_auth_keys_oidc(tmp_path: Any) -> None:
    with process_group(tmp_path) as group:
        provider = start_provider(group)
        key = create_key(f"sqlite:///{tmp_path / 'mistral-core.db'}", "ci-bot", "reader", cwd=tmp_path)
        server = oidc_server(group, provider, options=["--auth", "keys,oidc"], auth=None)
        url = server.base_url + "/v2/executions"

        assert request("GET", url, headers=bearer(key)).status == 200
        assert request("GET", url, headers=bearer(provider.token("otto"))).status == 200
        refused = request("POST", url, {"workflow_name": "x"}, headers=bearer(key))
        assert _fault(refused, 403) == "POST /v2/executions needs the role operator; ci-bot is reader"
        assert _fault(request("GET", url, headers=bearer("mck_" + "x" * 43)), 401)
