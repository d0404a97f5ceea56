"""The OIDC authenticator against a key server of the test's own: what it accepts, what it refuses,
and how often it fetches keys.

The key server is a real HTTP server on loopback serving a discovery document and a JWKS that the
test changes (a rotation) or stops (an outage), and counting what it is asked for. The tokens are
made here with PyJWT and by hand, because most of them are ones no provider would issue (expired,
forged, ``alg: none``, HMAC over the public key). The same authenticator against a real provider
and the ``mistral`` CLI is tested in tests/integration/test_oidc.py and tests/e2e/test_cli_oidc.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from mistral_core.auth.identity import DEFAULT_PROJECT, Role
from mistral_core.auth.oidc import OIDCAuthenticator, OIDCConfig, claim_at, parse_role_map
from mistral_core.auth.oidc_keys import KeySource, ProviderKeys
from mistral_core.config import Settings
from mistral_core.errors import Forbidden, InputError, ServiceUnavailable, Unauthenticated

AUDIENCE = "mistral-core"


class KeyServer:
    """A provider's discovery document, JWKS and token endpoint on loopback, counting the requests for
    the first two; the token endpoint answers :attr:`token_answer` and keeps what it was sent."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.hits = {"discovery": 0, "jwks": 0}
        self.down = False
        self.discovery_issuer: str | None = None
        self.more_discovery: dict[str, Any] = {}
        self.token_answer: tuple[int, bytes] = (200, b"{}")
        self.token_requests: list[tuple[dict[str, str], bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    server.hits["discovery"] += 1
                    body: Any = {
                        "issuer": server.discovery_issuer or server.issuer,
                        "jwks_uri": server.jwks_url,
                        "authorization_endpoint": f"{server.issuer}/auth",
                        "token_endpoint": f"{server.issuer}/token",
                        **server.more_discovery,
                    }
                else:
                    server.hits["jwks"] += 1
                    body = server.jwks
                status = 503 if server.down else 200
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.token_requests.append((dict(self.headers.items()), self.rfile.read(length)))
                status, data = server.token_answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/realms/test"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    def publish(self, *keys: SigningKey) -> None:
        self.jwks = {"keys": [key.public_jwk for key in keys]}

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class SigningKey:
    """A provider's private key, its public JWK, and tokens signed with it."""

    def __init__(self, alg: str = "RS256", kid: str | None = None) -> None:
        self.alg = alg
        self.kid = kid or f"{alg.lower()}-{secrets.token_hex(4)}"
        if alg.startswith(("RS", "PS")):
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.public_jwk = {**jwk, "kid": self.kid, "alg": alg, "use": "sig"}

    @property
    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def sign(self, claims: Mapping[str, Any], **header: Any) -> str:
        return jwt.encode(dict(claims), self.private, algorithm=self.alg, headers={"kid": self.kid, **header})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: Mapping[str, Any], claims: Mapping[str, Any], hmac_key: bytes | None = None) -> str:
    """A JWT made by hand: unsigned (``alg: none``), or HMAC-SHA256 signed with ``hmac_key``."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


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


def claims_for(server: KeyServer, **more: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": server.issuer, "aud": AUDIENCE, "sub": "ada", "iat": now, "exp": now + 300}
    claims.update(roles=["admin"])
    claims.update(more)
    return {k: v for k, v in claims.items() if v is not None}


def authenticator(server: KeyServer, **config: Any) -> OIDCAuthenticator:
    source = {name: config.pop(name) for name in ("cooldown", "retry", "max_age") if name in config}
    keys = ProviderKeys(KeySource(server.issuer, config.pop("jwks_url", ""), **source))
    return OIDCAuthenticator(OIDCConfig(issuer=server.issuer, audience=AUDIENCE, **config), keys)


def refused(auth: OIDCAuthenticator, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        auth.authenticate(token)
    assert "\n" not in caught.value.message
    return caught.value.message


# -- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_a_valid_token_gives_its_subject_role_and_the_default_project(server: KeyServer, alg: str) -> None:
    signing_key = SigningKey(alg)
    server.publish(signing_key)
    identity = authenticator(server).authenticate(signing_key.sign(claims_for(server)))

    assert identity is not None
    assert (identity.name, identity.role, identity.project, identity.via) == (
        "ada",
        Role.ADMIN,
        DEFAULT_PROJECT,
        "oidc",
    )
    assert identity.groups == ()
    assert server.hits == {"discovery": 1, "jwks": 1}


def test_roles_project_and_groups_come_from_the_configured_claims(server: KeyServer, key: SigningKey) -> None:
    auth = authenticator(
        server,
        roles_claim="realm_access.roles",
        role_map=parse_role_map(("mistral-reader=reader", "mistral-operator=operator")),
        project_claim="tenant.name",
        groups_claim="groups",
    )
    claims = claims_for(
        server,
        roles=None,
        realm_access={"roles": ["offline_access", "mistral-reader", "mistral-operator", "admin"]},
        tenant={"name": "p1"},
        groups=["ops", "dev", 7],
    )

    identity = auth.authenticate(key.sign(claims))

    assert identity is not None
    # The highest mapped role wins; "admin" is not in this role map, so it means nothing here.
    assert (identity.role, identity.project, identity.groups) == (Role.OPERATOR, "p1", ("ops", "dev"))


def test_a_space_separated_roles_claim_and_a_claim_whose_name_has_dots(
    server: KeyServer, key: SigningKey
) -> None:
    auth = authenticator(server, roles_claim="https://example.org/roles")
    identity = auth.authenticate(
        key.sign(claims_for(server, roles=None, **{"https://example.org/roles": "x reader"}))
    )

    assert identity is not None and identity.role is Role.READER


def test_a_token_a_little_past_its_exp_is_accepted_within_the_leeway(
    server: KeyServer, key: SigningKey
) -> None:
    now = int(time.time())
    token = key.sign(claims_for(server, iat=now - 100, exp=now - 10))

    assert authenticator(server, leeway=30).authenticate(token) is not None
    assert "expired" in refused(authenticator(server, leeway=0), token)


def test_secrets_that_are_not_jwts_are_left_to_the_other_authenticators(server: KeyServer) -> None:
    auth = authenticator(server)

    assert auth.authenticate("mck_" + secrets.token_urlsafe(32)) is None
    assert auth.authenticate("mcb_" + secrets.token_urlsafe(32)) is None
    assert server.hits == {"discovery": 0, "jwks": 0}


# -- refused: 401, one line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"iat": int(time.time()) + 3600}, "not valid yet"),
        ({"aud": "another-service"}, "not for this service"),
        ({"aud": None}, "required claim"),
        ({"sub": None}, "required claim"),
        ({"exp": None}, "required claim"),
        ({"sub": "x" * 300}, "subject"),
    ],
)
def test_tokens_with_bad_claims_are_refused(
    server: KeyServer, key: SigningKey, change: dict[str, Any], reason: str
) -> None:
    claims = claims_for(server)
    claims.update(change)
    token = key.sign({k: v for k, v in claims.items() if v is not None})

    assert reason in refused(authenticator(server, leeway=5), token)


def test_a_token_of_another_issuer_is_refused_before_any_fetch(server: KeyServer, key: SigningKey) -> None:
    token = key.sign(claims_for(server, iss="http://127.0.0.1:1/realms/evil"))

    assert "issuer" in refused(authenticator(server), token)
    assert server.hits == {"discovery": 0, "jwks": 0}


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(
    server: KeyServer, key: SigningKey
) -> None:
    forger = SigningKey(kid=key.kid)

    assert "signature" in refused(authenticator(server), forger.sign(claims_for(server)))


def test_a_token_whose_payload_was_changed_is_refused(server: KeyServer, key: SigningKey) -> None:
    header, _, signature = key.sign(claims_for(server, roles=["reader"])).split(".")
    payload = _b64(json.dumps(claims_for(server, roles=["admin"])).encode())

    assert "signature" in refused(authenticator(server), f"{header}.{payload}.{signature}")


def test_alg_none_and_hmac_over_the_public_key_are_refused_before_any_fetch(
    server: KeyServer, key: SigningKey
) -> None:
    auth = authenticator(server)
    claims = claims_for(server)
    public_jwk = json.dumps(key.public_jwk).encode()
    forged = [
        hand_made({"alg": "none", "kid": key.kid}, claims),
        hand_made({"alg": "None", "kid": key.kid}, claims),
        hand_made({"alg": "HS256", "kid": key.kid}, claims, hmac_key=key.public_pem),
        hand_made({"alg": "HS256", "kid": key.kid}, claims, hmac_key=public_jwk),
        hand_made({"kid": key.kid}, claims, hmac_key=key.public_pem),
    ]

    for token in forged:
        assert "algorithm" in refused(auth, token), token
    assert server.hits == {"discovery": 0, "jwks": 0}


def test_a_key_of_one_algorithm_does_not_verify_another(server: KeyServer) -> None:
    """An RSA key published for RS256 does not verify a PS256 token (no algorithm switching)."""
    rsa_key = SigningKey("RS256")
    server.publish(rsa_key)
    token = jwt.encode(claims_for(server), rsa_key.private, algorithm="PS256", headers={"kid": rsa_key.kid})

    assert "algorithm" in refused(authenticator(server), token)


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "..",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.",
        "e30.e30.e30",
        "bm90IGpzb24.bm90IGpzb24.AAAA",
        "W10.W10.AAAA",  # header and payload are JSON arrays
        "!!!!.????.====",
        ".".join(secrets.token_urlsafe(4000) for _ in range(3)),
    ],
)
def test_garbage_is_refused_in_one_line(server: KeyServer, key: SigningKey, token: str) -> None:
    refused(authenticator(server), token)
    assert server.hits == {"discovery": 0, "jwks": 0}


def test_a_token_without_a_kid_is_refused(server: KeyServer, key: SigningKey) -> None:
    token = jwt.encode(claims_for(server), key.private, algorithm="RS256")

    assert "kid" in refused(authenticator(server), token)


# -- refused: 403 -------------------------------------------------------------------------------


def test_a_valid_token_without_a_role_of_ours_is_forbidden_not_unauthenticated(
    server: KeyServer, key: SigningKey
) -> None:
    auth = authenticator(server, role_map=parse_role_map(("mistral-admin=admin",)))

    for roles in (["admin", "offline_access"], [], "admin", None, {"admin": True}):
        with pytest.raises(Forbidden) as caught:
            auth.authenticate(key.sign(claims_for(server, roles=roles)))
        assert caught.value.message == "ada has no role here: claim roles names none of mistral-admin"


def test_a_required_project_claim_that_is_missing_is_forbidden(server: KeyServer, key: SigningKey) -> None:
    auth = authenticator(server, project_claim="project")

    for project in (None, "", 42, ["p1"]):
        with pytest.raises(Forbidden, match="no project here"):
            auth.authenticate(key.sign(claims_for(server, project=project)))


# -- fetching the keys: bounded -----------------------------------------------------------------


def test_random_kids_do_not_make_it_fetch_on_every_token(server: KeyServer, key: SigningKey) -> None:
    auth = authenticator(server, cooldown=30)
    assert auth.authenticate(key.sign(claims_for(server))) is not None

    for _ in range(200):
        stranger = SigningKey("ES256")
        assert "does not have" in refused(auth, stranger.sign(claims_for(server)))

    # One fetch at the first token; one more for the first unknown kid at most (the first fetch
    # just happened, so the cooldown holds it back): never one per token.
    assert server.hits["jwks"] == 1
    assert server.hits["discovery"] == 1


def test_a_rotated_key_is_fetched_once_the_cooldown_allows(server: KeyServer, key: SigningKey) -> None:
    auth = authenticator(server, cooldown=1.0)
    new_key = SigningKey()
    token = new_key.sign(claims_for(server))
    assert auth.authenticate(key.sign(claims_for(server))) is not None
    server.publish(key, new_key)

    refused(auth, token)  # within the cooldown: the old key set
    time.sleep(1.05)
    assert auth.authenticate(token) is not None
    assert auth.authenticate(new_key.sign(claims_for(server, sub="bob"))) is not None
    assert server.hits["jwks"] == 2


def test_a_provider_that_is_down_is_asked_again_only_after_a_pause(
    server: KeyServer, key: SigningKey
) -> None:
    server.down = True
    auth = authenticator(server, retry=1.0)
    token = key.sign(claims_for(server))

    for _ in range(20):
        with pytest.raises(ServiceUnavailable):
            auth.authenticate(token)
    assert server.hits["discovery"] == 1

    server.down = False
    time.sleep(1.05)
    assert auth.authenticate(token) is not None


def test_the_keys_held_keep_working_while_the_provider_is_down(server: KeyServer, key: SigningKey) -> None:
    auth = authenticator(server, max_age=0.2, cooldown=0, retry=5)
    assert auth.authenticate(key.sign(claims_for(server))) is not None
    server.down = True
    time.sleep(0.25)  # the key set is now too old: the next token fetches it again, and that fails

    for sub in ("bob", "carl", "dora"):
        assert auth.authenticate(key.sign(claims_for(server, sub=sub))) is not None
    assert "does not have" in refused(auth, SigningKey().sign(claims_for(server)))
    assert server.hits["jwks"] == 2  # one failed fetch, then a pause


def test_a_discovery_document_of_another_issuer_is_not_used(server: KeyServer, key: SigningKey) -> None:
    server.discovery_issuer = "http://127.0.0.1:1/realms/evil"

    with pytest.raises(ServiceUnavailable):
        authenticator(server).authenticate(key.sign(claims_for(server)))
    assert server.hits["jwks"] == 0


def test_a_configured_jwks_url_skips_discovery(server: KeyServer, key: SigningKey) -> None:
    auth = authenticator(server, jwks_url=server.jwks_url)

    assert auth.authenticate(key.sign(claims_for(server))) is not None
    assert server.hits == {"discovery": 0, "jwks": 1}


# -- settings -----------------------------------------------------------------------------------


def _settings(**values: Any) -> Settings:
    base = {"auth": "oidc", "oidc_issuer": "https://id.example.org/realms/x", "oidc_audience": AUDIENCE}
    return Settings.load({**base, **values}, environ={})


def test_the_settings_make_the_configuration() -> None:
    config = OIDCConfig.from_settings(
        _settings(
            oidc_role_map="idp-admin=admin, idp-viewer=reader",
            oidc_roles_claim="realm_access.roles",
            oidc_project_claim="project",
            oidc_groups_claim="groups",
            oidc_leeway="10",
        )
    )

    assert config.role_map == {"idp-admin": Role.ADMIN, "idp-viewer": Role.READER}
    assert (config.roles_claim, config.project_claim, config.groups_claim) == (
        "realm_access.roles",
        "project",
        "groups",
    )
    assert config.leeway == 10.0
    assert OIDCConfig.from_settings(_settings()).role_map == {
        "admin": Role.ADMIN,
        "operator": Role.OPERATOR,
        "reader": Role.READER,
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"oidc_issuer": ""}, "setting oidc_issuer is required when auth includes oidc"),
        ({"oidc_audience": " "}, "setting oidc_audience is required when auth includes oidc"),
        ({"oidc_issuer": "file:///etc/passwd"}, "setting oidc_issuer must be an http(s) URL"),
        ({"oidc_jwks_url": "ftp://x/jwks"}, "setting oidc_jwks_url must be an http(s) URL"),
        ({"oidc_role_map": "admin"}, "is not idp-role=admin|operator|reader"),
        ({"oidc_role_map": "x=root"}, "unknown role 'root'"),
        ({"oidc_leeway": "-1"}, "oidc_leeway must be between 0 and 600"),
    ],
)
def test_bad_settings_are_refused_with_a_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("|", r"\|")):
        OIDCConfig.from_settings(_settings(**values))


def test_an_unknown_authenticator_name_is_refused() -> None:
    with pytest.raises(InputError, match="setting auth takes keys, oidc, not 'ldap'"):
        _settings(auth="oidc,ldap")


def test_claim_at_walks_dotted_paths() -> None:
    claims = {"a": {"b": {"c": 1}}, "x.y": 2, "l": [1]}

    assert claim_at(claims, "a.b.c") == 1
    assert claim_at(claims, "x.y") == 2
    assert claim_at(claims, "a.b.d") is None
    assert claim_at(claims, "l.0") is None
