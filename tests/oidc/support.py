"""A real OpenID Connect provider for the tests: node-oidc-provider, run by ``provider.mjs``.

``scripts/setup.sh --dev`` installs it (``npm ci`` in this directory). Without node or without
that install, the tests that need it are skipped, except on CI (``CI`` set), where that fails.

The provider is laid out like a Keycloak realm (``<port>/realms/<realm>``), so that
python-mistralclient's ``keycloak-oidc`` auth type works against it, and grants access tokens
(JWTs for :data:`AUDIENCE`) with the password grant, as the ``mistral`` CLI asks for them. Given
the UI's redirect URI, it also has the UI's clients (:data:`UI_CLIENT`, confidential, and
:data:`PUBLIC_UI_CLIENT`), which sign people in with the authorization code flow through its
login page.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.integration.support import (
    HOST,
    READY_TIMEOUT,
    Process,
    ProcessGroup,
    ServerProcess,
    free_port,
    request,
)

PROVIDER_DIR = Path(__file__).resolve().parent
SCRIPT = PROVIDER_DIR / "provider.mjs"
#: The ``aud`` of the provider's access tokens, and the ``oidc_audience`` of the servers.
AUDIENCE = "mistral-core"
REALM = "mistral"
PUBLIC_CLIENT = "mistral-cli"
CONFIDENTIAL_CLIENT, CLIENT_SECRET = "mistral-service", "service-secret"
PASSWORD = "correct horse battery staple"
#: The UI's clients at the provider (the authorization code flow): a confidential one, a public one.
UI_CLIENT, UI_SECRET = "mistral-ui", "ui-secret"
PUBLIC_UI_CLIENT = "mistral-ui-public"
#: The provider's name on the UI's sign-in page.
PROVIDER_NAME = "Test realm"


def user(username: str, *, claims: Mapping[str, Any], **more: Any) -> dict[str, Any]:
    """A user of the provider: its password is :data:`PASSWORD`; ``more``: ``alg``, ``ttl``,
    ``audience``, ``sub``."""
    return {"username": username, "password": PASSWORD, "claims": dict(claims), **more}


#: The users most tests need: one per role, in Keycloak's claim layout (``realm_access.roles``),
#: with a project and groups; and one with no role of ours.
USERS = (
    user("ada", claims={"realm_access": {"roles": ["mistral-admin"]}, "project": "p1", "groups": ["ops"]}),
    user("otto", claims={"realm_access": {"roles": ["mistral-operator"]}, "project": "p1"}, alg="ES256"),
    user("rita", claims={"realm_access": {"roles": ["mistral-reader", "offline"]}, "project": "p1"}),
    user("nobody", claims={"realm_access": {"roles": ["offline"]}, "project": "p1"}),
)

#: The settings of a server that accepts the tokens of :data:`USERS`.
ROLE_MAP = ("mistral-admin=admin", "mistral-operator=operator", "mistral-reader=reader")


def require_node() -> str:
    """The ``node`` command, with the provider installed; skip (fail on CI) otherwise."""
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "the test OIDC provider is not installed (scripts/setup.sh --dev runs npm ci in tests/oidc)"
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir()
        else ""
    )
    if missing:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"the OIDC tests need node-oidc-provider on CI: {missing}")
        pytest.skip(missing)
    assert node is not None
    return node


class OidcProvider(Process):
    """``node provider.mjs`` on a free port of 127.0.0.1.

    Args:
        directory: where its configuration and log go.
        users: its users (see :func:`user`).
        realm: the realm (the last part of its issuer URL).
        audience: the ``aud`` of its access tokens.
        redirect_uris: the UI's callback URLs (``<public_url>/ui/oidc/callback``): the UI's clients
            may send people back there; none: no UI client.
    """

    def __init__(
        self,
        directory: Path,
        users: Sequence[Mapping[str, Any]] = USERS,
        realm: str = REALM,
        audience: str = AUDIENCE,
        redirect_uris: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.realm = realm
        config = {
            "port": self.port,
            "realm": realm,
            "audience": audience,
            "clients": [
                {"client_id": PUBLIC_CLIENT},
                {"client_id": CONFIDENTIAL_CLIENT, "client_secret": CLIENT_SECRET},
                *(ui_clients(redirect_uris) if redirect_uris else ()),
            ],
            "users": list(users),
        }
        config_path = directory / f"oidc-{realm}-{self.port}.json"
        config_path.write_text(json.dumps(config))
        command = [require_node(), str(SCRIPT), str(config_path)]
        super().__init__(f"OIDC provider {realm}", command, directory / f"oidc-{realm}-{self.port}.log")

    @property
    def base_url(self) -> str:
        """What the ``mistral`` CLI's ``--os-auth-url`` is: the provider's root."""
        return f"http://{HOST}:{self.port}"

    @property
    def issuer(self) -> str:
        """The issuer of its tokens."""
        return f"{self.base_url}/realms/{self.realm}"

    def token(self, username: str, password: str = PASSWORD, client_id: str = PUBLIC_CLIENT) -> str:
        """An access token, asked for as the ``mistral`` CLI asks (the password grant)."""
        form = {
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": client_id,
            "scope": "profile",
        }
        if client_id == CONFIDENTIAL_CLIENT:
            form["client_secret"] = CLIENT_SECRET
        answer = request(
            "POST",
            f"{self.issuer}/protocol/openid-connect/token",
            data=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status == 200, f"token for {username}: {answer}"
        return str(answer.json()["access_token"])

    def jwks(self) -> dict[str, Any]:
        """The provider's public keys."""
        return dict(request("GET", f"{self.issuer}/protocol/openid-connect/certs").json())

    def stats(self) -> dict[str, int]:
        """How many times its JWKS, discovery document and token endpoint were asked for."""
        return dict(request("GET", f"{self.base_url}/test/stats").json())


def ui_clients(redirect_uris: Sequence[str]) -> list[dict[str, Any]]:
    """The UI's clients (node-oidc-provider's client metadata): the code flow, back to ``redirect_uris``."""
    flow = {
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "redirect_uris": list(redirect_uris),
    }
    return [
        {
            "client_id": UI_CLIENT,
            "client_secret": UI_SECRET,
            "token_endpoint_auth_method": "client_secret_basic",
            **flow,
        },
        {"client_id": PUBLIC_UI_CLIENT, "token_endpoint_auth_method": "none", **flow},
    ]


def ui_settings(public: bool = False) -> dict[str, Any]:
    """The settings of a server whose UI signs people in through the provider (as its confidential
    client, or its public one); on top of :func:`oidc_settings`."""
    return {
        "oidc_ui_client_id": PUBLIC_UI_CLIENT if public else UI_CLIENT,
        "oidc_ui_client_secret": None if public else UI_SECRET,
        "oidc_ui_scopes": ["openid", "profile"],
        "oidc_ui_provider_name": PROVIDER_NAME,
    }


def start_provider(group: ProcessGroup, **options: Any) -> OidcProvider:
    """Start a provider in ``group`` (stopped with it) and wait until it answers."""
    provider = OidcProvider(group.directory, **options)
    group.processes.append(provider)
    provider.wait_port(provider.port, timeout=3 * READY_TIMEOUT)  # node starts slowly on a busy machine
    return provider


def oidc_settings(provider: OidcProvider, **more: Any) -> str:
    """A ``mistral-core.toml`` that turns on ``auth = oidc`` for ``provider``'s tokens (a setting
    given None in ``more`` is left out)."""
    settings: dict[str, Any] = {
        "auth": ["oidc"],
        "oidc_issuer": provider.issuer,
        "oidc_audience": AUDIENCE,
        "oidc_roles_claim": "realm_access.roles",
        "oidc_role_map": list(ROLE_MAP),
        "oidc_project_claim": "project",
        "oidc_groups_claim": "groups",
        **more,
    }
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items() if value is not None)


def oidc_server(
    group: ProcessGroup,
    provider: OidcProvider,
    options: Sequence[str] = (),
    port: int | None = None,
    **more: Any,
) -> ServerProcess:
    """``mistral-core serve`` with ``auth = oidc`` for ``provider`` (settings ``more`` on top, more
    ``serve`` options in ``options``; on ``port``, default a free one), in ``group``'s directory (its
    working directory, where it reads ``mistral-core.toml``)."""
    (group.directory / "mistral-core.toml").write_text(oidc_settings(provider, **more))
    return group.server(options=options, port=port)


def bearer(token: str) -> dict[str, str]:
    """The header python-mistralclient sends a token in."""
    return {"X-Auth-Token": token}
