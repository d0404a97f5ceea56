"""``POST /realms/{realm}/protocol/openid-connect/token``: an API key as an OAuth 2 password grant.

python-mistralclient's ``keycloak-oidc`` auth type (``mistral --os-auth-type keycloak-oidc
--os-auth-url URL --os-project-name P --os-client-id ID --os-username U --os-password PW``)
POSTs ``grant_type=password&username=U&password=PW`` here and sends the ``access_token`` of the
answer as ``X-Auth-Token`` on every call. Answering it for API keys (user name: the key's name;
password: its secret; the access token: that same secret) makes the unchanged ``mistral`` command
work against a server with ``auth = keys``. A deliberate addition to Mistral's API (docs/api.md).

The realm (``--os-project-name``) is not checked: a key's project is the key's, whatever the
client says. The client id is not checked either (there are no clients to register). The
password is never logged. Errors are Mistral's fault documents, like everywhere else: the client
reads only the status.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import falcon

from mistral_core.api.context import ApiContext
from mistral_core.api.media import read_body, write_json
from mistral_core.auth.keys import KeyAuthenticator
from mistral_core.errors import InputError, NotFoundError, Unauthenticated

#: The largest form accepted (a key's name and secret and a few words take a few hundred bytes).
MAX_FORM_BYTES = 8192
#: More fields than any token request has: a form of thousands of fields is refused at once.
MAX_FIELDS = 16


class KeyToken:
    """Exchanges a key's name and secret for an access token (the secret itself)."""

    def __init__(self, ctx: ApiContext) -> None:
        found = [a for a in ctx.authenticators if isinstance(a, KeyAuthenticator)]
        self._keys = found[0] if found else None

    def on_post(self, req: falcon.Request, resp: falcon.Response, realm: str) -> None:
        """``{"access_token": <secret>, "token_type": "Bearer"}`` for a key's name and secret.

        Raises:
            NotFoundError: the server does not take API keys (the ``auth`` setting).
            InputError: not a password grant, or a user name or password is missing.
            Unauthenticated: no key has that name and secret (or it was revoked).
        """
        if self._keys is None:
            raise NotFoundError("This server takes no API keys (setting auth), so it issues no tokens")
        form = _form(read_body(req, MAX_FORM_BYTES))
        if form.get("grant_type") != "password":
            raise InputError("Unsupported grant_type: only 'password' (a key's name and secret) is")
        username, password = form.get("username"), form.get("password")
        if not username or not password:
            raise InputError("A token request needs username (the key's name) and password (its secret)")
        identity = self._keys.authenticate(password)
        if identity is None or identity.name != username:
            raise Unauthenticated("Invalid key name or secret")
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("Pragma", "no-cache")
        write_json(resp, {"access_token": password, "token_type": "Bearer", "scope": "profile"})


def _form(body: bytes) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (the first value of each).

    Raises:
        InputError: not such a form (not UTF-8 text, or too many fields).
    """
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InputError(
            "A token request is a form (application/x-www-form-urlencoded) of a few fields"
        ) from None
    return {name: values[0] for name, values in fields.items()}
